// code-server + Playwright plumbing for the e2e tier: start/stop code-server on a free loopback port
// with an isolated user-data and extensions folder, install the VSIX, and helpers to reach the
// extension's webviews (nested iframes: iframe.webview → #active-frame) and workbench parts.

import { spawn, execFileSync, fork } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, writeFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const EXTENSION_ID = 'hybrid-compress.hybrid-compress';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function codeServerEntry(e2eHome) {
  return join(e2eHome, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

function baseArgs(dirs) {
  return ['--disable-telemetry', '--disable-update-check', '--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData];
}

function env(dirs) {
  // code-server writes its config.yaml under XDG_CONFIG_HOME: keep it in the temp folder.
  return { ...process.env, XDG_CONFIG_HOME: dirs.config, XDG_DATA_HOME: dirs.data };
}

export function prepareDirs(root, settings) {
  const dirs = { userData: join(root, 'user-data'), extensions: join(root, 'extensions'), config: join(root, 'xdg-config'), data: join(root, 'xdg-data') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  return dirs;
}

export function installExtension(e2eHome, dirs, vsix) {
  execFileSync(process.execPath, [codeServerEntry(e2eHome), ...baseArgs(dirs), '--install-extension', vsix], { env: env(dirs), stdio: 'pipe' });
}

export async function startCodeServer(e2eHome, dirs, workspace, port, logFile) {
  const args = [codeServerEntry(e2eHome), '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-workspace-trust', '--disable-getting-started-override', ...baseArgs(dirs), workspace];
  const child = spawn(process.execPath, args, { env: env(dirs), stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const chunks = [];
  child.stdout.on('data', (b) => chunks.push(b));
  child.stderr.on('data', (b) => chunks.push(b));
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }).then(() => writeFileSync(logFile, Buffer.concat(chunks)));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}: ${Buffer.concat(chunks).toString().slice(-2000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return { url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, stop };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error('code-server did not answer within 60 s');
}

/** The job kinds the built worker registers (it announces them on start). */
export function workerKinds(workerJs) {
  return new Promise((resolve) => {
    const child = fork(workerJs, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
    const done = (kinds) => {
      child.kill();
      resolve(kinds);
    };
    child.on('message', (m) => m && m.type === 'ready' && done(m.kinds));
    child.on('exit', () => resolve([]));
    setTimeout(() => done([]), 20_000).unref();
  });
}

/** The frame of one of our webviews (body[data-view=…]; optionally the one whose <h1> passes `title`), polling until it exists. */
export async function webviewFrame(page, view, timeoutMs = 30_000, title = undefined) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      if (f.name() !== 'active-frame' && !f.url().includes('index.html') && !f.url().includes('fake.html')) continue;
      try {
        const [v, h1] = await f.evaluate(() => [document.body && document.body.dataset && document.body.dataset.view, document.querySelector('h1')?.textContent ?? '']);
        if (v === view && (!title || title(h1))) return f;
      } catch {
        /* frame navigating or cross-origin not ready */
      }
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`no "${view}" webview within ${timeoutMs} ms (frames: ${page.frames().map((f) => f.url().slice(0, 80)).join(' | ')})`);
}

export async function waitFor(fn, what, timeoutMs = 30_000, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
}

/** "activated in N ms" from the extension's log output channel, anywhere under the user-data logs. */
export function activationTime(userDataDir) {
  const found = [];
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.log')) {
        const m = /activated in ([\d.]+) ms/.exec(readFileSync(p, 'utf8'));
        if (m) found.push(Number(m[1]));
      }
    }
  };
  walk(join(userDataDir, 'logs'));
  return found;
}

/** Quiet VS Code settings for headless sessions: no welcome page, tips, telemetry, updates or trust prompts. */
const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'workbench.enableExperiments': false,
  'window.commandCenter': false,
  'chat.disableAIFeatures': true,
};

/**
 * code-server with the VSIX installed, opened on `workspace` in headless chromium (1400×900): returns the
 * page, the profile folders and close(). Console errors of the page are collected in `consoleErrors`.
 */
export async function openWorkbench({ e2eHome, chromium, chromiumPath, root, workspace, vsix, logFile }) {
  const dirs = prepareDirs(root, QUIET_SETTINGS);
  installExtension(e2eHome, dirs, vsix);
  const server = await startCodeServer(e2eHome, dirs, workspace, await freePort(), logFile);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  const close = async () => {
    await browser.close().catch(() => undefined);
    await server.stop();
  };
  const t0 = Date.now();
  try {
    await page.goto(server.url);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  } catch (e) {
    await close();
    throw e;
  }
  return { page, dirs, consoleErrors, loadMs: Date.now() - t0, close };
}
