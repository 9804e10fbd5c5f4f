import * as ort from 'onnxruntime-node';
import { openCheckpoint } from '/work/main/src/core/checkpoint/checkpoint';
import { buildForwardGraph } from '/work/main/src/core/model/forward-graph';
import { checkpointWeights } from '/work/main/src/core/model/forward-weights';
import { GraphBuilder, serializeModel } from '/work/main/src/core/onnx/index';
import { createSession } from '/work/main/src/core/runtime/session';
import { Rng } from '/work/main/src/core/util/random';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function main() {
  const ck = await openCheckpoint('/tmp/exp/bench-model');
  const w = checkpointWeights(ck.tensors, { locations: new Map([[ck.dir + '/model.safetensors', 'model.safetensors']]) });
  const mk = (internal: boolean) => {
    const graph = buildForwardGraph(ck.spec, w);
    if (internal) {
      const g = new GraphBuilder(graph);
      const logits = graph.outputs.pop()!;
      g.output(g.reduceMax(logits, [-1], false), 'mx');
    }
    return serializeModel(graph);
  };
  const threads = Number(process.argv[2] ?? 1);
  const rng = new Rng(42);
  const ids = new ort.Tensor('int64', BigInt64Array.from({ length: 2048 }, () => BigInt(rng.int(4096))), [4, 512]);
  const sess = { out: (await createSession(mk(false), { modelDir: ck.dir, threads, device: 'cpu' })).session, internal: (await createSession(mk(true), { modelDir: ck.dir, threads, device: 'cpu' })).session };
  const res: Record<string, number[]> = { out: [], internal: [], prealloc: [] };
  const cpu: Record<string, number[]> = { out: [], internal: [], prealloc: [] };
  const pre = new ort.Tensor('float32', new Float32Array(2048 * 4096), [4, 512, 4096]);
  let same = false;
  for (let rep = 0; rep < 8; rep++) for (const k of ['out', 'internal', 'prealloc'] as const) {
    await new Promise((r) => setTimeout(r, 50));
    const c0 = process.cpuUsage(); const t0 = performance.now();
    if (k === 'prealloc') { const o = await sess.out.run({ input_ids: ids }, { logits: pre }); same = o['logits']!.data === pre.data; } else await sess[k].run({ input_ids: ids });
    res[k]!.push(performance.now() - t0); const c = process.cpuUsage(c0); cpu[k]!.push((c.user + c.system) / 1000);
  }
  for (const k of ['out', 'internal', 'prealloc']) console.log(k, 'wall', median(res[k]!.slice(2)).toFixed(0), 'cpu', median(cpu[k]!.slice(2)).toFixed(0));
  console.log('prealloc returns the same buffer:', same);
}
main();
