// How the GPU providers are set up without a GPU: the Vulkan driver choice for WebGPU (auto takes only
// hardware drivers, webgpu falls back to chromium's SwiftShader and says so), the worker's loader path,
// and CUDA's missing-library report (provider libraries, then the CUDA/cuDNN/driver libraries the
// provider links), on fake driver manifests and library folders.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { chooseWebGpuDriver, describeDriver, vulkanDrivers, workerVulkanEnv } from '../../src/core/util/vulkan';
import { cudaUnavailableReason, elfNeeded } from '../../src/core/runtime/cuda';
import { createSession, providerUnavailableReason } from '../../src/core/runtime/session';
import { GraphBuilder } from '../../src/core/onnx/index';
import { HybridCompressError } from '../../src/core/errors';

let root: string;
let sysconf: string;
const icd = (dir: string, name: string, library: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: library, api_version: '1.3.0' } }));
  return join(dir, name);
};

before(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-gpu-setup-'));
  sysconf = join(root, 'etc');
});
after(() => rmSync(root, { recursive: true, force: true }));

// An environment with nothing from the real machine: no XDG dirs with drivers, a fake sysconf dir.
function env(extra: Record<string, string> = {}): Record<string, string> {
  return { XDG_CONFIG_DIRS: join(root, 'none'), XDG_DATA_DIRS: join(root, 'none'), HOME: join(root, 'home'), ...extra };
}

test('driver manifests are named and classified; relative library paths resolve against the manifest', () => {
  const d = icd(join(root, 'chromium'), 'vk_swiftshader_icd.json', './libvk_swiftshader.so');
  const ss = describeDriver(d);
  assert.equal(ss.software, true);
  assert.equal(ss.library, join(root, 'chromium', 'libvk_swiftshader.so'));
  assert.match(ss.name, /SwiftShader/);
  assert.equal(describeDriver(icd(join(root, 'x'), 'nvidia_icd.json', 'libGLX_nvidia.so.0')).software, false);
  assert.equal(describeDriver(icd(join(root, 'x'), 'lvp_icd.x86_64.json', '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so')).software, true);
  assert.equal(describeDriver(icd(join(root, 'x'), 'radeon_icd.x86_64.json', '/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so')).name, 'AMD (Mesa RADV)');
});

test('auto takes only hardware Vulkan drivers and pins the loader to them; webgpu falls back to SwiftShader', () => {
  const chromium = join(root, 'chromium');
  const ssManifest = icd(chromium, 'vk_swiftshader_icd.json', './libvk_swiftshader.so');
  const swiftShader = { dir: chromium, manifest: ssManifest, hasLoader: true };
  const sys = { sysconfDir: sysconf, swiftShader, loader: '/usr/lib' };

  // No GPU driver, only lavapipe installed system-wide.
  const lvp = icd(join(sysconf, 'vulkan', 'icd.d'), 'lvp_icd.x86_64.json', 'libvulkan_lvp.so');
  const auto = chooseWebGpuDriver('auto', env(), sys);
  assert.equal(auto.ok, false);
  assert.match(!auto.ok ? auto.reason : '', /no GPU Vulkan driver, only software ones \(lavapipe.*SwiftShader.*\); auto never picks a software adapter/);
  const explicit = chooseWebGpuDriver('webgpu', env(), sys);
  assert.ok(explicit.ok);
  assert.equal(explicit.software, true);
  assert.match(explicit.adapter, /SwiftShader/);
  assert.deepEqual(explicit.env, { VK_DRIVER_FILES: ssManifest, VK_ICD_FILENAMES: ssManifest }, 'the loader gets SwiftShader only (not lavapipe)');

  // A GPU driver appears: both modes take it, and only it.
  const nv = icd(join(sysconf, 'vulkan', 'icd.d'), 'nvidia_icd.json', 'libGLX_nvidia.so.0');
  for (const mode of ['auto', 'webgpu'] as const) {
    const c = chooseWebGpuDriver(mode, env(), sys);
    assert.ok(c.ok, mode);
    assert.equal(c.software, false);
    assert.match(c.adapter, /^NVIDIA \[/);
    assert.deepEqual(c.env, { VK_DRIVER_FILES: nv, VK_ICD_FILENAMES: nv });
  }
  assert.deepEqual(vulkanDrivers(env(), sys).drivers.map((d) => d.manifest).sort(), [lvp, nv].sort());
  // NVIDIA's driver without glvnd's dispatch library: the choice stands, with a hint naming the library.
  const noGlvnd = chooseWebGpuDriver('webgpu', env(), { ...sys, findLibrary: () => undefined });
  assert.match(noGlvnd.ok ? (noGlvnd.hint ?? '') : '', /libGLX_nvidia\.so\.0\) needs glvnd's libGLdispatch\.so\.0, which is not on the library path \(Debian\/Ubuntu: apt install libglvnd0/);
  const withGlvnd = chooseWebGpuDriver('webgpu', env(), { ...sys, findLibrary: (name) => (name === 'libGLdispatch.so.0' ? '/usr/lib' : undefined) });
  assert.equal(withGlvnd.ok && withGlvnd.hint, undefined);
  assert.equal(explicit.ok && explicit.hint, undefined, 'SwiftShader needs no glvnd');

  // The user's VK_ICD_FILENAMES is respected (never rewritten); auto still refuses a software-only list.
  const userSs = chooseWebGpuDriver('webgpu', env({ VK_ICD_FILENAMES: ssManifest }), sys);
  assert.ok(userSs.ok && userSs.software);
  assert.deepEqual(userSs.ok ? userSs.env : undefined, {});
  assert.equal(chooseWebGpuDriver('auto', env({ VK_ICD_FILENAMES: ssManifest }), sys).ok, false);
  const userNv = chooseWebGpuDriver('auto', env({ VK_DRIVER_FILES: `${nv}:${ssManifest}` }), sys);
  assert.ok(userNv.ok && !userNv.software);

  // No loader at all: a reason that says where chromium's is and why it is not used in-process.
  const noLoader = chooseWebGpuDriver('webgpu', env(), { ...sys, loader: null });
  assert.match(!noLoader.ok ? noLoader.reason : '', /no Vulkan loader \(libvulkan\.so\.1\).*chromium's loader is in .*LD_LIBRARY_PATH when the process starts/);
  // Nothing usable for webgpu either.
  rmSync(join(sysconf, 'vulkan'), { recursive: true });
  const nothing = chooseWebGpuDriver('webgpu', env(), { ...sys, swiftShader: null });
  assert.match(!nothing.ok ? nothing.reason : '', /no Vulkan driver found/);
});

test("the worker gets chromium's loader folder on LD_LIBRARY_PATH only when no loader is on the library path", (t) => {
  const withLoader = join(root, 'loader');
  mkdirSync(withLoader, { recursive: true });
  writeFileSync(join(withLoader, 'libvulkan.so.1'), '');
  assert.deepEqual(workerVulkanEnv({ LD_LIBRARY_PATH: withLoader }), {}, 'a loader on LD_LIBRARY_PATH: nothing to add');
  const added = workerVulkanEnv({ LD_LIBRARY_PATH: '/nonexistent' });
  if (Object.keys(added).length === 0) {
    t.diagnostic('a system Vulkan loader (or no chromium) here: nothing to add, as intended');
    return;
  }
  assert.match(added['LD_LIBRARY_PATH']!, /^\/nonexistent:\/usr\/lib.*chromium/);
});

const bin = dirname(createRequire(__filename).resolve('onnxruntime-node/package.json'));
const ortBin = join(bin, 'bin', 'napi-v6', 'linux', 'x64');

test('ELF DT_NEEDED entries are read like readelf -d shows them', () => {
  assert.deepEqual(elfNeeded(join(ortBin, 'onnxruntime_binding.node')).slice(0, 2), ['libonnxruntime.so.1', 'libstdc++.so.6']);
});

test('CUDA: a missing provider library, then a library the provider links, is named', () => {
  const fake = join(root, 'ortbin');
  mkdirSync(fake, { recursive: true });
  assert.match(cudaUnavailableReason(fake, {})!, /libonnxruntime_providers_shared\.so and libonnxruntime_providers_cuda\.so are not in .*Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0.*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  writeFileSync(join(fake, 'libonnxruntime_providers_shared.so'), '');
  assert.match(cudaUnavailableReason(fake, {})!, /^libonnxruntime_providers_cuda\.so is not in /);
  // A stand-in provider that links libonnxruntime.so.1 (not in the fake folder nor on the library path).
  copyFileSync(join(ortBin, 'onnxruntime_binding.node'), join(fake, 'libonnxruntime_providers_cuda.so'));
  const why = cudaUnavailableReason(fake, {})!;
  assert.match(why, /the CUDA provider is installed but the dynamic linker cannot find libonnxruntime\.so\.1 \(a library the provider links\)/);
  assert.doesNotMatch(why, /libstdc\+\+/, 'system libraries are found');
  // With the folder that holds it on LD_LIBRARY_PATH it is found; libcuda.so.1 (the driver) remains unless installed.
  const rest = cudaUnavailableReason(fake, { LD_LIBRARY_PATH: ortBin });
  if (rest) assert.match(rest, /^the CUDA provider is installed but the dynamic linker cannot find libcuda\.so\.1 \(the NVIDIA driver\)/);
});

test('--device cuda without the provider is a typed error naming the missing library, not a crash', async (t) => {
  const why = providerUnavailableReason('cuda');
  if (!why) {
    t.diagnostic('the CUDA provider looks loadable here');
    return;
  }
  const g = new GraphBuilder('tiny');
  g.output(g.mul(g.input('x', 'float32', [2]), 3), 'y');
  await assert.rejects(createSession(g.build(), { device: 'cuda' }), (e: unknown) => e instanceof HybridCompressError && e.code === 'RUNTIME_ERROR' && e.message.startsWith('--device cuda: ') && /lib(onnxruntime_providers_\w+|cu\w+)\.so/.test(e.message) && e.message.includes(why));
});
