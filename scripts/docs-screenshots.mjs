#!/usr/bin/env node
// The README's screenshots, from a real run on the bundled teacher (examples/teacher): the CLI calibrates it
// and prunes it to about half its parameters in a fresh workspace, then the extension (code-server 4.100,
// headless chromium, as in the e2e tier) shows the Compress panel on the teacher, the Importance view of
// that calibration, and a distillation of the pruned student from the teacher run as a VS Code task with
// its live curves. Writes docs/images/{compress-panel,importance-view,live-curves,distill-task}.png.
//
// Usage: npm run docs:screenshots [-- --no-package] [-- --keep]   (needs `bash scripts/e2e-setup.sh` first)

import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openWorkbench, waitFor, webviewFrame } from '../test/e2e/harness.mjs';
import { explorerMenu, expandFolder, importanceSidebarShot, openSidebar, runQuickPick } from '../test/e2e/ui.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const e2eHome = process.env.HC_E2E_HOME ?? join(homedir(), '.cache', 'hybrid-compress-e2e');
const chromiumPath = process.env.HC_CHROMIUM ?? '/usr/bin/chromium';
const vsix = join(repo, 'hybrid-compress-linux-x64.vsix');
const images = join(repo, 'docs', 'images');
const STEPS = 300;

if (!existsSync(join(e2eHome, 'node_modules', 'code-server'))) {
  console.error(`docs-screenshots: code-server not found in ${e2eHome}; run \`bash scripts/e2e-setup.sh\` first`);
  process.exit(1);
}
const { chromium } = createRequire(join(e2eHome, 'package.json'))('playwright-core');
if (!args.has('--no-package') || !existsSync(vsix)) execFileSync('npm', ['run', 'package'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });

const root = mkdtempSync(join(tmpdir(), 'hc-docs-'));
const ws = join(root, 'workspace');
const cli = (...a) => {
  console.log(`docs-screenshots: hybrid-compress ${a.join(' ')}`);
  return execFileSync(process.execPath, [join(repo, 'dist', 'cli.js'), ...a], { cwd: ws, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
};

mkdirSync(join(ws, 'models'), { recursive: true });
cpSync(join(repo, 'examples', 'teacher'), join(ws, 'models', 'teacher'), { recursive: true });
mkdirSync(join(ws, 'data'), { recursive: true });
for (const f of ['train.txt', 'val.txt']) copyFileSync(join(repo, 'examples', 'data', f), join(ws, 'data', f));

// The same recipe as `npm run demo`: 64 calibration rows of 256 tokens, then hidden ×0.75, FFN and Mamba heads ×0.5.
cli('calibrate', 'models/teacher', '--data', 'data/train.txt', '--samples', '64', '--seq-len', '256', '--batch', '8', '--device', 'cpu');
const runs = join(ws, '.hybrid-compress', 'runs');
const calibration = join(runs, readdirSync(runs).find((d) => d.endsWith('-calibrate')));
const teacherConfig = JSON.parse(readFileSync(join(ws, 'models', 'teacher', 'config.json'), 'utf8').replace(/\{\s*"__float__"\s*:\s*"[^"]*"\s*\}/g, 'null'));
const targets = ['--hidden-size', String(teacherConfig.hidden_size * 0.75), '--ffn-hidden-size', String(teacherConfig.intermediate_size / 2), '--mamba-num-heads', String(teacherConfig.mamba_num_heads / 2)];
cli('prune', 'models/teacher', '--importance', calibration, ...targets, '--out', 'models/teacher-pruned', '--data', 'data/val.txt', '--device', 'cpu');

mkdirSync(join(ws, '.vscode'), { recursive: true });
const task = {
  label: 'distill teacher-pruned',
  type: 'hybrid-compress',
  action: 'distill',
  teacher: 'models/teacher',
  student: 'models/teacher-pruned',
  data: 'data/train.txt',
  evalData: 'data/val.txt',
  steps: STEPS,
  batch: 4,
  seqLen: 128,
  lr: 0.002,
  minLr: 0.0002,
  warmupSteps: 30,
  evalEvery: 50,
  evalSamples: 32,
  device: 'cpu',
  problemMatcher: [],
};
writeFileSync(join(ws, '.vscode', 'tasks.json'), JSON.stringify({ version: '2.0.0', tasks: [task] }, null, 2));

const session = await openWorkbench({ e2eHome, chromium, chromiumPath, root, workspace: ws, vsix, logFile: join(root, 'code-server.log') });
const { page } = session;
const shots = join(root, 'shots');
mkdirSync(shots, { recursive: true });
try {
  // Compress panel on the teacher, with the calibration's importance available.
  await expandFolder(page, 'models');
  await explorerMenu(page, 'teacher', 'Compress Model…');
  const panel = await webviewFrame(page, 'compress', 60_000, (h1) => h1 === 'teacher');
  await panel.waitForSelector('#estimate[data-params]', { timeout: 30_000 });
  // The panel shows the same targets the CLI pruned to (each slider runs over its legal values).
  const sliders = { hiddenSize: teacherConfig.hidden_size * 0.75, ffnHiddenSize: teacherConfig.intermediate_size / 2, mambaNumHeads: teacherConfig.mamba_num_heads / 2 };
  for (const [key, value] of Object.entries(sliders)) {
    const set = await panel.evaluate(([k, v]) => {
      const r = document.querySelector(`#axis-${k}`);
      const i = (r?.dataset.values ?? '').split(',').map(Number).indexOf(v);
      if (!r || i < 0) return false;
      r.value = String(i);
      r.dispatchEvent(new Event('input', { bubbles: true }));
      return true;
    }, [key, value]);
    if (!set) throw new Error(`the Compress panel has no legal value ${value} on its ${key} slider`);
  }
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(shots, 'compress-panel.png') });

  // The Importance view of the calibration run, in a widened sidebar.
  await openSidebar(page);
  await waitFor(async () => {
    const f = await webviewFrame(page, 'importance', 5_000);
    return f.evaluate(() => document.querySelectorAll('svg.heatmap rect.heat-cell').length > 0);
  }, 'the Importance view to draw the calibration', 60_000, 500);
  await importanceSidebarShot(page, join(shots, 'importance-view.png'));

  // The distillation task: live curves while it runs, the finished run with its terminal afterwards.
  await runQuickPick(page, 'Tasks: Run Task', 'Tasks: Run Task');
  await runQuickPick(page, null, task.label);
  const curves = await webviewFrame(page, 'curves', 120_000, (h1) => h1.startsWith('distill'));
  const points = async () => Number((await curves.getAttribute('#point-count', 'data-points')) ?? 0);
  await waitFor(async () => (await points()) >= STEPS / 2, `${STEPS / 2} points of the distillation`, 600_000, 1000);
  await page.screenshot({ path: join(shots, 'live-curves.png') });
  await waitFor(async () => {
    const status = await curves.evaluate(() => document.querySelector('#curve-status')?.textContent ?? '');
    if (status === 'failed') throw new Error('the distillation failed');
    return status === 'done';
  }, 'the distillation to finish', 900_000, 1000);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: join(shots, 'distill-task.png') });
} finally {
  await session.close();
}
mkdirSync(images, { recursive: true });
for (const f of readdirSync(shots)) copyFileSync(join(shots, f), join(images, f));
console.log(`docs-screenshots: wrote ${readdirSync(shots).map((f) => join('docs', 'images', f)).join(', ')}`);
if (!args.has('--keep')) rmSync(root, { recursive: true, force: true });
else console.log(`docs-screenshots: kept ${root}`);
