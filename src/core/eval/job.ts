// Job kinds "eval" and "generate" (engine modules load on first use).
import type { JobHandler } from '../jobs/registry';
import { HybridCompressError } from '../errors';
import { checkValues } from '../util/option-schema';
import { EVAL_SCHEMA, GENERATE_SCHEMA } from './settings';
import type { EvalReport, EvalSettings } from './lm-eval';
import type { GenerateResult, GenerateSettings } from './generate';

export const evalJob: JobHandler<EvalReport> = async (params, ctx) => {
  const s = params as EvalSettings;
  if (!s || typeof s.model !== 'string' || typeof s.data !== 'string') throw new HybridCompressError('OPTION_INVALID', 'eval job needs {model, data, seqLen, batch}');
  checkValues(EVAL_SCHEMA, s as unknown as Record<string, unknown>, 'eval setting');
  const { evaluateLm } = await import('./lm-eval');
  return evaluateLm(s, {
    signal: ctx.signal,
    log: (l) => ctx.log(l),
    onProgress: (p) => ctx.progress({ phase: 'eval', done: p.rows, total: p.totalRows, unit: 'rows', tokensPerS: p.tokensPerS }),
  });
};

export const generateJob: JobHandler<GenerateResult> = async (params, ctx) => {
  const s = params as GenerateSettings;
  if (!s || typeof s.model !== 'string' || typeof s.prompt !== 'string') throw new HybridCompressError('OPTION_INVALID', 'generate job needs {model, prompt, maxNewTokens}');
  checkValues(GENERATE_SCHEMA, s as unknown as Record<string, unknown>, 'generate setting');
  const { generateGreedy } = await import('./generate');
  return generateGreedy(s, { signal: ctx.signal, onToken: (_t, n) => ctx.progress({ phase: 'generate', done: n, total: s.maxNewTokens, unit: 'tokens' }) });
};
