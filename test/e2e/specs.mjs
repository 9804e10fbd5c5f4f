// The e2e scenarios, run in order against one code-server session (see scripts/e2e.mjs).
// A scenario that needs a job kind the worker does not register yet is reported "pending" with the
// reason — it is not faked; it starts passing once the job lands.

import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { activationTime, waitFor, webviewFrame } from './harness.mjs';
import { explorerRow, contextMenuLabels, runQuickPick, openSidebar, expandFolder, menuPick, explorerMenu, closeTab, watchGrowth, answer, importanceSidebarShot } from './ui.mjs';
import { megatronLog, tbEventFile } from './log-writers.mjs';
import { appendMetrics, importanceTensors, writeRun, writeSafetensorsF32 } from './workspace.mjs';

export class Pending extends Error {}

function runsOfKind(ws, kind) {
  const root = join(ws, '.hybrid-compress', 'runs');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => d.endsWith(`-${kind}`) && existsSync(join(root, d, 'run.json')))
    .map((d) => ({ dir: join(root, d), rec: JSON.parse(readFileSync(join(root, d, 'run.json'), 'utf8')) }));
}

async function heatCells(page) {
  const f = await webviewFrame(page, 'importance');
  return f.evaluate(() => document.querySelectorAll('svg.heatmap rect.heat-cell').length);
}

export function scenarios(ctx) {
  const { page, ws, model, config, shots, kinds, writers } = ctx;
  const mambaLayers = [...config.hybrid_override_pattern].filter((k) => k === 'M').length;
  const expectedCells = mambaLayers * config.mamba_num_heads;

  return [
    {
      name: 'Explorer right-click "Compress Model…" on a checkpoint opens the Compress panel',
      async run() {
        await (await explorerRow(page, 'models')).click();
        const tiny = await explorerRow(page, 'tiny');
        // The item appears once activation has published the checkpoint folders: retry the menu.
        const labels = await menuPick(page, tiny, 'Compress Model…', 'models/tiny', 40_000);
        if (!labels.includes('Compress Model…')) throw new Error(`menu: ${labels.join(', ')}`);
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
        // The slider runs over exactly the legal values: multiples of n_groups from n_groups up.
        const values = (await f.getAttribute('#axis-mambaNumHeads', 'data-values')).split(',').map(Number);
        if (values[0] !== config.n_groups || values.some((v) => v % config.n_groups !== 0)) throw new Error(`Mamba heads slider offers ${values.join(', ')}, expected multiples of n_groups=${config.n_groups}`);
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
      name: 'A checkpoint that cannot be read shows the reason in the Compress panel and the Checkpoints tree, never an endless "Loading…"',
      async run() {
        await page.keyboard.press('Escape');
        await expandFolder(page, 'models');
        await explorerMenu(page, 'broken', 'Compress Model…');
        const f = await webviewFrame(page, 'compress', 30_000, (h1) => h1 === 'broken');
        const text = await f.waitForSelector('#unreadable', { timeout: 20_000 }).then((e) => e.textContent());
        if (!/model\.safetensors/.test(text) || !/header/i.test(text)) throw new Error(`unreadable state says "${text}", expected the file and what is wrong with its header`);
        if (await f.$('#retry') === null) throw new Error('no Retry button');
        if (await f.evaluate(() => document.body.innerText.includes('Loading…'))) throw new Error('the panel still says Loading…');
        await closeTab(page, 'Compress: broken');
        // The Checkpoints tree marks the folder and opens on the same reason.
        await openSidebar(page);
        const rows = () => page.locator('.part.sidebar .monaco-list-row');
        const marked = await waitFor(async () => {
          for (const r of await rows().all()) {
            const t = (await r.innerText()).replace(/\s+/g, ' ').trim();
            if (/broken/.test(t) && /cannot be read/.test(t)) return t;
          }
          return undefined;
        }, 'the unreadable checkpoint marked "cannot be read" in the Checkpoints tree', 20_000, 500);
        await waitFor(async () => (await rows().filter({ hasText: /model\.safetensors.*header|header.*model\.safetensors/i }).count()) > 0, "the tree's error row with the reason", 10_000, 500);
        await page.locator('.part.sidebar').screenshot({ path: join(shots, 'unreadable-tree.png') });
        return `${text.slice(0, 100)}; tree: ${marked}`;
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
        await importanceSidebarShot(page, join(shots, 'importance-sidebar.png'));
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
        // The task opens the run's curve panel as it starts; sample its point count while the job runs (300 steps:
        // long enough that the panel, which takes a few seconds to appear, sees the run grow).
        const f = await webviewFrame(page, 'curves', 120_000, (h1) => h1.startsWith('distill'));
        const counts = [];
        await waitFor(async () => {
          counts.push(Number((await f.getAttribute('#point-count', 'data-points')) ?? 0));
          const status = await f.evaluate(() => document.querySelector('#curve-status')?.textContent ?? '');
          if (status === 'failed') throw new Error('the distill run failed');
          return status === 'done' && counts[counts.length - 1] === 300;
        }, 'the distill run to finish with 300 points', 240_000, 200);
        const distinct = [...new Set(counts)];
        if (distinct.length < 3) throw new Error(`the point count did not grow while the job ran: ${distinct.join(' → ')}`);
        await page.screenshot({ path: join(shots, 'distill-curves.png') });
        counts.splice(0, counts.length, ...distinct);
        return `points ${counts.join(' → ')}`;
      },
    },
    {
      name: '"Open Training Curves…" on a folder with a growing Megatron-LM log draws a curve whose point count grows',
      async run() {
        const dir = join(ws, 'megatron-run');
        mkdirSync(dir, { recursive: true });
        const log = megatronLog(writers, join(dir, 'train.log'));
        log.append(4);
        await explorerMenu(page, 'megatron-run', 'Open Training Curves…');
        const f = await webviewFrame(page, 'curves', 30_000, (h1) => h1 === 'megatron-run');
        await waitFor(async () => Number(await f.getAttribute('#point-count', 'data-points')) === 4, 'the first 4 points');
        const seen = await watchGrowth(page, f, () => log.append(3), 5, () => log.iteration);
        // Megatron's "total loss" is the curve's loss; its KD loss is a series too.
        const series = await f.evaluate(() => [...document.querySelectorAll('path.series-line')].map((p) => p.getAttribute('data-series')));
        for (const k of ['loss', 'kd_loss']) if (!series.includes(k)) throw new Error(`no "${k}" line (lines: ${series.join(', ')})`);
        await page.screenshot({ path: join(shots, 'megatron-curves.png') });
        await closeTab(page, 'Curves: megatron-run');
        return `points ${seen.join(' → ')}`;
      },
    },
    {
      name: 'A TensorBoard event file written record by record (some split mid-record) draws a growing curve',
      async run() {
        const dir = join(ws, 'tb-run');
        const ev = tbEventFile(writers, dir);
        ev.append(3);
        await expandFolder(page, 'tb-run');
        await explorerMenu(page, basename(ev.file), 'Open Training Curves…');
        const f = await webviewFrame(page, 'curves', 30_000, (h1) => h1 === basename(ev.file));
        await waitFor(async () => Number(await f.getAttribute('#point-count', 'data-points')) === 3, 'the first 3 points');
        // Every other append leaves half a record behind, which the next one completes.
        const seen = await watchGrowth(page, f, (i) => ev.append(2, { split: i % 2 === 0 && i < 5 }), 6, () => ev.step);
        const series = await f.evaluate(() => [...document.querySelectorAll('path.series-line')].map((p) => p.getAttribute('data-series')));
        for (const k of ['train/loss', 'train/lr']) if (!series.includes(k)) throw new Error(`no "${k}" line (lines: ${series.join(', ')})`);
        await page.screenshot({ path: join(shots, 'tensorboard-curves.png') });
        await closeTab(page, `Curves: ${basename(ev.file)}`);
        return `points ${seen.join(' → ')}`;
      },
    },
    {
      name: 'A prune task from tasks.json appears in the Runs tree as a finished "prune" run with its parameters',
      async run() {
        if (!kinds.includes('prune')) throw new Pending(`the worker registers no "prune" job yet (it runs: ${kinds.join(', ') || 'nothing'})`);
        await runQuickPick(page, 'Tasks: Run Task', 'Tasks: Run Task');
        await runQuickPick(page, null, 'e2e prune');
        const run = await waitFor(() => {
          const r = runsOfKind(ws, 'prune')[0];
          if (r?.rec.status === 'failed') throw new Error(`prune failed: ${r.rec.error?.message}`);
          return r?.rec.status === 'done' ? r : undefined;
        }, 'a finished prune run folder', 120_000, 500);
        if (run.rec.result?.output_dir !== join(ws, 'models', 'tiny-pruned')) throw new Error(`output_dir ${run.rec.result?.output_dir}`);
        if (!(run.rec.result.params_after < run.rec.result.params_before)) throw new Error(`params ${run.rec.result.params_before} → ${run.rec.result.params_after}`);
        await openSidebar(page);
        const text = await waitFor(async () => {
          const rows = page.locator('.pane-body .monaco-list-row', { hasText: 'prune · tiny' });
          if ((await rows.count()) === 0) return undefined;
          const t = await rows.first().innerText();
          return /done/.test(t) && /params \(\d+\.\d%\)/.test(t) ? t : undefined;
        }, 'the prune run in the Runs tree with status and parameters', 20_000, 500);
        await page.locator('.part.sidebar').screenshot({ path: join(shots, 'runs-tree.png') });
        return text.replace(/\s+/g, ' ').trim();
      },
    },
    {
      name: '"Distill on cluster…" writes a Megatron-Bridge recipe run, opens its README, and "Follow Cluster Run…" follows its log',
      async run() {
        if (!existsSync(join(ws, 'models', 'tiny-pruned', 'config.json'))) throw new Error('needs the pruned student of the prune scenario');
        await expandFolder(page, 'models');
        await explorerMenu(page, 'tiny', 'Compress Model…');
        const f = await webviewFrame(page, 'compress', 30_000, (h1) => h1 === 'tiny');
        await f.click('#action-distill-external');
        await answer(page, 'tiny-pruned', 'tiny-pruned'); // student
        await answer(page, 'Mock', 'Mock data'); // data
        await answer(page, '1x1'); // nodes × GPUs (TP and PP have one legal value each: not asked)
        await answer(page, '120'); // steps
        const run = await waitFor(() => {
          const r = runsOfKind(ws, 'distill-external')[0];
          if (r?.rec.status === 'failed') throw new Error(`recipe failed: ${r.rec.error?.message}`);
          return r?.rec.status === 'done' ? r : undefined;
        }, 'the distill-external run folder', 30_000, 500);
        for (const file of ['README.md', 'distill_torchrun.sh', 'distill_slurm.sbatch', 'recipe.json']) if (!existsSync(join(run.dir, file))) throw new Error(`${file} missing in ${run.dir}`);
        if (run.rec.inputs.student !== join(ws, 'models', 'tiny-pruned') || run.rec.settings.steps !== 120) throw new Error(`run.json: ${JSON.stringify(run.rec.inputs)} ${run.rec.settings.steps}`);
        await waitFor(async () => (await page.locator('.tabs-container .tab', { hasText: 'README.md' }).count()) > 0, 'the recipe README in an editor tab', 15_000);
        await waitFor(async () => (await page.locator('.notification-toast', { hasText: 'Nothing has been run' }).count()) > 0, 'the "nothing has been run" notification', 15_000);
        await page.screenshot({ path: join(shots, 'cluster-recipe.png') });
        // Follow the run: the curve view tails the Megatron log the cluster would write into the output folder.
        await runQuickPick(page, 'Hybrid Compress: Follow Cluster Run', 'Follow Cluster Run');
        await answer(page, 'tiny-pruned', 'tiny-pruned');
        const c = await webviewFrame(page, 'curves', 30_000, (h1) => h1 === basename(run.rec.result.output_dir));
        const log = megatronLog(writers, join(run.rec.result.output_dir, 'logs', 'distill_node0.log'), 120);
        const seen = await watchGrowth(page, c, () => log.append(4), 5, () => log.iteration);
        const status = await c.evaluate(() => document.querySelector('#curve-status')?.textContent ?? '');
        if (status === 'done') throw new Error('a cluster run is shown as "done" because its recipe was written');
        await page.screenshot({ path: join(shots, 'cluster-curves.png') });
        await closeTab(page, `Curves: ${basename(run.rec.result.output_dir)}`);
        await closeTab(page, 'README.md');
        // Leave the Compress panel in front, as the reload scenario expects.
        await explorerMenu(page, 'tiny', 'Compress Model…');
        await webviewFrame(page, 'compress', 30_000, (h1) => h1 === 'tiny');
        return `${basename(run.dir)}; points ${seen.join(' → ')}`;
      },
    },
    {
      name: 'The Compress panel is restored after a window reload',
      async run() {
        // One panel to restore, in front.
        await runQuickPick(page, 'View: Close All Editors', 'Close All Editors');
        await explorerMenu(page, 'tiny', 'Compress Model…');
        await webviewFrame(page, 'compress', 30_000, (h1) => h1 === 'tiny');
        // "Reload Window" shuts the workbench down properly (its state is stored first); a bare page
        // reload can restore an older stored layout, because the web workbench flushes its storage lazily.
        const loaded = page.waitForEvent('load', { timeout: 60_000 });
        await runQuickPick(page, 'Developer: Reload Window', 'Reload Window');
        await loaded;
        await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
        // The workbench restores the panel's tab; VS Code deserializes a webview only once it is shown, so
        // bring the tab to the front (a no-op when it already is), then the restored panel reloads its page
        // and asks the host for its state again.
        const tab = page.locator('.tabs-container .tab', { hasText: 'Compress: tiny' }).first();
        await tab.waitFor({ timeout: 90_000 });
        await tab.click();
        await webviewFrame(page, 'compress', 90_000, (h1) => h1 === 'tiny');
        await page.screenshot({ path: join(shots, 'after-reload.png') });
        const t = activationTime(ctx.userDataDir);
        return t.length ? `activation ${t.map((x) => `${x} ms`).join(', ')}` : 'restored';
      },
    },
  ];
}
