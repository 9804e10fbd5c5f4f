// ONNX Runtime sessions from serialised model bytes, on the device the user asked for.
//
// - External data is resolved against `modelDir` through the session config key
//   model_external_initializers_file_folder_path (so it does not depend on the process cwd) and stays
//   memory-mapped by ORT.
// - Given a Graph (not bytes), the session gets the graph rewritten for its provider
//   (provider-graph.ts: WebGPU and CUDA lack or miscompute some contrib ops; f16 products).
// - ORT has no automatic fallback between execution providers (a failing ['cuda','cpu'] list is a hard
//   error), so `auto` tries CUDA, then WebGPU on a hardware Vulkan driver, then CPU itself and says in one
//   line why it fell back. The decision is cached per process, so layer-streamed runs do not retry for
//   every layer. WebGPU's Vulkan driver is chosen once per process (vulkan.ts).

import * as ort from 'onnxruntime-node';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HybridCompressError, describeError } from '../errors';
import { GraphBuilder, serializeModel, type Graph } from '../onnx/index';
import { graphForProvider, type Precision } from './provider-graph';
import { chooseWebGpuDriver, type WebGpuChoice } from '../util/vulkan';
import { cudaUnavailableReason } from './cuda';

import { DEVICES, type Device, type ExecutionProvider } from './devices';

export { DEVICES, type Device, type ExecutionProvider };

export interface SessionOptions {
  /** Folder external-data locations are relative to (resolved to its real path). */
  modelDir?: string;
  device?: Device;
  /** Products in float16 (default: f16 for webgpu-f16, else f32). Needs a Graph, not bytes. */
  precision?: Precision;
  /** Intra-op threads; 0 or undefined = ORT's default (one per physical core). */
  threads?: number;
  /**
   * MLAS pre-packs constant MatMul weights at session creation: faster GEMMs, but a private copy of
   * every f32 weight (the mmapped file pages are not reused). Default true; false keeps weights mapped
   * from the .safetensors (lower memory, slower runs; see runtime/README.md for measurements).
   */
  prepacking?: boolean;
  optimization?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /**
   * ORT's memory pattern: one block planned for all intermediate values after the first run (default
   * false). The block is allocated, and its pages faulted in, on a session's second run, while the arena
   * already reuses the first run's memory: a fresh calibration session's first two runs took 1.2–1.3 s
   * with it and 0.74–0.82 s without (bench fixture, 8 × 256), later runs the same either way; sessions
   * that run once (streamed layers) never get to use the block; and in training it held the forward's
   * saved activations and the backward's temporaries side by side (1.3 GB more peak RSS at 123M parameters).
   */
  memoryPattern?: boolean;
  /**
   * ORT's CPU memory arena (default true). Each arena keeps its session's peak for the session's life;
   * sessions that take turns (the layer-recompute training step: seven) turn it off, so their freed
   * intermediates go back to the process heap and the next session's run reuses them (peak RSS at 123M
   * parameters 2.6 → 2.3 GB).
   */
  cpuArena?: boolean;
  /**
   * Whether idle intra-op threads spin-wait for work (default true, ORT's). Sessions that take turns
   * with another session turn it off (the teacher's forward in training, the layer step's sessions): each
   * has its own thread pool, whose spinning threads would take the CPUs from the next session's run
   * (per-layer forward runs 1.3 s → 0.9 s at 123M parameters, 2 threads). The one-graph training step
   * keeps it: its own GEMMs run faster spinning, and the teacher it alternates with does not spin.
   */
  spinning?: boolean;
  /** Write an ORT chrome-trace profile with this file prefix. */
  profilePrefix?: string;
  /** Receives one-line notices (device fallback, the WebGPU adapter). Default: process.stderr. */
  log?: (line: string) => void;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The execution provider the session actually runs on. */
  ep: ExecutionProvider;
  /** The concrete device that reproduces this choice for later sessions (never 'auto'). */
  device: Exclude<Device, 'auto'>;
  /** WebGPU: the Vulkan driver(s) the adapter came from (vulkan.ts). */
  adapter?: string;
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

/** Why a GPU provider cannot work here, checked before asking ORT (undefined = worth trying). */
export function providerUnavailableReason(ep: 'cuda' | 'webgpu', mode: 'auto' | 'explicit' = 'explicit'): string | undefined {
  if (ep === 'cuda') {
    const bin = ortBinFolder();
    if (!bin) return 'onnxruntime-node is not installed';
    if (process.platform === 'linux') return cudaUnavailableReason(bin);
    if (process.platform !== 'win32') return `CUDA is not available on ${process.platform}`;
    return existsSync(join(bin, 'onnxruntime_providers_cuda.dll')) ? undefined : `onnxruntime_providers_cuda.dll is not in ${bin} (see docs/gpu.md)`;
  }
  const c = webgpuState ?? chooseWebGpuDriver(mode === 'auto' ? 'auto' : 'webgpu');
  if (!c.ok) return c.reason;
  if (mode === 'auto' && c.software) return `the Vulkan driver set up in this process is a software one (${c.adapter}); auto never picks it`;
  return undefined;
}

/** The WebGPU driver choice, made once per process: the Vulkan loader reads it at the first instance. */
let webgpuState: Extract<WebGpuChoice, { ok: true }> | undefined;
let f16Support: string | true | undefined;
let autoChoice: { ep: ExecutionProvider; note?: string } | undefined;

/** Forget the cached `auto` decision (tests). The WebGPU driver choice stays: the process keeps it. */
export function resetDeviceChoice(): void {
  autoChoice = undefined;
}

/** Sets the Vulkan driver environment for WebGPU (once) and logs the adapter; returns its description. */
function prepareWebGpu(mode: 'auto' | 'webgpu', device: Device, log: (line: string) => void): string {
  if (!webgpuState) {
    const c = chooseWebGpuDriver(mode);
    if (!c.ok) throw new HybridCompressError('RUNTIME_ERROR', `--device ${device}: ${c.reason}; use --device cpu or auto`, { option: 'device' });
    Object.assign(process.env, c.env);
    webgpuState = c;
    log(`webgpu adapter: Vulkan driver ${c.adapter}${c.software ? ' — a software adapter: correct, but slower than --device cpu' : ''}${c.hint ? `; warning: ${c.hint}` : ''}`);
  }
  return webgpuState.adapter;
}

/** "; <what the driver lacks>" for an error after WebGPU failed, when the driver choice saw a cause. */
function webgpuHint(): string {
  return webgpuState?.hint ? `; ${webgpuState.hint}` : '';
}

/** The adapter description of this process's WebGPU driver choice, once made. */
export function webgpuAdapter(): { adapter: string; software: boolean } | undefined {
  return webgpuState && { adapter: webgpuState.adapter, software: webgpuState.software };
}

function baseOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  const session: Record<string, string> = { disable_prepacking: o.prepacking === false ? '1' : '0' };
  if (o.spinning === false) session['intra_op.allow_spinning'] = '0';
  if (o.modelDir) session['model_external_initializers_file_folder_path'] = realpathSync(o.modelDir);
  const opts: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: o.optimization ?? 'all',
    intraOpNumThreads: o.threads ?? 0,
    interOpNumThreads: 1,
    enableMemPattern: o.memoryPattern === true,
    enableCpuMemArena: o.cpuArena !== false,
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

function runtimeError(what: string, e: unknown): HybridCompressError {
  return new HybridCompressError('RUNTIME_ERROR', `${what}: ${describeError(e)}`, { option: 'device' });
}

/** WebGPU failed to start on the chosen adapter: ORT's reason, with what the driver lacks when known. */
function webgpuUnusable(device: Device, adapter: string, e: unknown): HybridCompressError {
  return runtimeError(`--device ${device}: ONNX Runtime could not use WebGPU on ${adapter}${webgpuHint()} (use --device cpu or auto)`, e);
}

/** Runs a 2×2 product on this process's WebGPU adapter, in float16 or float32: true, or ORT's error. */
async function probeWebGpu(f16: boolean): Promise<true | string> {
  const g = new GraphBuilder(f16 ? 'f16_probe' : 'f32_probe');
  const x = g.input('x', 'float32', [2, 2]);
  const a = f16 ? g.cast(x, 'float16') : x;
  const y = g.matmul(a, a);
  g.output(f16 ? g.cast(y, 'float32') : y, 'y');
  try {
    const s = await ort.InferenceSession.create(serializeModel(g.build()), { executionProviders: ['webgpu'], logSeverityLevel: 4 });
    try {
      await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [2, 2]) });
    } finally {
      await s.release();
    }
    return true;
  } catch (e) {
    return describeError(e);
  }
}

/**
 * Whether float16 products run on this process's WebGPU adapter (probed once). When they fail, a float32
 * probe tells a missing shader-f16 feature from WebGPU not working at all (e.g. a driver that fails to load).
 */
async function checkWebGpuF16(adapter: string): Promise<void> {
  if (f16Support === undefined) f16Support = await probeWebGpu(true);
  if (f16Support === true) return;
  const f32 = await probeWebGpu(false);
  if (f32 !== true) throw webgpuUnusable('webgpu-f16', adapter, f32);
  throw new HybridCompressError('RUNTIME_ERROR', `--device webgpu-f16: the WebGPU adapter (${adapter}) cannot run float16 shaders (the shader-f16 feature); use --device webgpu. ORT said: ${f16Support}`, { option: 'device' });
}

export async function createSession(model: Uint8Array | Graph, o: SessionOptions = {}): Promise<CreatedSession> {
  const device = o.device ?? 'auto';
  if (!(DEVICES as readonly string[]).includes(device)) throw new HybridCompressError('OPTION_INVALID', `--device ${String(device)} is not valid; use one of ${DEVICES.join(', ')}`, { option: 'device' });
  if (o.threads !== undefined && (!Number.isInteger(o.threads) || o.threads < 0)) {
    throw new HybridCompressError('OPTION_INVALID', `--threads ${o.threads} is not valid; use 0 (ORT default) or a positive integer`, { option: 'threads' });
  }
  const precision: Precision = o.precision ?? (device === 'webgpu-f16' ? 'f16' : 'f32');
  if (precision === 'f16' && model instanceof Uint8Array) throw new HybridCompressError('OPTION_INVALID', 'float16 products need the model as a Graph (the rewrite happens before serialisation)', { option: 'device' });
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const bytes = new Map<ExecutionProvider, Uint8Array>();
  const bytesFor = (ep: ExecutionProvider) => {
    if (model instanceof Uint8Array) return model;
    let b = bytes.get(ep);
    if (!b) bytes.set(ep, (b = serializeModel(graphForProvider(model, ep, precision))));
    return b;
  };
  const createOn = (ep: ExecutionProvider) => ort.InferenceSession.create(bytesFor(ep), { ...baseOptions(o), executionProviders: [providerConfig(ep)] });
  const cpu = async (): Promise<ort.InferenceSession> => {
    try {
      return await createOn('cpu');
    } catch (e) {
      throw runtimeError('ONNX Runtime could not create a CPU session', e);
    }
  };

  if (device === 'cpu') return { session: await cpu(), ep: 'cpu', device: 'cpu' };
  if (device === 'cuda') {
    const why = providerUnavailableReason('cuda');
    if (why) throw new HybridCompressError('RUNTIME_ERROR', `--device cuda: ${why}; use --device cpu or auto`, { option: 'device' });
    try {
      return { session: await createOn('cuda'), ep: 'cuda', device: 'cuda' };
    } catch (e) {
      throw runtimeError('--device cuda: ONNX Runtime could not use CUDA (use --device cpu or auto)', e);
    }
  }
  if (device === 'webgpu' || device === 'webgpu-f16') {
    const adapter = prepareWebGpu('webgpu', device, log);
    if (precision === 'f16') await checkWebGpuF16(adapter);
    try {
      return { session: await createOn('webgpu'), ep: 'webgpu', device, adapter };
    } catch (e) {
      throw webgpuUnusable(device, adapter, e);
    }
  }
  // auto
  if (autoChoice) {
    try {
      const ep = autoChoice.ep;
      return { session: await createOn(ep), ep, device: ep, ...(ep === 'webgpu' ? { adapter: webgpuAdapter()?.adapter } : {}) };
    } catch (e) {
      if (autoChoice.ep === 'cpu') throw runtimeError('ONNX Runtime could not create a CPU session', e);
      // A later graph the GPU provider rejects: fall through to a fresh probe.
    }
  }
  const reasons: string[] = [];
  for (const ep of ['cuda', 'webgpu'] as const) {
    const why = providerUnavailableReason(ep, 'auto');
    if (why) {
      reasons.push(`${ep}: ${why}`);
      continue;
    }
    try {
      const adapter = ep === 'webgpu' ? prepareWebGpu('auto', 'auto', log) : undefined;
      const session = await createOn(ep);
      autoChoice = { ep };
      return { session, ep, device: ep, ...(adapter ? { adapter } : {}) };
    } catch (e) {
      reasons.push(`${ep}: ${describeError(e)}${ep === 'webgpu' ? webgpuHint() : ''}`);
    }
  }
  const session = await cpu();
  const note = `device auto: running on CPU (${reasons.join('; ')})`;
  if (autoChoice?.note !== note) log(note);
  autoChoice = { ep: 'cpu', note };
  return { session, ep: 'cpu', device: 'cpu' };
}

/** Bytes of a run's returned tensors (the binding's fresh copies: what dropping them leaves for V8 to collect). */
export function outputBytes(out: ort.InferenceSession.OnnxValueMapType): number {
  let n = 0;
  for (const t of Object.values(out)) n += (t.data as ArrayBufferView).byteLength;
  return n;
}
