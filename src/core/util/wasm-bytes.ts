// What every hand-assembled WebAssembly kernel here shares (WebAssembly core spec, section 5 "Binary
// Format"): LEB128 integers, names and sections, the few instructions the bodies are written with, a module
// of exported functions over one imported memory, and fixed-size memories.

/** Unsigned LEB128 (spec 5.2.2). */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Signed LEB128 (spec 5.2.2), as i32.const takes: 64 is two bytes (0xc0 0x00), not 0x40 (which reads as −64). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A name: its byte length, then its bytes (ASCII here). */
export const wasmName = (s: string): number[] => [...leb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

/** A section: id, payload size, payload (spec 5.5.2). */
export const wasmSection = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];

/** WebAssembly pages are 64 KiB; the memories here stop at 65535 of them (just under wasm32's 4 GiB). */
export const WASM_PAGE = 65536;
export const MAX_WASM_MEMORY_BYTES = 65535 * WASM_PAGE;

/** The instructions every kernel body here is written with. */
export const ins = {
  get: (i: number): number[] => [0x20, i],
  set: (i: number): number[] => [0x21, i],
  tee: (i: number): number[] => [0x22, i],
  /** i32.const: its operand is signed LEB128. */
  i32: (v: number): number[] => [0x41, ...sleb(v)],
  /** An instruction of the SIMD (0xfd) prefix. */
  simd: (op: number): number[] => [0xfd, ...leb(op)],
};

/** Opcodes of the SIMD instructions the kernels use (after the 0xfd prefix; spec 5.4.8). */
export const SIMD = {
  V128_LOAD: 0x00,
  V128_STORE: 0x0b,
  I8X16_SHUFFLE: 0x0d,
  F64X2_SPLAT: 0x14,
  F64X2_EXTRACT_LANE: 0x21,
  V128_STORE64_LANE: 0x5b,
  V128_LOAD64_ZERO: 0x5d,
  F32X4_DEMOTE_F64X2_ZERO: 0x5e,
  F64X2_PROMOTE_LOW_F32X4: 0x5f,
  I32X4_EXTEND_LOW_I16X8_U: 0xa9,
  I32X4_EXTEND_HIGH_I16X8_U: 0xaa,
  I32X4_SHL: 0xab,
  F64X2_SQRT: 0xef,
  F64X2_ADD: 0xf0,
  F64X2_SUB: 0xf1,
  F64X2_MUL: 0xf2,
  F64X2_DIV: 0xf3,
} as const;

export interface KernelFunction {
  name: string;
  /** Value types of the parameters (0x7f i32, 0x7c f64, …). */
  params: number[];
  /** Value types of the results (default none). */
  results?: number[];
  /** The function's code: size, locals and instructions (spec 5.5.13). */
  body: number[];
}

/** A module of exported functions over one memory imported as "e"."m" (any size, growable or not). */
export function kernelModuleBytes(fns: readonly KernelFunction[]): Uint8Array<ArrayBuffer> {
  // One type per distinct signature.
  const key = (f: KernelFunction) => `${f.params.join(',')}>${(f.results ?? []).join(',')}`;
  const types = [...new Map(fns.map((f) => [key(f), f])).values()];
  const typeOf = (f: KernelFunction) => types.findIndex((t) => key(t) === key(f));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...wasmSection(1, [...leb(types.length), ...types.flatMap((f) => [0x60, ...leb(f.params.length), ...f.params, ...leb((f.results ?? []).length), ...(f.results ?? [])])]),
    ...wasmSection(2, [1, ...wasmName('e'), ...wasmName('m'), 0x02, 0x00, 0x00]),
    ...wasmSection(3, [...leb(fns.length), ...fns.flatMap((f) => leb(typeOf(f)))]),
    ...wasmSection(7, [...leb(fns.length), ...fns.flatMap((f, i) => [...wasmName(f.name), 0x00, ...leb(i)])]),
    ...wasmSection(10, [...leb(fns.length), ...fns.flatMap((f) => f.body)]),
  ]);
}

/** The module of `fns()`, compiled on first use; undefined when this engine rejects it (no SIMD, say). */
export function lazyKernelModule(fns: () => readonly KernelFunction[]): () => WebAssembly.Module | undefined {
  let module: WebAssembly.Module | null | undefined;
  return () => {
    if (module === undefined) {
      try {
        module = new WebAssembly.Module(kernelModuleBytes(fns()));
      } catch {
        module = null;
      }
    }
    return module ?? undefined;
  };
}

/**
 * A memory of `bytes` (rounded up to pages) that never grows — growing would detach the views callers
 * and ONNX Runtime hold — or undefined past MAX_WASM_MEMORY_BYTES or when the address space is refused.
 */
export function fixedMemory(bytes: number): WebAssembly.Memory | undefined {
  if (bytes > MAX_WASM_MEMORY_BYTES) return undefined;
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch {
    return undefined;
  }
}
