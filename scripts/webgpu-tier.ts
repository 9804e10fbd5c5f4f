// The WebGPU test tier: test/webgpu/*.webgpu.ts with node's test runner, on whatever WebGPU adapter this
// machine has — on a machine without a GPU, SwiftShader, the software Vulkan driver Debian's chromium
// ships (scripts/e2e-setup.sh installs chromium). It fails, never skips, when WebGPU cannot be set up.
//
// Usage: npm run test:webgpu   (builds dist/ first: the CLI tests run dist/cli.js)
// The test processes start with the Vulkan loader on their library path exactly as the CLI's worker
// gets it (util/vulkan.ts workerVulkanEnv); the CLI tests themselves start from a plain environment.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { chooseWebGpuDriver, workerVulkanEnv } from '../src/core/util/vulkan';

const root = resolve(__dirname, '..');
const env = { ...process.env, ...workerVulkanEnv() };
const choice = chooseWebGpuDriver('webgpu', env);
if (!choice.ok) {
  console.error(`webgpu tier: WebGPU cannot be set up here: ${choice.reason}.\nOn Debian: bash scripts/e2e-setup.sh (installs chromium, which ships SwiftShader), or install a GPU driver with Vulkan support.`);
  process.exit(1);
}
console.log(`webgpu tier: Vulkan driver ${choice.adapter}${env.LD_LIBRARY_PATH ? `; LD_LIBRARY_PATH=${env.LD_LIBRARY_PATH}` : ''}`);
const dir = join(root, 'test', 'webgpu');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.webgpu.ts'))
  .sort()
  .map((f) => join(dir, f));
const t0 = Date.now();
// One file at a time: each compiles its shaders on the CPU (SwiftShader) and would only compete.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env, cwd: root });
console.log(`webgpu tier: ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s (load ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`);
process.exit(r.status ?? 1);
