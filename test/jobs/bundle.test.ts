// The production shape: the worker bundled by esbuild (as scripts/build.mjs does) runs jobs, and
// the parent-side API does not pull the job handlers (hence onnxruntime-node) into the host.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { runJob } from '../../src/core/jobs/client';

const ROOT = join(__dirname, '../..');

test('a bundled worker runs jobs registered by a separate module', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-bundle-'));
  try {
    const outfile = join(dir, 'worker.js');
    await build({
      entryPoints: [join(ROOT, 'src/core/pipeline/worker-main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'silent',
      external: ['vscode', 'onnxruntime-node'],
    });
    // The test registration is TypeScript, so the worker needs tsx; the bundle itself does not.
    const r = await runJob<{ echoed: unknown }>('test-echo', { x: [1, 2] }, {
      workerPath: outfile,
      execArgv: ['--import', 'tsx'],
      registerModules: [join(__dirname, 'fixtures/test-jobs.ts')],
    });
    assert.deepEqual(r.echoed, { x: [1, 2] });
    // Without the registration module, the test kinds do not exist in the bundle.
    await assert.rejects(runJob('test-echo', {}, { workerPath: outfile }), /unknown job kind "test-echo"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the parent-side API (jobs/index.ts, runs/index.ts) bundles without handlers, the worker or onnxruntime', async () => {
  for (const entry of ['src/core/jobs/index.ts', 'src/core/runs/index.ts', 'src/cli/progress.ts']) {
    const r = await build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'silent',
      // Left external only so that an import of it would show up in the metafile.
      external: ['onnxruntime-node'],
    });
    const inputs = Object.keys(r.metafile.inputs).map((p) => relative(ROOT, join(process.cwd(), p)));
    const imports = Object.values(r.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    assert.ok(!imports.includes('onnxruntime-node'), `${entry} imports onnxruntime-node`);
    for (const p of inputs) assert.ok(!/jobs\/(handlers\/|worker\.ts$|registry\.ts$)|pipeline\//.test(p), `${entry} pulls in ${p}`);
  }
});
