// The e2e scenarios, run in order against one code-server session (see scripts/e2e.mjs).
// A scenario that needs a job kind the worker does not register yet is reported "pending" with the
// reason — it is not faked; it starts passing once the job lands.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { activationTime, waitFor, webviewFrame } from './harness.mjs';
import { appendMetrics, importanceTensors, writeRun, writeSafetensorsF32 } from './workspace.mjs';

export class Pending extends Error {}

/** An Explorer tree row (rows carry the file name as aria-label). */
async function explorerRow(page, name) {
  return waitFor(async () => {
    const rows = page.locator(`[id="workbench.view.explorer"] .monaco-list-row[role="treeitem"][aria-label="${name}"]`);
    return (await rows.count()) > 0 ? rows.first() : undefined;
  }, `Explorer row "${name}"`);
}

async function contextMenuLabels(page, row) {
  await row.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.first().waitFor({ timeout: 10_000 });
  const labels = await page.locator('.context-view .monaco-menu .action-label').allInnerTexts();
  return labels.map((l) => l.trim()).filter(Boolean);
}

/** Opens the command palette (F1, when `command` is set) or uses the open quick pick; types, then clicks the row. */
async function runQuickPick(page, command, item) {
  if (command) await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(command ? `>${command}` : item);
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: item }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

async function openSidebar(page) {
  const item = page.locator('.activitybar .action-item a[aria-label^="Hybrid Compress"], .activitybar .action-item .action-label[aria-label^="Hybrid Compress"]').first();
  await item.waitFor({ timeout: 20_000 });
  const selected = await item.evaluate((a) => a.closest('.action-item')?.classList.contains('checked'));
  if (!selected) await item.click();
}

async function heatCells(page) {
  const f = await webviewFrame(page, 'importance');
  return f.evaluate(() => document.querySelectorAll('svg.heatmap rect.heat-cell').length);
}

export function scenarios(ctx) {
  const { page, ws, model, config, shots, kinds } = ctx;
  const mambaLayers = [...config.hybrid_override_pattern].filter((k) => k === 'M').length;
  const expectedCells = mambaLayers * config.mamba_num_heads;

  return [
    {
      name: 'Explorer right-click "Compress Model…" on a checkpoint opens the Compress panel',
      async run() {
        await (await explorerRow(page, 'models')).click();
        const tiny = await explorerRow(page, 'tiny');
        // The item appears once activation has published the checkpoint folders: retry the menu.
        const labels = await waitFor(async () => {
          const l = await contextMenuLabels(page, tiny);
          if (l.includes('Compress Model…')) return l;
          await page.keyboard.press('Escape');
          return undefined;
        }, '"Compress Model…" in the context menu of models/tiny', 40_000, 1000);
        if (!labels.includes('Compress Model…')) throw new Error(`menu: ${labels.join(', ')}`);
        await page.locator('.context-view .monaco-menu .action-label', { hasText: 'Compress Model…' }).click();
        const f = await webviewFrame(page, 'compress');
        await f.waitForSelector('h1:text-is("tiny")', { timeout: 20_000 });
        await f.waitForSelector('#estimate[data-params]');
        const before = Number(await f.getAttribute('#estimate', 'data-params'));
        // Move the Mamba heads slider to its smallest legal value (n_groups) and see the estimate drop.
        await f.evaluate(() => {
          const r = document.querySelector('#axis-mambaNumHeads');
          r.value = r.min;
          r.dispatchEvent(new Event('input', { bubbles: true }));
        });
        await waitFor(async () => Number(await f.getAttribute('#estimate', 'data-params')) < before, 'the parameter estimate to drop');
        const step = await f.getAttribute('#axis-mambaNumHeads', 'step');
        if (Number(step) !== config.n_groups) throw new Error(`Mamba heads slider step ${step}, expected n_groups=${config.n_groups}`);
        await page.screenshot({ path: join(shots, 'compress-panel.png') });
        // Negative check: no item on a folder that is not a checkpoint.
        await page.keyboard.press('Escape');
        const dataLabels = await contextMenuLabels(page, await explorerRow(page, 'data'));
        await page.keyboard.press('Escape');
        if (dataLabels.includes('Compress Model…')) throw new Error('"Compress Model…" also offered on data/, which is not a checkpoint');
        return `estimate ${before} → ${await f.getAttribute('#estimate', 'data-params')} params`;
      },
    },
    {
      name: 'Importance view draws the Mamba heatmap from a calibration run folder (documented importance@1 format)',
      async run() {
        const dir = writeRun(ws, '20200101T000000Z-calibrate', 'calibrate', 'done', { model, data: join(ws, 'data', 'calib.jsonl') });
        writeSafetensorsF32(join(dir, 'importance.safetensors'), importanceTensors(config), { format: 'hybrid-compress/importance@1', fingerprint: 'e2e' });
        await openSidebar(page);
        const n = await waitFor(async () => {
          const c = await heatCells(page);
          return c === expectedCells ? c : undefined;
        }, `${expectedCells} heatmap cells`, 30_000, 500);
        const f = await webviewFrame(page, 'importance');
        const cut = await f.evaluate(() => document.querySelectorAll('rect.heat-cell.cut').length);
        const label = await f.evaluate(() => document.querySelector('rect.heat-cell')?.getAttribute('aria-label') ?? '');
        if (!/score/.test(label)) throw new Error(`heat cell has no accessible value: "${label}"`);
        // The Compress panel set Mamba heads to n_groups: all but one head per group is cut in every layer.
        const expectedCut = mambaLayers * (config.mamba_num_heads - config.n_groups);
        if (cut !== expectedCut) throw new Error(`${cut} cells drawn as cut, expected ${expectedCut}`);
        await page.screenshot({ path: join(shots, 'importance-view.png') });
        // A roomier picture for the docs: widen the sidebar and give the Importance view its full height.
        const bar = await page.locator('.part.sidebar').boundingBox();
        if (bar) {
          await page.mouse.move(bar.x + bar.width + 1, bar.y + 300);
          await page.mouse.down();
          await page.mouse.move(bar.x + bar.width + 360, bar.y + 300, { steps: 8 });
          await page.mouse.up();
        }
        const toggle = (title) => page.locator('.part.sidebar .pane-header', { hasText: title }).first().click();
        await toggle('Checkpoints');
        await toggle('Runs');
        await page.waitForTimeout(1500);
        await page.locator('.part.sidebar').screenshot({ path: join(shots, 'importance-sidebar.png') });
        await toggle('Checkpoints');
        await toggle('Runs');
        return `${n} cells, ${cut} cut`;
      },
    },
    {
      name: 'A calibration task from the Compress panel produces scores the Importance view shows',
      async run() {
        if (!kinds.includes('calibrate')) throw new Pending(`the worker registers no "calibrate" job yet (it runs: ${kinds.join(', ') || 'nothing'})`);
        const f = await webviewFrame(page, 'compress');
        // Small settings for the 1k-token fixture data: the text fields are toolkit elements (input in a shadow root).
        await f.locator('vscode-text-field:has-text("Samples") input').fill('8');
        await f.locator('vscode-text-field:has-text("Sequence length") input').fill('32');
        await page.waitForTimeout(300);
        await f.click('#action-calibrate');
        const run = await waitFor(() => {
          const root = join(ws, '.hybrid-compress', 'runs');
          const dirs = existsSync(root) ? readdirSync(root).filter((d) => d.endsWith('-calibrate') && !d.startsWith('2020')) : [];
          for (const d of dirs) {
            const rec = JSON.parse(readFileSync(join(root, d, 'run.json'), 'utf8'));
            if (rec.status === 'failed') throw new Error(`calibrate failed: ${rec.error?.message}`);
            if (rec.status === 'done' && existsSync(join(root, d, 'importance.safetensors'))) return d;
          }
          return undefined;
        }, 'a finished calibrate run', 180_000, 1000);
        await openSidebar(page);
        await waitFor(async () => {
          const fr = await webviewFrame(page, 'importance');
          const head = await fr.evaluate(() => document.querySelector('header')?.textContent ?? '');
          return head.includes(run) && (await heatCells(page)) === expectedCells;
        }, `the Importance view to show run ${run}`, 30_000, 500);
        return run;
      },
    },
    {
      name: 'A growing metrics.jsonl draws a curve whose point count grows (live tail)',
      async run() {
        const dir = writeRun(ws, '20200101T000100Z-distill', 'distill', 'running', { student: model, teacher: model });
        let step = 0;
        const next = (n) => Array.from({ length: n }, () => ((step += 1), { step, loss: 3 / Math.sqrt(step), kd_loss: 2.5 / Math.sqrt(step), lr: 1e-4 * Math.min(1, step / 10) }));
        appendMetrics(dir, next(5));
        await openSidebar(page);
        const row = await waitFor(async () => {
          const r = page.locator('.pane-body .monaco-list-row', { hasText: 'distill · tiny' });
          return (await r.count()) > 0 ? r.first() : undefined;
        }, 'the run in the Runs tree', 20_000);
        // The tree may re-render under the pointer while it refreshes: click again until the panel is there.
        const f = await waitFor(async () => {
          await row.click();
          return webviewFrame(page, 'curves', 8_000).catch(() => undefined);
        }, 'the curves panel of the run', 40_000, 500);
        const count = async () => Number((await f.getAttribute('#point-count', 'data-points')) ?? 0);
        await waitFor(async () => (await count()) >= 5, 'the first 5 points');
        const seen = [await count()];
        for (let i = 0; i < 6; i++) {
          appendMetrics(dir, next(3));
          await page.waitForTimeout(700);
          seen.push(await count());
        }
        await waitFor(async () => (await count()) === step, `all ${step} points`, 10_000);
        const pathCount = await f.evaluate(() => Number(document.querySelector('path.series-line[data-series="loss"]')?.getAttribute('data-count') ?? 0));
        if (pathCount !== step) throw new Error(`loss path has ${pathCount} points, expected ${step}`);
        const increases = seen.filter((v, i) => i > 0 && v > seen[i - 1]).length;
        if (increases < 3) throw new Error(`point count grew only ${increases} times: ${seen.join(' → ')}`);
        await page.screenshot({ path: join(shots, 'curves.png') });
        return `points ${seen.join(' → ')}`;
      },
    },
    {
      name: 'A distill task of a few steps draws a live curve whose point count grows',
      async run() {
        // `distill` runs the worker's "train" job with a teacher (as the CLI does).
        if (!kinds.includes('train')) throw new Pending(`the worker registers no "train" job yet (it runs: ${kinds.join(', ') || 'nothing'})`);
        await runQuickPick(page, 'Tasks: Run Task', 'Tasks: Run Task');
        await runQuickPick(page, null, 'e2e distill');
        // The task opens the run's curve panel as it starts; sample its point count while the job runs.
        const f = await webviewFrame(page, 'curves', 120_000, (h1) => h1.startsWith('distill'));
        const counts = [];
        await waitFor(async () => {
          counts.push(Number((await f.getAttribute('#point-count', 'data-points')) ?? 0));
          const status = await f.evaluate(() => document.querySelector('#curve-status')?.textContent ?? '');
          if (status === 'failed') throw new Error('the distill run failed');
          return status === 'done' && counts[counts.length - 1] === 80;
        }, 'the distill run to finish with 80 points', 240_000, 200);
        const distinct = [...new Set(counts)];
        if (distinct.length < 3) throw new Error(`the point count did not grow while the job ran: ${distinct.join(' → ')}`);
        await page.screenshot({ path: join(shots, 'distill-curves.png') });
        counts.splice(0, counts.length, ...distinct);
        return `points ${counts.join(' → ')}`;
      },
    },
    {
      name: 'The Compress panel is restored after a window reload',
      async run() {
        await page.reload();
        await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
        // The restored panel reloads its page and asks the host for its state again.
        await webviewFrame(page, 'compress', 90_000, (h1) => h1 === 'tiny');
        await page.screenshot({ path: join(shots, 'after-reload.png') });
        const t = activationTime(ctx.userDataDir);
        return t.length ? `activation ${t.map((x) => `${x} ms`).join(', ')}` : 'restored';
      },
    },
  ];
}
