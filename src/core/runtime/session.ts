// ONNX Runtime sessions from serialised model bytes, on the device the user asked for.
//
// - External data is resolved against `modelDir` through the session config key
//   model_external_initializers_file_folder_path (so it does not depend on the process cwd) and stays
//   memory-mapped by ORT.
// - ORT has no automatic fallback between execution providers (a failing ['cuda','cpu'] list is a hard
//   error), so `auto` tries CUDA, then WebGPU, then CPU itself and says in one line why it fell back.
//   The decision is cached per process, so layer-streamed runs do not retry for every layer.

import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HybridCompressError, describeError } from '../errors';

import { DEVICES, type Device, type ExecutionProvider } from './devices';

export { DEVICES, type Device, type ExecutionProvider };

export interface SessionOptions {
  /** Folder external-data locations are relative to (resolved to its real path). */
  modelDir?: string;
  device?: Device;
  /** Intra-op threads; 0 or undefined = ORT's default (one per physical core). */
  threads?: number;
  /**
   * MLAS pre-packs constant MatMul weights at session creation: faster GEMMs, but a private copy of
   * every f32 weight (the mmapped file pages are not reused). Default true; false keeps weights mapped
   * from the .safetensors (lower memory, slower runs; see runtime/README.md for measurements).
   */
  prepacking?: boolean;
  optimization?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /** Write an ORT chrome-trace profile with this file prefix. */
  profilePrefix?: string;
  /** Receives one-line notices (device fallback). Default: process.stderr. */
  log?: (line: string) => void;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The execution provider the session actually runs on. */
  ep: ExecutionProvider;
}

// The project runs as CommonJS (tsx and the esbuild bundle), so __filename exists; cwd is a fallback.
const ortRequire = createRequire(typeof __filename === 'string' ? __filename : join(process.cwd(), 'index.js'));

function ortBinFolder(): string | undefined {
  try {
    const pkg = ortRequire.resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** Why a GPU provider cannot work here, checked cheaply before asking ORT (undefined = worth trying). */
export function providerUnavailableReason(ep: 'cuda' | 'webgpu'): string | undefined {
  if (ep === 'cuda') {
    if (process.platform !== 'linux' && process.platform !== 'win32') return `CUDA is not available on ${process.platform}`;
    const bin = ortBinFolder();
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (!bin || !existsSync(join(bin, lib))) return `the CUDA provider binaries are not installed (see docs/gpu.md: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)`;
    return undefined;
  }
  if (process.platform === 'linux' && !findVulkanLoader()) return 'no Vulkan loader (libvulkan.so.1) found; install libvulkan1 and a GPU driver with Vulkan support';
  return undefined;
}

function findVulkanLoader(): boolean {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/local/lib', ...(process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean)];
  if (dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return true;
  try {
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

let autoChoice: { ep: ExecutionProvider; note?: string } | undefined;

/** Forget the cached `auto` decision (tests). */
export function resetDeviceChoice(): void {
  autoChoice = undefined;
}

function baseOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  const session: Record<string, string> = { disable_prepacking: o.prepacking === false ? '1' : '0' };
  if (o.modelDir) session['model_external_initializers_file_folder_path'] = realpathSync(o.modelDir);
  const opts: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: o.optimization ?? 'all',
    intraOpNumThreads: o.threads ?? 0,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    extra: { session },
  };
  if (o.profilePrefix) {
    opts.enableProfiling = true;
    opts.profileFilePrefix = o.profilePrefix;
  }
  return opts;
}

function providerConfig(ep: ExecutionProvider): ort.InferenceSession.ExecutionProviderConfig {
  return ep === 'cuda' ? { name: 'cuda', deviceId: 0 } : ep;
}

async function createOn(bytes: Uint8Array, ep: ExecutionProvider, o: SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { ...baseOptions(o), executionProviders: [providerConfig(ep)] });
}

function runtimeError(what: string, e: unknown): HybridCompressError {
  return new HybridCompressError('RUNTIME_ERROR', `${what}: ${describeError(e)}`, { option: 'device' });
}

export async function createSession(bytes: Uint8Array, o: SessionOptions = {}): Promise<CreatedSession> {
  const device = o.device ?? 'auto';
  if (!(DEVICES as readonly string[]).includes(device)) throw new HybridCompressError('OPTION_INVALID', `--device ${String(device)} is not valid; use one of ${DEVICES.join(', ')}`, { option: 'device' });
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 0)) {
    throw new HybridCompressError('OPTION_INVALID', `--threads ${o.threads} is not valid; use 0 (ORT default) or a positive integer`, { option: 'threads' });
  }
  if (device === 'cpu') {
    try {
      return { session: await createOn(bytes, 'cpu', o), ep: 'cpu' };
    } catch (e) {
      throw runtimeError('ONNX Runtime could not create a CPU session', e);
    }
  }
  if (device === 'cuda' || device === 'webgpu') {
    const why = providerUnavailableReason(device);
    if (why) throw new HybridCompressError('RUNTIME_ERROR', `--device ${device}: ${why}; use --device cpu or --device auto`, { option: 'device' });
    try {
      return { session: await createOn(bytes, device, o), ep: device };
    } catch (e) {
      throw runtimeError(`--device ${device}: ONNX Runtime could not use ${device === 'cuda' ? 'CUDA' : 'WebGPU'} (use --device cpu or auto)`, e);
    }
  }
  // auto
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if (autoChoice) {
    try {
      return { session: await createOn(bytes, autoChoice.ep, o), ep: autoChoice.ep };
    } catch (e) {
      if (autoChoice.ep === 'cpu') throw runtimeError('ONNX Runtime could not create a CPU session', e);
      // A later graph the GPU provider rejects: fall through to a fresh probe.
    }
  }
  const reasons: string[] = [];
  for (const ep of ['cuda', 'webgpu'] as const) {
    const why = providerUnavailableReason(ep);
    if (why) {
      reasons.push(`${ep}: ${why}`);
      continue;
    }
    try {
      const session = await createOn(bytes, ep, o);
      autoChoice = { ep };
      return { session, ep };
    } catch (e) {
      reasons.push(`${ep}: ${describeError(e)}`);
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await createOn(bytes, 'cpu', o);
  } catch (e) {
    throw runtimeError('ONNX Runtime could not create a CPU session', e);
  }
  const note = `device auto: running on CPU (${reasons.join('; ')})`;
  if (autoChoice?.note !== note) log(note);
  autoChoice = { ep: 'cpu', note };
  return { session, ep: 'cpu' };
}
