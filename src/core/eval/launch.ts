// The parent side of `eval` (CLI and extension): a run folder of kind "eval" (inputs, settings, the full
// report in report.json, loss and perplexity as its figures). Loads no engine code.

import { runJob } from '../jobs/client';
import { launch, type JobHandlers, type Launched } from '../jobs/launcher';
import type { EvalReport, EvalSettings } from './lm-eval';
import { checkOutput } from '../runs/output-guard';

export function launchEval(workspace: string, s: EvalSettings, o: { out?: string }, h: JobHandlers): Promise<Launched<EvalReport>> {
  const inputs = { model: s.model, data: s.data };
  const settings: Record<string, unknown> = { ...s };
  delete settings['model'];
  delete settings['data'];
  const sources = [s.model, s.data];
  if (s.dumpLogits !== undefined) checkOutput(s.dumpLogits, { option: 'dump-logits', force: s.force === true, kind: 'file', sources });
  return launch(workspace, { kind: 'eval', ...(o.out !== undefined ? { dir: o.out } : {}), inputs, settings }, () => runJob<EvalReport>('eval', s, h), {
    sources,
    report: true,
    figures: (r) => ({ result: { loss: r.loss, perplexity: r.perplexity, tokens_per_s: r.tokensPerS, params: r.params, rows: r.rows, ...(r.logitsFile ? { logits: r.logitsFile } : {}) }, patch: { ep: r.ep } }),
  });
}
