// Job kinds "eval" and "generate" (engine modules load on first use).
import type { JobHandler } from '../registry';
import { HybridCompressError } from '../../errors';
import type { EvalReport, EvalSettings } from '../../eval/lm-eval';
import type { GenerateResult, GenerateSettings } from '../../eval/generate';

export const evalJob: JobHandler<EvalReport> = async (params, ctx) => {
  const s = params as EvalSettings;
  if (!s || typeof s.model !== 'string' || typeof s.data !== 'string') throw new HybridCompressError('OPTION_INVALID', 'eval job needs {model, data, seqLen, batch}');
  const { evaluateLm } = await import('../../eval/lm-eval');
  return evaluateLm(s, {
    signal: ctx.signal,
    log: (l) => ctx.log(l),
    onProgress: (p) => ctx.progress({ phase: 'eval', done: p.done, total: p.total, unit: p.unit, tokensPerS: p.tokensPerS, ...(p.etaS !== undefined ? { etaS: p.etaS } : {}) }),
  });
};

export const generateJob: JobHandler<GenerateResult> = async (params, ctx) => {
  const s = params as GenerateSettings;
  if (!s || typeof s.model !== 'string' || typeof s.prompt !== 'string') throw new HybridCompressError('OPTION_INVALID', 'generate job needs {model, prompt, maxNewTokens}');
  const { generateGreedy } = await import('../../eval/generate');
  return generateGreedy(s, { signal: ctx.signal, onToken: (_t, n) => ctx.progress({ phase: 'generate', done: n, total: s.maxNewTokens, unit: 'tokens' }) });
};
