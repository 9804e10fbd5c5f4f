// Greedy generation, as a sanity check that a (pruned, distilled) model still speaks. Re-runs the full
// prefix each step (no cache): fine for the short prompts it is meant for.

import { HybridCompressError } from '../errors';
import { firstNonFiniteIndex, nonFiniteError } from '../checkpoint/finite';
import { openCheckpoint } from '../checkpoint/checkpoint';
import { loadTokenizer } from '../data/index';
import { ForwardRunner } from '../runtime/forward-runner';
import type { Device, ExecutionProvider } from '../runtime/session';

export interface GenerateSettings {
  model: string;
  prompt: string;
  maxNewTokens: number;
  device?: Device;
  threads?: number;
}

export interface GenerateResult {
  prompt: string;
  completion: string;
  tokens: number[];
  ep: ExecutionProvider;
  tokensPerS: number;
}

export async function generateGreedy(s: GenerateSettings, hooks: { onToken?: (text: string, n: number) => void; signal?: AbortSignal } = {}): Promise<GenerateResult> {
  const ckpt = await openCheckpoint(s.model);
  const tok = loadTokenizer(ckpt.dir);
  const runner = await ForwardRunner.create(ckpt, { device: s.device, threads: s.threads, lastLogits: true });
  try {
    const V = ckpt.spec.vocabSize;
    const ids = tok.encode(s.prompt);
    if (tok.bosId !== undefined && ids[0] !== tok.bosId) ids.unshift(tok.bosId);
    if (ids.length === 0) throw new HybridCompressError('OPTION_INVALID', '--prompt is empty and the tokenizer has no BOS token to start from', { option: 'prompt' });
    const out: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < s.maxNewTokens; i++) {
      if (hooks.signal?.aborted) throw new HybridCompressError('CANCELLED', 'generation cancelled');
      const all = [...ids, ...out];
      const { logits } = await runner.run(BigInt64Array.from(all.map(BigInt)), 1, all.length);
      // The last position's logits only (lastLogits). NaN logits would pick token 0 every time and print padding: name the weight instead.
      if (firstNonFiniteIndex(logits) >= 0) throw await nonFiniteError(ckpt, 'model', 'its logits');
      let best = 0;
      for (let v = 1; v < V; v++) if (logits[v]! > logits[best]!) best = v;
      if (best === tok.eosId) break;
      out.push(best);
      hooks.onToken?.(tok.decode([best]), out.length);
    }
    return { prompt: s.prompt, completion: tok.decode(out), tokens: out, ep: runner.ep, tokensPerS: out.length / ((performance.now() - t0) / 1000) };
  } finally {
    await runner.release();
    await ckpt.close();
  }
}
