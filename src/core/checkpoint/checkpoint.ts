// A Hugging Face checkpoint folder: config.json + model.safetensors or a sharded index, plus tokenizer
// files. Opening reads only config.json and the safetensors headers; tensor data is read on demand.
// Pickled PyTorch files are never opened.

import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { HybridCompressError } from '../errors';
import { readConfigText, type ConfigText } from '../arch/config-codec';
import { SafetensorsFile } from '../safetensors/reader';
import { readRegularFile } from '../util/regular-file';
import { buildSpec, validateTensors, type HybridModelSpec } from '../arch/index';

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'] as const;
const PICKLE_RE = /^(pytorch_model.*\.bin|.*\.pt|.*\.pth|.*\.ckpt|.*\.pkl|training_args\.bin)$/;

export interface CheckpointTensor {
  name: string;
  /** Absolute path of the safetensors file holding it (inside the checkpoint folder). */
  file: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offset of the data in `file`. */
  fileOffset: number;
  byteLength: number;
}

export interface WeightFile {
  /** Name relative to the checkpoint folder. */
  name: string;
  path: string;
  size: number;
  /** A symlink (as in the Hugging Face cache); ORT refuses external data behind links that leave the folder. */
  isSymlink: boolean;
}

export class Checkpoint {
  private readonly files = new Map<string, SafetensorsFile>();

  constructor(
    readonly dir: string,
    readonly config: Record<string, unknown>,
    /** config.json as read, so writers can keep what they do not change byte-for-byte. */
    readonly configText: ConfigText,
    readonly spec: HybridModelSpec,
    readonly tensors: ReadonlyMap<string, CheckpointTensor>,
    readonly weightFiles: WeightFile[],
    readonly sharded: boolean,
    readonly tokenizerFiles: string[],
    safetensors: SafetensorsFile[],
  ) {
    for (const f of safetensors) this.files.set(f.path, f);
  }

  /** Sum of the weight files' sizes (apparent size; sparse files count in full). */
  get bytesOnDisk(): number {
    return this.weightFiles.reduce((s, f) => s + f.size, 0);
  }

  /** dtype → parameter count, over the tensors in the files. */
  dtypeCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tensors.values()) out[t.dtype] = (out[t.dtype] ?? 0) + t.shape.reduce((a, b) => a * b, 1);
    return out;
  }

  tensor(name: string): CheckpointTensor {
    const t = this.tensors.get(name);
    if (!t) throw new HybridCompressError('CHECKPOINT_INVALID', `${this.dir}: no tensor "${name}"`, { file: this.dir, tensor: name });
    return t;
  }

  fileOf(name: string): SafetensorsFile {
    return this.files.get(this.tensor(name).file)!;
  }

  /** The tensor as float32, in a new array or in `into` (see SafetensorsFile.readFloat32). */
  readFloat32(name: string, into?: Float32Array): Promise<Float32Array> {
    return this.fileOf(name).readFloat32(name, into);
  }

  readBytes(name: string, start?: number, end?: number): Promise<Uint8Array> {
    return this.fileOf(name).readBytes(name, start, end);
  }

  readRowsFloat32(name: string, rowStart: number, rowCount: number): Promise<Float32Array> {
    return this.fileOf(name).readRowsFloat32(name, rowStart, rowCount);
  }

  async close(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.close()));
  }
}

/** Reads config.json (bare or tagged non-finite floats; see arch/config-codec). */
export function readConfig(path: string): Record<string, unknown> {
  return readConfigText(path).values;
}

/** Accepts the checkpoint folder, or its config.json / a .safetensors file / the index inside it. */
export function resolveCheckpointDir(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new HybridCompressError('CHECKPOINT_INVALID', `${abs}: no such file or folder`, { file: abs });
  return statSync(abs).isDirectory() ? abs : dirname(abs);
}

function pickleError(dir: string, files: string[]): HybridCompressError {
  return new HybridCompressError(
    'UNSAFE_FORMAT',
    `${dir}: weights are only in pickled PyTorch files (${files.slice(0, 3).join(', ')}), which can run arbitrary code when loaded and are never opened by this tool; convert them once to safetensors in a trusted environment, e.g. \`python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('${dir}').save_pretrained('OUT', safe_serialization=True)"\``,
    { file: join(dir, files[0]!) },
  );
}

function checkInside(dir: string, rel: string, indexPath: string, tensor: string): string {
  // "" and "." would name the folder itself.
  const norm = normalize(rel);
  if (rel === '' || norm === '.' || isAbsolute(rel) || rel.includes('\\') || norm.split(sep).includes('..') || rel.startsWith('/')) {
    throw new HybridCompressError('CHECKPOINT_INVALID', `${indexPath}: weight_map entry for "${tensor}" points to "${rel}", outside the checkpoint folder; entries must be file names inside ${dir}`, {
      file: indexPath,
      tensor,
    });
  }
  return join(dir, rel);
}

export interface OpenOptions {
  /** Skip the tensors-vs-config check (used by tools that repair checkpoints). */
  skipValidation?: boolean;
}

export async function openCheckpoint(path: string, options: OpenOptions = {}): Promise<Checkpoint> {
  const dir = resolveCheckpointDir(path);
  const entries = readdirSync(dir);
  const configPath = join(dir, 'config.json');
  const pickles = entries.filter((f) => PICKLE_RE.test(f));
  const hasSingle = entries.includes('model.safetensors');
  const hasIndex = entries.includes('model.safetensors.index.json');
  if (!entries.includes('config.json')) {
    if (pickles.length > 0 && !hasSingle && !hasIndex) throw pickleError(dir, pickles);
    throw new HybridCompressError('CHECKPOINT_INVALID', `${dir}: no config.json (a checkpoint folder holds config.json plus model.safetensors or model.safetensors.index.json)`, { file: configPath });
  }
  if (!hasSingle && !hasIndex) {
    if (pickles.length > 0) throw pickleError(dir, pickles);
    throw new HybridCompressError('CHECKPOINT_INVALID', `${dir}: no model.safetensors or model.safetensors.index.json next to config.json`, { file: dir });
  }
  const configText = readConfigText(configPath);
  const config = configText.values;

  const shardNames: string[] = [];
  let weightMap: Record<string, string> | undefined;
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (hasIndex) {
    let idx: unknown;
    const indexText = readRegularFile(indexPath, 'utf8', 'index');
    try {
      idx = JSON.parse(indexText);
    } catch (e) {
      throw new HybridCompressError('CHECKPOINT_INVALID', `${indexPath}: not valid JSON (${(e as Error).message})`, { file: indexPath });
    }
    const wm = (idx as { weight_map?: unknown } | null)?.weight_map;
    if (!wm || typeof wm !== 'object' || Array.isArray(wm)) throw new HybridCompressError('CHECKPOINT_INVALID', `${indexPath}: missing "weight_map" object`, { file: indexPath });
    weightMap = {};
    for (const [t, f] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof f !== 'string') throw new HybridCompressError('CHECKPOINT_INVALID', `${indexPath}: weight_map entry for "${t}" must be a file name`, { file: indexPath, tensor: t });
      checkInside(dir, f, indexPath, t);
      weightMap[t] = f;
      if (!shardNames.includes(f)) shardNames.push(f);
    }
    shardNames.sort();
  } else shardNames.push('model.safetensors');

  const files: SafetensorsFile[] = [];
  const weightFiles: WeightFile[] = [];
  const tensors = new Map<string, CheckpointTensor>();
  for (const name of shardNames) {
    const p = join(dir, name);
    if (!existsSync(p)) throw new HybridCompressError('CHECKPOINT_INVALID', `${indexPath}: shard "${name}" listed in weight_map does not exist`, { file: p });
    const st = SafetensorsFile.open(p);
    files.push(st);
    weightFiles.push({ name, path: p, size: st.fileSize, isSymlink: lstatSync(p).isSymbolicLink() });
    for (const t of st.header.tensors) {
      if (tensors.has(t.name)) throw new HybridCompressError('CHECKPOINT_INVALID', `${p}: tensor "${t.name}" also appears in ${basename(tensors.get(t.name)!.file)}`, { file: p, tensor: t.name });
      if (weightMap && weightMap[t.name] !== name) {
        throw new HybridCompressError('CHECKPOINT_INVALID', `${indexPath}: tensor "${t.name}" is in ${name} but weight_map says ${weightMap[t.name] ?? '(not listed)'}`, { file: indexPath, tensor: t.name });
      }
      tensors.set(t.name, { name: t.name, file: p, dtype: t.dtype, shape: t.shape, fileOffset: t.fileOffset, byteLength: t.byteLength });
    }
  }
  if (weightMap) {
    for (const t of Object.keys(weightMap)) {
      if (!tensors.has(t)) throw new HybridCompressError('CHECKPOINT_INVALID', `${indexPath}: weight_map lists "${t}" but ${weightMap[t]} does not contain it`, { file: indexPath, tensor: t });
    }
  }

  let spec: HybridModelSpec;
  try {
    spec = buildSpec(config, tensors);
  } catch (e) {
    if (e instanceof HybridCompressError && e.context.file === 'config.json') {
      throw new HybridCompressError(e.code, e.message.replace(/^config\.json/, configPath), { ...e.context, file: configPath });
    }
    throw e;
  }
  if (!options.skipValidation) validateTensors(spec, tensors, dir);
  const tokenizerFiles = TOKENIZER_FILES.filter((f) => entries.includes(f));
  return new Checkpoint(dir, config, configText, spec, tensors, weightFiles, hasIndex, tokenizerFiles, files);
}

/** Cheap test for the extension's discovery: config.json plus safetensors weights. */
export function isCheckpointDir(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && (existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')));
}

const SKIP_DIRS = new Set(['node_modules', '.git', '.hybrid-compress', 'dist', '.cache', '__pycache__']);

/** Checkpoint folders under `root` (depth-limited walk, skipping build/VCS folders). */
export function findCheckpoints(root: string, maxDepth = 6): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    let ents: import('node:fs').Dirent[];
    try {
      ents = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    if (isCheckpointDir(d)) out.push(d);
    if (depth >= maxDepth) return;
    for (const e of ents) if (e.isDirectory() && !SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(join(d, e.name), depth + 1);
  };
  walk(resolve(root), 0);
  return out.sort();
}
