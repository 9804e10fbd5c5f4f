// Symbolic dimension arithmetic for shape inference. A symbolic dim is a product of named factors with an
// optional integer coefficient, written canonically ("batch*seq", "4*batch"), so that a Reshape to
// [-1, D] of a [batch, seq, D] value infers "batch*seq" and the reverse Reshape infers back.

import type { Dim, Shape } from './types';

interface Monomial {
  coef: number;
  syms: string[]; // sorted
}

function parse(d: Dim): Monomial {
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else syms.push(part);
  }
  syms.sort();
  return { coef, syms };
}

function format(m: Monomial): Dim {
  if (m.syms.length === 0) return m.coef;
  if (m.coef === 0) return 0;
  return (m.coef === 1 ? [] : [String(m.coef)]).concat(m.syms).join('*');
}

export function mulDims(a: Dim, b: Dim): Dim {
  const x = parse(a);
  const y = parse(b);
  return format({ coef: x.coef * y.coef, syms: [...x.syms, ...y.syms].sort() });
}

/** a / b when it is exact (numbers dividing, symbols cancelling); undefined otherwise. */
export function divDims(a: Dim, b: Dim): Dim | undefined {
  const x = parse(a);
  const y = parse(b);
  if (y.coef === 0 || x.coef % y.coef !== 0) return undefined;
  const rest = x.syms.slice();
  for (const s of y.syms) {
    const i = rest.indexOf(s);
    if (i < 0) return undefined;
    rest.splice(i, 1);
  }
  return format({ coef: x.coef / y.coef, syms: rest });
}

export function numelOf(shape: readonly Dim[]): Dim {
  let n: Dim = 1;
  for (const d of shape) n = mulDims(n, d);
  return n;
}

export function dimsEqual(a: Dim, b: Dim): boolean {
  return format(parse(a)) === format(parse(b));
}

export function isStatic(shape: readonly Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

/** True for dims shape inference could not name (never written into the model). */
export function isUnknownDim(d: Dim): boolean {
  return typeof d === 'string' && d.includes('?');
}

/**
 * Numpy broadcasting. With symbolic dims: 1 yields to anything, equal dims stay, a number beats a
 * symbol (the symbol must be 1 or equal), two different symbols give the first (ONNX would check at run time).
 */
export function broadcastShapes(shapes: readonly Shape[]): Shape {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = i - (rank - s.length);
      if (k < 0) continue;
      const e = s[k]!;
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (dimsEqual(d, e)) continue;
      else if (typeof e === 'number' && typeof d === 'number') throw new Error(`cannot broadcast shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')}`);
      else if (typeof e === 'number') d = e;
    }
    out.push(d);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function shapeToString(s: readonly Dim[]): string {
  return `[${s.join(', ')}]`;
}

// ---- shape inference shared by the graph builder (symbolic dims) and autodiff/specialize.ts (numbers) ----

/** Output shape of MatMul / FusedMatMul (numpy matmul semantics, batch dims broadcast). */
export function matmulShape(a: Shape, b: Shape, transA: boolean, transB: boolean): Shape {
  if (a.length < 1 || b.length < 1) throw new Error('MatMul operands must have rank ≥ 1');
  const A = a.length === 1 ? [1, a[0]!] : a.slice();
  const B = b.length === 1 ? [b[0]!, 1] : b.slice();
  if (transA) [A[A.length - 2], A[A.length - 1]] = [A[A.length - 1]!, A[A.length - 2]!];
  if (transB) [B[B.length - 2], B[B.length - 1]] = [B[B.length - 1]!, B[B.length - 2]!];
  const k1 = A[A.length - 1]!;
  const k2 = B[B.length - 2]!;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) throw new Error(`MatMul inner dims differ: ${shapeToString(a)} @ ${shapeToString(b)}`);
  const batch = broadcastShapes([A.slice(0, -2), B.slice(0, -2)]);
  const out = [...batch, A[A.length - 2]!, B[B.length - 1]!];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

/** Output shape of an Einsum with explicit output subscripts (no ellipsis). */
export function einsumShape(eq: string, shapes: Shape[]): Shape {
  const [lhs, rhs] = eq.replace(/\s+/g, '').split('->');
  if (rhs === undefined) throw new Error(`Einsum "${eq}": write the output subscripts explicitly (…->…)`);
  if (eq.includes('.')) throw new Error(`Einsum "${eq}": ellipsis is not supported by the builder`);
  const terms = lhs!.split(',');
  if (terms.length !== shapes.length) throw new Error(`Einsum "${eq}": ${terms.length} terms for ${shapes.length} inputs`);
  const size = new Map<string, Dim>();
  terms.forEach((t, i) => {
    if (t.length !== shapes[i]!.length) throw new Error(`Einsum "${eq}": term ${t} for shape ${shapeToString(shapes[i]!)}`);
    [...t].forEach((c, k) => {
      const d = shapes[i]![k]!;
      const prev = size.get(c);
      if (prev === undefined || prev === 1) size.set(c, d);
    });
  });
  return [...rhs].map((c) => {
    const d = size.get(c);
    if (d === undefined) throw new Error(`Einsum "${eq}": output subscript ${c} is not in any input`);
    return d;
  });
}
