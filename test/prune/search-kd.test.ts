// `search --kd-steps N --top-k K`: the zero-shot top K get a short KD from the source and are ranked by
// their loss after it; the work folder is cleaned; --out holds the winner's pruned (not KD'd) weights;
// cancel stops the KD at once; --kd-steps without --data is refused naming --data.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { HybridCompressError } from '../../src/core/errors';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';
import { KD_NEEDS_DATA, type PipelineContext, type SearchJobParams } from '../../src/core/prune/job-params';
import { validateSearchParams } from '../../src/core/prune/settings';
import { runPrune } from '../../src/core/prune/prune-job';
import { runSearch } from '../../src/core/prune/search-job';
import { LOSS_TIE_DECIMALS, rankAfterKd, rankCandidates, type ScoredCandidate } from '../../src/core/prune/search';
import { searchCommand } from '../../src/cli/commands/search';
import { formatSearchReport } from '../../src/cli/commands/search';
import { collector, readAll, tempDir } from './helpers';

const FX: FixtureOptions = { pattern: 'M-M*M-', hiddenSize: 32, vocabSize: 300, mambaHeads: 8, mambaHeadDim: 4, nGroups: 2, stateSize: 8, intermediateSize: 48, attentionHeads: 4, kvHeads: 2, attentionHeadDim: 8, chunkSize: 8, tokenizer: true };

function writeCorpus(path: string): void {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'the', 'cat', 'sat', 'on', 'mat', 'and', 'ran', 'far'];
  let s = 11;
  const lines: string[] = [];
  for (let d = 0; d < 60; d++) {
    const w: string[] = [];
    for (let i = 0; i < 12 + (d % 9); i++) w.push(words[(s = (s * 1103515245 + 12345) >>> 0) % words.length]!);
    lines.push(w.join(' ') + '.');
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

interface Ctx extends PipelineContext {
  logs: string[];
  kd: { done: number; total: number }[];
}

function ctx(signal = new AbortController().signal, onKd?: (done: number) => void): Ctx {
  const logs: string[] = [];
  const kd: { done: number; total: number }[] = [];
  return {
    signal,
    progress: (p) => {
      if (p.phase !== 'kd') return;
      kd.push({ done: p.done, total: p.total });
      onKd?.(p.done);
    },
    log: (t) => logs.push(t),
    logs,
    kd,
  };
}

async function setup(t: { after: (fn: () => void) => void }) {
  const dir = tempDir(t, 'search-kd');
  const f = await writeFixtureCheckpoint(join(dir, 'src'), FX);
  const data = join(dir, 'corpus.txt');
  writeCorpus(data);
  const work = join(dir, 'work');
  mkdirSync(work);
  const base: SearchJobParams = { model: f.dir, importance: 'random', seed: 2, targetParams: String(Math.round(f.spec.params.total * 0.75)), maxCandidates: 4, rows: 2, seqLen: 16, device: 'cpu', data, workDir: work };
  return { dir, f, data, work, base };
}

const num = (x: unknown) => x as number;

test('search --kd-steps 5 --top-k 2: KD fields on exactly the zero-shot top 2, ranked by post-KD loss, work folder cleaned, --out gets the pruned weights', async (t) => {
  const { dir, f, data, work, base } = await setup(t);
  const c = ctx();
  const r = await runSearch(validateSearchParams({ ...base, kdSteps: 5, topK: 2, out: join(dir, 'best') }), c);

  assert.ok(r.kd, 'search.json has a kd section');
  assert.equal(r.kd.steps, 5);
  assert.equal(r.kd.top_k, 2);
  assert.equal(r.kd.distilled, 2);
  assert.equal(r.kd.failed, 0);
  assert.equal(r.kd.teacher, f.dir);
  assert.equal(r.kd.data, data);
  assert.deepEqual({ batch: r.kd.settings.batch, seq: r.kd.settings.seq_len, lr: r.kd.settings.lr, min: r.kd.settings.min_lr, warmup: r.kd.settings.warmup_steps, seed: r.kd.settings.seed }, { batch: 4, seq: 16, lr: 1.6e-4, min: 1.6e-4 * 0.1, warmup: 0, seed: 2 });
  assert.equal(r.kd.out_weights, 'pruned (before KD)');

  const withKd = r.candidates.filter((x) => 'loss_after_kd' in x);
  assert.equal(withKd.length, 2, 'exactly the top 2 get KD fields');
  assert.equal(r.scored, 4);
  for (const x of withKd) {
    assert.ok(Number.isFinite(x['loss_after_kd']) && Number.isFinite(x['kd_loss_final']) && num(x['kd_seconds']) > 0, JSON.stringify(x));
    assert.notEqual(x['loss_after_kd'], x['loss'], 'the KD changed the weights');
  }
  // They are the zero-shot top 2, now ranks 1 and 2 in post-KD order (ties: tokens/s).
  assert.deepEqual(withKd.map((x) => x['zero_shot_rank']).sort(), [1, 2]);
  assert.deepEqual(withKd.map((x) => x['rank']), [1, 2]);
  const key = (x: Record<string, unknown>) => Number(num(x['loss_after_kd']).toFixed(LOSS_TIE_DECIMALS));
  const [a, b] = withKd as [Record<string, unknown>, Record<string, unknown>];
  assert.ok(key(a) < key(b) || (key(a) === key(b) && num(a['tokens_per_s']) >= num(b['tokens_per_s'])), `ranked by post-KD loss: ${key(a)} vs ${key(b)}`);
  // The rest follow in zero-shot order.
  const rest = r.candidates.filter((x) => x['rank'] !== null && !('loss_after_kd' in x));
  assert.deepEqual(rest.map((x) => x['rank']), [3, 4]);
  assert.deepEqual(rest.map((x) => x['zero_shot_rank']), [3, 4]);
  assert.deepEqual(r.winner, r.candidates[0]);

  // Progress: one phase "kd", candidates × steps.
  assert.ok(c.kd.length >= 10);
  assert.ok(c.kd.every((p) => p.total === 10));
  assert.equal(c.kd.at(-1)!.done, 10);
  assert.deepEqual(readdirSync(work), [], 'the work folder is cleaned');

  // --out: the winner's pruned weights, identical to a plain prune with the winner's dims (no KD).
  assert.ok(r.notes.some((n) => /pruned weights, not the ones after its 5-step KD/.test(n)), r.notes.join('\n'));
  const w = r.winner!;
  await runPrune(
    { ...base, targetParams: undefined, out: join(dir, 'plain'), verify: false, targets: { hiddenSize: num(w['hidden_size']), ffnHiddenSize: num(w['ffn_hidden_size']), mambaNumHeads: num(w['mamba_num_heads']), mambaHeadDim: num(w['mamba_head_dim']), numLayers: num(w['num_layers']) } },
    ctx(),
  );
  const best = await openCheckpoint(join(dir, 'best'));
  const plain = await openCheckpoint(join(dir, 'plain'));
  t.after(() => Promise.all([best.close(), plain.close()]));
  const [bw, pw] = [await readAll(best), await readAll(plain)];
  assert.deepEqual([...bw.keys()].sort(), [...pw.keys()].sort());
  for (const [n, v] of bw) assert.deepEqual(v, pw.get(n), n);

  const text = formatSearchReport(r);
  assert.match(text, /short KD of the top 2 \(5 steps each/);
  assert.match(text, /after KD/);
  assert.match(text, /its pruned weights, before KD/);
});

test('cancel during the KD stops within a second and cleans the work folder', async (t) => {
  const { work, base } = await setup(t);
  const ac = new AbortController();
  let abortedAt = 0;
  const c = ctx(ac.signal, (done) => {
    if (done === 3 && !ac.signal.aborted) {
      abortedAt = performance.now();
      ac.abort(new HybridCompressError('CANCELLED', 'the job was cancelled'));
    }
  });
  await assert.rejects(runSearch(validateSearchParams({ ...base, kdSteps: 50, topK: 2 }), c), (e: unknown) => e instanceof HybridCompressError && e.code === 'CANCELLED');
  const ms = performance.now() - abortedAt;
  assert.ok(abortedAt > 0, 'the KD started');
  assert.ok(ms < 1000, `stopped ${ms.toFixed(0)} ms after the cancel`);
  assert.ok(c.kd.at(-1)!.done < 50, 'the first candidate did not finish its KD');
  assert.deepEqual(readdirSync(work), []);
});

test('--kd-steps without --data is refused naming --data (CLI and job), and the KD options are checked', async (t) => {
  const { dir, base } = await setup(t);
  const out = collector();
  const err = collector();
  await assert.rejects(
    searchCommand.run({ argv: ['src', '--importance', 'random', '--target-params', '75%', '--kd-steps', '5', '--top-k', '2'], stdout: out.stream, stderr: err.stream, isTTY: false, cwd: dir, signal: new AbortController().signal }),
    (e: unknown) => e instanceof HybridCompressError && e.code === 'OPTION_INVALID' && e.context.option === 'data' && /--kd-steps needs --data/.test(e.message),
  );
  const noData = { ...base, data: undefined, kdSteps: 5 };
  assert.throws(() => validateSearchParams(noData), (e: unknown) => e instanceof HybridCompressError && e.message === KD_NEEDS_DATA && e.context.option === 'data');
  await assert.rejects(runSearch(noData, ctx()), (e: unknown) => e instanceof HybridCompressError && e.context.option === 'data');
  assert.throws(() => validateSearchParams({ ...base, kdSteps: 5, kdLr: 0 }), /"kdLr" must be a number > 0/);
  assert.throws(() => validateSearchParams({ ...base, kdSteps: 1.5 }), /"kdSteps" must be an integer/);
  // kdSteps 0 is the plain zero-shot search: no data needed.
  assert.doesNotThrow(() => validateSearchParams({ ...base, data: undefined, kdSteps: 0 }));
});

function cand(id: number, loss: number, lossAfter: number | null | undefined, tps: number): ScoredCandidate {
  const c: ScoredCandidate = { id, targets: { hiddenSize: 1 }, dims: { hiddenSize: 1, keptLayers: [0] }, params: 1, loss, tokensPerS: tps, rank: null };
  if (lossAfter !== undefined) c.kd = { lossFinal: 0.1, lossAfter, seconds: 1 };
  return c;
}

test('rankAfterKd: distilled candidates first by post-KD loss (ties by tokens/s), failed KDs and the rest in zero-shot order', () => {
  // Zero-shot order 1,2,3,4,5; KD reverses the top three and #3's KD failed.
  const cs = [cand(1, 1.0, 2.5, 100), cand(2, 1.1, 2.0, 100), cand(3, 1.2, null, 100), cand(4, 1.3, undefined, 100), cand(5, 1.4, undefined, 100), { ...cand(6, NaN, undefined, 0), loss: null }];
  const ranked = rankAfterKd(rankCandidates(cs));
  assert.deepEqual(ranked.map((c) => c.id), [2, 1, 3, 4, 5, 6]);
  assert.deepEqual(ranked.map((c) => c.rank), [1, 2, 3, 4, 5, null]);
  assert.deepEqual(ranked.map((c) => c.zeroShotRank), [2, 1, 3, 4, 5, null]);
  // Equal post-KD loss to 3 decimals: the faster one wins.
  const tie = rankAfterKd(rankCandidates([cand(1, 1.0, 2.0001, 100), cand(2, 1.1, 2.0002, 300)]));
  assert.deepEqual(tie.map((c) => c.id), [2, 1]);
});
