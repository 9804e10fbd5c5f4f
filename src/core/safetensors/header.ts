// Parsing and validation of a safetensors header, following the rules of the reference
// implementation (huggingface/safetensors): every violation becomes a SafetensorsError naming
// the file, the tensor and the rule. Nothing here allocates more than the (bounded) header itself.

import { SafetensorsError } from '../errors';
import { JsonSyntaxError, parseJson } from '../util/json';
import { byteSpan, isKnownDtype } from './dtype';

/** Largest header the reference implementation accepts. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Offsets relative to the start of the data buffer (end exclusive). */
  begin: number;
  end: number;
  /** Absolute position of the first byte in the file: 8 + headerLength + begin. */
  fileOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  headerLength: number;
  /** Absolute offset of the data buffer (8 + headerLength). */
  dataStart: number;
  metadata: Record<string, string>;
  /** Tensors in data order (ascending begin). */
  tensors: TensorInfo[];
}

/** Reads the header length from the first 8 bytes and checks it against the file size. */
export function checkHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new SafetensorsError(file, 'header-too-small', `file is ${fileSize} bytes; a safetensors file starts with an 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, 'header-too-large', `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new SafetensorsError(file, 'header-length-exceeds-file', `header length ${len} runs past the end of the ${fileSize}-byte file`);
  }
  return len;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates the header JSON. `fileSize` is used to check that the buffer ends at EOF. */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = headerBytes.byteLength;
  let text: string;
  try {
    text = decoder.decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, 'header-utf8', 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError(file, 'header-start', 'header must start with "{"');
  }
  let json: unknown;
  try {
    // The space padding needs no trimming: the parser accepts trailing whitespace (and a regex trim
    // would be quadratic on long inner runs of spaces).
    json = parseJson(text, { rejectDuplicateKeys: true });
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      // A repeated top-level key is a duplicate tensor; a repeated key inside an entry is just bad JSON.
      if (e.duplicateKey?.depth === 1) throw new SafetensorsError(file, 'duplicate-tensor', 'tensor name appears twice in the header', e.duplicateKey.key);
      throw new SafetensorsError(file, 'header-json', `header is not valid JSON (${e.message})`);
    }
    throw e;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError(file, 'header-not-object', 'header must be a JSON object of tensor entries');
  }

  const dataStart = 8 + headerLength;
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        throw new SafetensorsError(file, 'metadata-invalid', '__metadata__ must be an object of string values');
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') {
          throw new SafetensorsError(file, 'metadata-invalid', `__metadata__ value of "${k}" must be a string, got ${typeof v}`);
        }
        metadata[k] = v;
      }
      continue;
    }
    tensors.push(parseEntry(file, name, entry, dataStart));
  }

  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const t of tensors) {
    if (t.begin !== expected) {
      const rule = t.begin > expected ? 'offsets-hole' : 'offsets-overlap';
      const what = t.begin > expected ? `leaves a hole: data starts at ${t.begin} but the previous tensor ended at ${expected}` : `overlaps the previous tensor (starts at ${t.begin}, previous ended at ${expected})`;
      throw new SafetensorsError(file, rule, what, t.name);
    }
    expected = t.end;
  }
  if (dataStart + expected !== fileSize) {
    throw new SafetensorsError(
      file,
      'buffer-eof',
      `tensor data ends at byte ${dataStart + expected} but the file has ${fileSize} bytes (the buffer must end exactly at EOF)`,
    );
  }
  return { headerLength, dataStart, metadata, tensors };
}

function parseEntry(file: string, name: string, entry: unknown, dataStart: number): TensorInfo {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new SafetensorsError(file, 'entry-not-object', 'header entry must be an object with dtype, shape and data_offsets', name);
  }
  const e = entry as Record<string, unknown>;
  const dtype = e['dtype'];
  if (typeof dtype !== 'string' || !isKnownDtype(dtype)) {
    throw new SafetensorsError(file, 'dtype-unknown', `unknown dtype ${JSON.stringify(dtype)} (valid: F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_*, C64)`, name);
  }
  const shape = e['shape'];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new SafetensorsError(file, 'shape-invalid', `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`, name);
  }
  const offsets = e['data_offsets'];
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    throw new SafetensorsError(file, 'offsets-invalid', `data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`, name);
  }
  const [begin, end] = offsets as [number, number];
  let numel = 1n;
  for (const d of shape as number[]) numel *= BigInt(d);
  const span = byteSpan(dtype, numel);
  if (span === undefined || span !== BigInt(end - begin)) {
    throw new SafetensorsError(
      file,
      'size-mismatch',
      `shape ${JSON.stringify(shape)} of ${dtype} needs ${span ?? 'a non-integral number of'} bytes but data_offsets span ${end - begin}`,
      name,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end, fileOffset: dataStart + begin, byteLength: end - begin };
}
