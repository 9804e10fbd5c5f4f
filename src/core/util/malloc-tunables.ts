// The environment the compute process (the job worker; benches mirror it) starts with: glibc's malloc
// asked to back its large blocks with transparent huge pages (GLIBC_TUNABLES glibc.malloc.hugetlb=1,
// glibc ≥ 2.35, https://www.gnu.org/software/libc/manual/html_node/Memory-Allocation-Tunables.html).
//
// Why: every output onnxruntime-node returns is a fresh ArrayBuffer (logits, taps, gradients), and a block
// of 32 MiB or more is a fresh mmap whose 4 KiB pages all fault on first touch. Measured on the 2-core
// build VM (kernel THP "madvise"): returning 32 MiB of logits cost ~19 ms over computing them with 4 KiB
// pages and ~9 ms with huge pages; the bench forward (4 × 512) went from 303 to 284 ms. Other platforms and
// allocators ignore the variable.

/** GLIBC_TUNABLES with glibc.malloc.hugetlb=`value` added to what the environment already sets (theirs wins). */
function withHugetlb(value: 0 | 1, env: NodeJS.ProcessEnv): Record<string, string> {
  if (process.platform !== 'linux') return {};
  const current = env['GLIBC_TUNABLES'] ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(current)) return { GLIBC_TUNABLES: current };
  return { GLIBC_TUNABLES: current ? `${current}:glibc.malloc.hugetlb=${value}` : `glibc.malloc.hugetlb=${value}` };
}

/** GLIBC_TUNABLES with glibc.malloc.hugetlb=1 added to what the environment already sets (theirs wins). */
export function computeMallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return withHugetlb(1, env);
}

/**
 * GLIBC_TUNABLES asking for no huge pages (glibc.malloc.hugetlb=0), unless the environment sets the
 * tunable itself. For the layer-recompute training step, whose many sessions take turns on one process
 * heap: with huge pages, freed 4 KiB pieces keep whole 2 MiB pages resident, and its peak RSS at 123M
 * parameters came out at 19.7 or 20.7 B/param from run to run (2 of 4 each); without, 19.8 in each of
 * five runs, for about 5% more time per step (bench/train-scale.ts).
 */
export function withoutHugePages(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return withHugetlb(0, env);
}
