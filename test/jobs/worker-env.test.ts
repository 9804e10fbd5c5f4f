// The compute worker's environment: glibc's malloc backs large blocks with huge pages
// (util/malloc-tunables.ts) — the tunable is added to any the user set, never duplicated or overridden,
// and a forked worker process starts with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeMallocEnv, withoutHugePages } from '../../src/core/util/malloc-tunables';
import { forkWorker } from '../../src/core/jobs/worker-process';

test('computeMallocEnv adds glibc.malloc.hugetlb=1 to the tunables already set, and keeps a user choice', { skip: process.platform !== 'linux' && 'glibc tunables are Linux-only' }, () => {
  assert.deepEqual(computeMallocEnv({}), { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  assert.deepEqual(computeMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }), { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1' });
  assert.deepEqual(computeMallocEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }), { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' });
});

test('withoutHugePages asks for glibc.malloc.hugetlb=0 (the layer-recompute training worker), and keeps a user choice', { skip: process.platform !== 'linux' && 'glibc tunables are Linux-only' }, () => {
  assert.deepEqual(withoutHugePages({}), { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' });
  assert.deepEqual(withoutHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }), { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0' });
  assert.deepEqual(withoutHugePages({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }), { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  // A worker forked with it keeps it: computeMallocEnv leaves a tunable already set alone.
  assert.deepEqual(computeMallocEnv(withoutHugePages({})), { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' });
});

test('a forked worker starts with the huge-page malloc tunable', { skip: process.platform !== 'linux' && 'glibc tunables are Linux-only' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hc-worker-env-'));
  try {
    const entry = join(dir, 'entry.js');
    writeFileSync(entry, "process.send({ tunables: process.env.GLIBC_TUNABLES ?? null }, () => process.exit(0));\n");
    const saved = process.env['GLIBC_TUNABLES'];
    delete process.env['GLIBC_TUNABLES'];
    try {
      const child = forkWorker(entry, {});
      const msg = await new Promise<unknown>((resolve, reject) => {
        child.once('message', resolve);
        child.once('error', reject);
      });
      assert.deepEqual(msg, { tunables: 'glibc.malloc.hugetlb=1' });
    } finally {
      if (saved !== undefined) process.env['GLIBC_TUNABLES'] = saved;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
