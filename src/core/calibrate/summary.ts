// summary.md of a calibration run: what was measured, and per layer the scores a reader would check
// first (depth importance, the weakest and strongest Mamba heads per group).

import type { HybridModelSpec } from '../arch/spec';
import { KIND_NAMES } from '../checkpoint/describe';
import type { CalibrationResult } from './calibrate';

const fmt = (x: number) => (Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(4) : x.toExponential(2));

export function writeCalibrationSummary(spec: HybridModelSpec, scores: ReadonlyMap<string, Float32Array>, meta: Record<string, string>, r: CalibrationResult): string {
  const lines: string[] = [];
  lines.push(`# Calibration of ${meta['model']}`, '');
  lines.push(`- data: \`${meta['data']}\` — ${r.rows} rows × ${meta['seq_len']} tokens = ${r.tokens.toLocaleString('en-US')} tokens (${meta['dataReport']})`);
  if (spec.mlp && spec.pattern.includes('-')) lines.push(`- FFN neurons scored ${meta['ffn_tap'] === 'pre' ? 'on the up_proj output X·W₁ᵀ before relu² (the paper\'s Eq. 26)' : 'on the down_proj input after relu² (ModelOpt\'s; --ffn-tap pre for the paper\'s Eq. 26)'}`);
  lines.push(`- execution provider: ${r.ep}, ${r.execution.mode === 'streamed' ? 'layer-streamed' : 'whole model'}; ${r.tokensPerS.toFixed(0)} tokens/s`);
  lines.push(`- time: forward ${r.timings.forward_s.toFixed(2)} s, aggregation ${r.timings.aggregation_s.toFixed(2)} s, depth KL ${r.timings.depth_kl_s.toFixed(2)} s, total ${r.timings.total_s.toFixed(2)} s`);
  lines.push(`- model fingerprint: \`${r.fingerprint}\``, `- scores: \`importance.safetensors\` (format ${meta['format']})`, '');
  const bi = scores.get('depth.block_importance');
  const kl = scores.get('depth.kl');
  lines.push('| layer | kind | block importance | KL if dropped | notes |', '|---:|---|---:|---:|---|');
  for (const l of spec.layers) {
    let note = '';
    const heads = scores.get(`layers.${l.index}.mamba.heads`);
    if (heads && spec.mamba) {
      const per = spec.mamba.numHeads / spec.mamba.nGroups;
      const parts: string[] = [];
      for (let g = 0; g < spec.mamba.nGroups; g++) {
        const idx = Array.from({ length: per }, (_, i) => g * per + i).sort((a, b) => heads[a]! - heads[b]!);
        parts.push(`g${g}: weakest h${idx[0]} strongest h${idx[idx.length - 1]}`);
      }
      note = parts.join('; ');
    }
    lines.push(`| ${l.index} | ${KIND_NAMES[l.kind]} | ${bi ? fmt(bi[l.index]!) : '—'} | ${kl ? fmt(kl[l.index]!) : '—'} | ${note} |`);
  }
  return lines.join('\n') + '\n';
}
