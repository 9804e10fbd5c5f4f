// Why ORT's CUDA provider cannot load here, named down to the missing library. onnxruntime-node 1.30
// loads libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so from its own bin folder
// (they come from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux, docs/gpu.md); the CUDA one needs
// the CUDA 12 and cuDNN 9 libraries on the library path, and the NVIDIA driver's libcuda.so.1. ORT's own
// error only says "Failed to load shared library", so the DT_NEEDED entries of the provider library are
// read here (ELF64 little-endian, the only layout onnxruntime-node ships for Linux) and looked up the
// way the dynamic linker would (LD_LIBRARY_PATH, the provider's folder, ld.so.cache, system folders).

import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

export const CUDA_PROVIDER_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

/** What each library is, for the message (package names as NVIDIA's Debian/Ubuntu repositories spell them). */
const WHAT: [RegExp, string][] = [
  [/^libcudart\.so/, 'CUDA 12 runtime (cuda-cudart-12-x)'],
  [/^libcublas(Lt)?\.so/, 'cuBLAS (libcublas-12-x)'],
  [/^libcufft\.so/, 'cuFFT (libcufft-12-x)'],
  [/^libcurand\.so/, 'cuRAND (libcurand-12-x)'],
  [/^libcudnn.*\.so/, 'cuDNN 9 (libcudnn9-cuda-12)'],
  [/^libnvrtc\.so/, 'NVRTC (cuda-nvrtc-12-x)'],
  [/^libcuda\.so/, 'the NVIDIA driver'],
];

/** DT_NEEDED sonames of an ELF64 little-endian shared object. */
export function elfNeeded(file: string): string[] {
  const buf = readFileSync(file);
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) throw new Error(`${file} is not an ELF64 little-endian file`);
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const sections = Array.from({ length: shnum }, (_, i) => {
    const o = shoff + i * shentsize;
    return { type: buf.readUInt32LE(o + 4), offset: Number(buf.readBigUInt64LE(o + 0x18)), size: Number(buf.readBigUInt64LE(o + 0x20)), link: buf.readUInt32LE(o + 0x28) };
  });
  const dynamic = sections.find((s) => s.type === 6); // SHT_DYNAMIC
  if (!dynamic) return [];
  const strtab = sections[dynamic.link]!;
  const out: string[] = [];
  for (let o = dynamic.offset; o + 16 <= dynamic.offset + dynamic.size; o += 16) {
    const tag = buf.readBigInt64LE(o);
    if (tag === 0n) break;
    if (tag !== 1n) continue; // DT_NEEDED
    const start = strtab.offset + Number(buf.readBigUInt64LE(o + 8));
    out.push(buf.toString('latin1', start, buf.indexOf(0, start)));
  }
  return out;
}

let ldCache: Buffer | undefined;
function inLdCache(soname: string): boolean {
  try {
    ldCache ??= readFileSync('/etc/ld.so.cache');
  } catch {
    ldCache = Buffer.alloc(0);
  }
  return ldCache.includes(Buffer.from(soname + '\0'));
}

const SYSTEM_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/cuda/lib64', '/usr/local/nvidia/lib64'];

/** Whether the dynamic linker would find `soname` for a library in `origin` (ignoring RPATH other than $ORIGIN). */
export function findsLibrary(soname: string, origin: string, env: Record<string, string | undefined> = process.env): boolean {
  const dirs = [...(env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean), origin, ...SYSTEM_DIRS];
  return dirs.some((d) => existsSync(join(d, soname))) || inLdCache(soname);
}

function isElf(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    return b.readUInt32BE(0) === 0x7f454c46;
  } finally {
    closeSync(fd);
  }
}

/**
 * Why the CUDA provider cannot load from `binDir` (undefined when every library it needs is found).
 * Names the first missing piece: a provider library, or the CUDA/cuDNN/driver libraries it links.
 */
export function cudaUnavailableReason(binDir: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const missing = CUDA_PROVIDER_LIBS.filter((l) => !existsSync(join(binDir, l)));
  if (missing.length > 0) {
    return `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not in ${binDir} (the CUDA provider binaries from NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 are not installed; see docs/gpu.md: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)`;
  }
  const provider = join(binDir, 'libonnxruntime_providers_cuda.so');
  if (!isElf(provider)) return `${provider} is not a shared library (reinstall the CUDA provider, docs/gpu.md)`;
  const needed = [...elfNeeded(provider), 'libcuda.so.1'].filter((n) => !findsLibrary(n, binDir, env));
  if (needed.length === 0) return undefined;
  const named = needed.map((n) => `${n} (${WHAT.find(([re]) => re.test(n))?.[1] ?? 'a library the provider links'})`);
  return `the CUDA provider is installed but the dynamic linker cannot find ${named.join(', ')}; install CUDA 12 and cuDNN 9 and put their lib folders on LD_LIBRARY_PATH (docs/gpu.md)`;
}
