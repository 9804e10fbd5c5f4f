// The streamed engine's weight kernels (runtime/weight-arena.ts) on one Nemotron-H-8B down_proj
// ([4096, 21504] BF16, 88M values): the BF16 upcast, the separate column sums of squares (FLAP's
// ‖W[:, j]‖²) over the float32 copy, and the fused upcast + sums the streamed calibration uses — in ns
// per value, each beside a plain memcpy of the float32 bytes measured in the same run (the anchor), and
// the fused kernel against the two passes it replaces. Also checks that the fused sums equal the separate
// ones bit for bit. Run: npx tsx bench/weight-kernels.ts

import { WeightArena } from '../src/core/runtime/weight-arena';
import { loadLine } from './side-by-side';

const ROWS = 4096;
const COLS = 21504;
const N = ROWS * COLS;
const REPEATS = 7;

function medianMs(f: () => void): number {
  const t: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[REPEATS >> 1]!;
}

function main(): void {
  const arena = WeightArena.create(N * 6 + COLS * 8 + (1 << 20));
  if (!arena) throw new Error('no WebAssembly SIMD here: the kernels are not used');
  const src = arena.alloc(N * 2)!;
  const dst = arena.alloc(N * 4)!;
  const bf16 = new Uint16Array(arena.buffer, src, N);
  // Finite BF16 values of varied exponents and mantissas (no NaN or infinity).
  for (let i = 0; i < N; i++) bf16[i] = 0x3c00 + ((i * 2654435761) >>> 20) % 0x0800;
  const w = new Float32Array(arena.buffer, dst, N);

  const copyFrom = Buffer.alloc(N * 4, 1);
  const copyTo = Buffer.alloc(N * 4);
  const memcpy = medianMs(() => copyFrom.copy(copyTo));
  const upcast = medianMs(() => arena.bf16ToF32(src, dst, N));
  let separate: Float64Array | undefined;
  const sums = medianMs(() => (separate = arena.columnSquares(w, ROWS, COLS)));
  let fusedSums: Float64Array | undefined;
  const fused = medianMs(() => (fusedSums = arena.bf16ToF32WithColumnSquares(src, dst, ROWS, COLS)));
  const same = !!separate && !!fusedSums && separate.every((x, j) => x === fusedSums![j]);

  const ns = (ms: number) => ((ms * 1e6) / N).toFixed(3);
  console.log(`${ROWS}×${COLS} BF16 (${(N / 1e6).toFixed(0)}M values), median of ${REPEATS}; load ${loadLine()}`);
  console.log('| kernel | ms | ns/value | × memcpy of the float32 bytes |');
  console.log('|---|---:|---:|---:|');
  for (const [name, ms] of [['memcpy (anchor)', memcpy], ['upcast', upcast], ['column sums over the float32', sums], ['fused upcast + column sums', fused]] as const) {
    console.log(`| ${name} | ${ms.toFixed(1)} | ${ns(ms)} | ${(ms / memcpy).toFixed(2)} |`);
  }
  console.log(`fused / (upcast + separate sums) = ${(fused / (upcast + sums)).toFixed(2)}; sums bit for bit equal: ${same}`);
  if (!same) process.exitCode = 1;
}

main();
