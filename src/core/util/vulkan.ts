// Which Vulkan driver ORT's WebGPU provider (Dawn, on Vulkan on Linux) gets. No onnxruntime import: the
// parent process uses workerVulkanEnv() before it forks a worker.
//
// - The Vulkan loader (libvulkan.so.1) is dlopen()ed by name, so it must be on the library path when the
//   process starts. Debian's chromium ships one beside SwiftShader, a conformant software Vulkan driver
//   (/usr/lib/chromium: libvulkan.so.1, libvk_swiftshader.so, vk_swiftshader_icd.json); when the system
//   has no loader of its own, the worker is started with that folder on LD_LIBRARY_PATH.
// - Drivers are found through ICD manifests (JSON naming the driver library): VK_DRIVER_FILES /
//   VK_ICD_FILENAMES when set, otherwise the loader's standard folders (Vulkan-Loader
//   docs/LoaderDriverInterface.md, "Driver Discovery on Linux"). The loader reads those variables when a
//   Vulkan instance is created, i.e. at the first WebGPU session, so they are set in process.env here.
// - ORT does not expose Dawn's adapter info to Node, so the adapter is described by the driver(s) the
//   loader is given: `auto` gives it only hardware drivers (never SwiftShader or lavapipe: they run on
//   the CPU, slower than the CPU provider); `webgpu` prefers hardware drivers and otherwise takes
//   SwiftShader, and says so.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

export interface VulkanDriver {
  /** The ICD manifest (JSON) file. */
  manifest: string;
  /** library_path from the manifest, resolved against the manifest's folder when relative. */
  library: string;
  /** A CPU implementation (SwiftShader, lavapipe, the mock ICD). */
  software: boolean;
  /** e.g. "NVIDIA", "SwiftShader (software, runs on the CPU)". */
  name: string;
}

type Env = Record<string, string | undefined>;

const LOADER = 'libvulkan.so.1';
/** Where Debian/Ubuntu/Fedora chromium packages keep SwiftShader and their loader. */
const CHROMIUM_DIRS = ['/usr/lib/chromium', '/usr/lib64/chromium', '/usr/lib/chromium-browser'];
const SWIFTSHADER_ICD = 'vk_swiftshader_icd.json';

const DRIVER_NAMES: [RegExp, string, boolean][] = [
  [/swiftshader/i, 'SwiftShader (software Vulkan, runs on the CPU)', true],
  [/lvp|lavapipe/i, 'lavapipe (Mesa software Vulkan, runs on the CPU)', true],
  [/mock_icd/i, 'the Vulkan mock ICD (no device)', true],
  [/nvidia/i, 'NVIDIA', false],
  [/nouveau/i, 'NVIDIA (Mesa NVK)', false],
  [/radeon/i, 'AMD (Mesa RADV)', false],
  [/amdvlk/i, 'AMD (AMDVLK)', false],
  [/intel/i, 'Intel (Mesa ANV)', false],
  [/dzn/i, 'Direct3D 12 (Mesa Dozen)', false],
  [/virtio/i, 'virtio-gpu (Mesa Venus)', false],
];

/** The folder holding shared library `name` that the dynamic linker would find for this environment, if any. */
export function findSharedLibrary(name: string, env: Env = process.env): string | undefined {
  const fromEnv = (env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean);
  const system = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];
  const hit = [...fromEnv, ...system].find((d) => existsSync(join(d, name)));
  if (hit) return hit;
  try {
    return readFileSync('/etc/ld.so.cache').includes(name) ? '(ld.so.cache)' : undefined;
  } catch {
    return undefined;
  }
}

/** The folder holding a Vulkan loader the dynamic linker would find for this environment, if any. */
export function findVulkanLoader(env: Env = process.env): string | undefined {
  return findSharedLibrary(LOADER, env);
}

/**
 * What a chosen driver needs that is missing, said before ORT's opaque failure. NVIDIA's proprietary
 * driver implements Vulkan inside libGLX_nvidia.so.0, which loads glvnd's libGLdispatch.so.0: without it
 * the loader finds the driver but gets no vkCreateInstance from it ("Could not get 'vkCreateInstance'
 * via 'vk_icdGetInstanceProcAddr'"), seen on a headless H200 machine whose image had no glvnd.
 */
export function driverDependencyHint(drivers: VulkanDriver[], find: (name: string) => string | undefined): string | undefined {
  const nvidia = drivers.find((d) => /lib(GLX|EGL)_nvidia\.so/.test(basename(d.library)));
  if (!nvidia || find('libGLdispatch.so.0')) return undefined;
  return `NVIDIA's Vulkan driver (${basename(nvidia.library)}) needs glvnd's libGLdispatch.so.0, which is not on the library path (Debian/Ubuntu: apt install libglvnd0 libglx0)`;
}

/** chromium's folder with SwiftShader (and whether a loader sits beside it), if installed. */
export function findSwiftShader(): { dir: string; manifest: string; hasLoader: boolean } | undefined {
  const dir = CHROMIUM_DIRS.find((d) => existsSync(join(d, SWIFTSHADER_ICD)));
  return dir ? { dir, manifest: join(dir, SWIFTSHADER_ICD), hasLoader: existsSync(join(dir, LOADER)) } : undefined;
}

/**
 * Variables to add to a worker's environment so that its WebGPU provider can load a Vulkan loader:
 * chromium's folder on LD_LIBRARY_PATH when the system has no loader (only the loader, SwiftShader and
 * chromium's own GL libraries live there). Empty when nothing is needed.
 */
export function workerVulkanEnv(env: Env = process.env): Record<string, string> {
  if (process.platform !== 'linux' || findVulkanLoader(env)) return {};
  const ss = findSwiftShader();
  if (!ss?.hasLoader) return {};
  const current = env['LD_LIBRARY_PATH'];
  return { LD_LIBRARY_PATH: current ? `${current}:${ss.dir}` : ss.dir };
}

export function describeDriver(manifest: string): VulkanDriver {
  let library = '';
  try {
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: unknown } };
    if (typeof json.ICD?.library_path === 'string') library = json.ICD.library_path;
  } catch {
    // An unreadable manifest: named by its file only.
  }
  if (library && (library.startsWith('./') || library.startsWith('../'))) library = resolve(dirname(manifest), library);
  const key = basename(library || manifest);
  const known = DRIVER_NAMES.find(([re]) => re.test(key));
  return { manifest, library: library || '?', software: known?.[2] ?? false, name: known?.[1] ?? key };
}

function manifestsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

function expand(list: string): string[] {
  return list
    .split(':')
    .filter(Boolean)
    .flatMap((p) => (p.endsWith('.json') ? [isAbsolute(p) ? p : resolve(p)] : manifestsIn(p)));
}

/** Where the system's files are looked up (tests point these elsewhere). */
export interface VulkanSystem {
  /** SYSCONFDIR of the loader (default /etc). */
  sysconfDir?: string;
  /** chromium's SwiftShader (default: findSwiftShader(); null = none). */
  swiftShader?: ReturnType<typeof findSwiftShader> | null;
  /** The loader's folder (default: findVulkanLoader(env); null = none). */
  loader?: string | null;
  /** Where a shared library is found (default: findSharedLibrary(name, env)). */
  findLibrary?: (name: string) => string | undefined;
}

/** The driver manifests the loader would use, and whether they were chosen by the user's environment. */
export function vulkanDrivers(env: Env = process.env, sys: VulkanSystem = {}): { drivers: VulkanDriver[]; fromEnv: boolean } {
  const explicit = env['VK_DRIVER_FILES'] || env['VK_ICD_FILENAMES'];
  if (explicit) return { drivers: expand(explicit).map(describeDriver), fromEnv: true };
  const xdgConfig = (env['XDG_CONFIG_DIRS'] || '/etc/xdg').split(':');
  const xdgData = (env['XDG_DATA_DIRS'] || '/usr/local/share:/usr/share').split(':');
  const home = env['HOME'] ? [join(env['HOME'], '.local/share')] : [];
  const dirs = [...xdgConfig, sys.sysconfDir ?? '/etc', ...xdgData, ...home].filter(Boolean).map((d) => join(d, 'vulkan', 'icd.d'));
  const files = [...new Set([...dirs.flatMap(manifestsIn), ...expand(env['VK_ADD_DRIVER_FILES'] ?? '')])];
  return { drivers: files.map(describeDriver), fromEnv: false };
}

export type WebGpuChoice =
  | { ok: true; adapter: string; software: boolean; env: Record<string, string>; /** A missing library the driver needs (driverDependencyHint). */ hint?: string }
  | { ok: false; reason: string };

/**
 * Chooses the Vulkan driver(s) for a WebGPU session. `auto` accepts only hardware drivers; `webgpu`
 * prefers them and otherwise takes SwiftShader (chromium's), then any software driver present.
 * `env` in the result are the variables to set before the first WebGPU session (the driver list).
 */
export function chooseWebGpuDriver(mode: 'auto' | 'webgpu', env: Env = process.env, sys: VulkanSystem = {}): WebGpuChoice {
  if (process.platform !== 'linux') return { ok: true, adapter: `the system's default WebGPU adapter (${process.platform})`, software: false, env: {} };
  const loader = sys.loader === undefined ? findVulkanLoader(env) : sys.loader;
  const ss = sys.swiftShader === undefined ? findSwiftShader() : sys.swiftShader ?? undefined;
  if (!loader) {
    const hint = ss?.hasLoader
      ? `chromium's loader is in ${ss.dir}, but it must be on LD_LIBRARY_PATH when the process starts (the CLI and the extension start their worker that way)`
      : 'install libvulkan1 and a GPU driver with Vulkan support';
    return { ok: false, reason: `no Vulkan loader (${LOADER}) found; ${hint}` };
  }
  const { drivers, fromEnv } = vulkanDrivers(env, sys);
  const hardware = drivers.filter((d) => !d.software);
  const list = (ds: VulkanDriver[]) => ds.map((d) => `${d.name} [${d.manifest}]`).join(', ');
  const use = (ds: VulkanDriver[], software: boolean): WebGpuChoice => {
    const files = ds.map((d) => d.manifest).join(':');
    const set: Record<string, string> = fromEnv ? {} : { VK_DRIVER_FILES: files, VK_ICD_FILENAMES: files };
    const hint = driverDependencyHint(ds, sys.findLibrary ?? ((name) => findSharedLibrary(name, env)));
    return { ok: true, adapter: list(ds), software, env: set, ...(hint ? { hint } : {}) };
  };
  if (hardware.length > 0) return use(hardware, false);
  if (mode === 'auto') {
    const software = [...drivers, ...(ss && !fromEnv ? [describeDriver(ss.manifest)] : [])];
    if (software.length === 0) return { ok: false, reason: 'no Vulkan driver (install your GPU driver with its Vulkan support)' };
    return { ok: false, reason: `no GPU Vulkan driver, only software ones (${list(software)}); auto never picks a software adapter (--device webgpu does)` };
  }
  if (fromEnv) return drivers.length > 0 ? use(drivers, true) : { ok: false, reason: `VK_DRIVER_FILES / VK_ICD_FILENAMES name no readable driver manifest` };
  if (ss) return use([describeDriver(ss.manifest)], true);
  if (drivers.length > 0) return use(drivers, true);
  return { ok: false, reason: 'no Vulkan driver found (no GPU driver with Vulkan support, and no SwiftShader from chromium)' };
}
