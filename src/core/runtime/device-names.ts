// The devices an engine job can run on: names only, no imports at all, so the webviews' bundles can take
// them too (devices.ts holds the options, which need node:os).

/** `webgpu-f16`: WebGPU with float16 products (provider-graph.ts), on adapters with shader-f16. */
export const DEVICES = ['auto', 'cpu', 'webgpu', 'webgpu-f16', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];
export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';
