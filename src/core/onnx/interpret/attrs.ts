// Attribute accessors for evaluators and VJP rules (defaults as the ONNX spec gives them).

import type { Node, TensorValue } from '../types';

export function attrInt(n: Node, name: string, def: number): number {
  const a = n.attrs[name];
  if (!a) return def;
  if (a.kind !== 'int') throw new Error(`${n.op} ${n.name}: attribute ${name} is ${a.kind}, expected int`);
  return a.value;
}

export function attrFloat(n: Node, name: string, def: number): number {
  const a = n.attrs[name];
  if (!a) return def;
  if (a.kind !== 'float') throw new Error(`${n.op} ${n.name}: attribute ${name} is ${a.kind}, expected float`);
  return a.value;
}

export function attrInts(n: Node, name: string): number[] | undefined {
  const a = n.attrs[name];
  if (!a) return undefined;
  if (a.kind !== 'ints') throw new Error(`${n.op} ${n.name}: attribute ${name} is ${a.kind}, expected ints`);
  return a.value;
}

export function attrString(n: Node, name: string, def: string): string {
  const a = n.attrs[name];
  if (!a) return def;
  if (a.kind !== 'string') throw new Error(`${n.op} ${n.name}: attribute ${name} is ${a.kind}, expected string`);
  return a.value;
}

export function attrTensor(n: Node, name: string): TensorValue | undefined {
  const a = n.attrs[name];
  if (!a) return undefined;
  if (a.kind !== 'tensor') throw new Error(`${n.op} ${n.name}: attribute ${name} is ${a.kind}, expected tensor`);
  return a.value;
}
