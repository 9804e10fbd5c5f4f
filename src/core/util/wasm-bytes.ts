// The few encodings every hand-assembled WebAssembly module here needs (WebAssembly core spec,
// section 5 "Binary Format"): unsigned LEB128 integers, length-prefixed names and sections.

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
