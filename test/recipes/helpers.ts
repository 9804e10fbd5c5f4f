// Fixtures for recipe tests: a teacher and a "pruned" student checkpoint (config + sparse weights),
// Megatron dataset prefixes, a fake Model-Optimizer checkout and stub launchers that record argv.

import { chmodSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeFixtureCheckpoint, type FixtureOptions } from '../../src/core/testing/fixtures';

export const TEACHER_DIMS: FixtureOptions = { family: 'nemotron_h', pattern: 'M-M*M-', hiddenSize: 128, mambaHeads: 8, mambaHeadDim: 16, nGroups: 2, intermediateSize: 256, attentionHeads: 4, kvHeads: 2, sparse: true };
export const STUDENT_DIMS: FixtureOptions = { ...TEACHER_DIMS, hiddenSize: 64, mambaHeads: 4, intermediateSize: 128 };

export interface RecipeFixture {
  root: string;
  teacher: string;
  student: string;
  prefixes: string[];
  modelopt: string;
  bin: string;
  argsFile: string;
}

/** Names with spaces, quotes, $, backticks and globs: the scripts must pass them through verbatim. */
export async function makeFixture(opts: { nasty?: boolean; hostile?: boolean; plan?: Record<string, unknown> | false; student?: FixtureOptions } = {}): Promise<RecipeFixture> {
  const root = mkdtempSync(join(tmpdir(), 'hc-recipe-'));
  const n = opts.nasty ?? true;
  // hostile: newlines and command substitutions that would run (creating PWNED-* files in root) if any
  // path reached a script unquoted or ended a comment line.
  const h = opts.hostile === true;
  const teacher = join(root, h ? 'teacher\n$(touch PWNED-teacher)\n' : n ? 'teacher model' : 'teacher');
  const student = join(root, h ? 'student\ntouch PWNED-student\n`touch PWNED-tick`' : n ? `student "it's" $HOME *` : 'student');
  const dataDir = join(root, h ? 'data\n$(touch PWNED-data)' : n ? 'data `x`' : 'data');
  await writeFixtureCheckpoint(teacher, TEACHER_DIMS);
  await writeFixtureCheckpoint(student, opts.student ?? STUDENT_DIMS);
  if (opts.plan !== false) {
    const plan = opts.plan ?? { format: 'hybrid-compress/plan@1', source: 'x', hidden_size: [], layers: [], dropped_layers: [], config_changes: { hidden_size: 64, mamba_num_heads: 4, intermediate_size: 128 } };
    writeFileSync(join(student, 'pruning_plan.json'), JSON.stringify(plan));
  }
  mkdirSync(dataDir, { recursive: true });
  const prefixes = [join(dataDir, 'web_text_document'), join(dataDir, n ? 'code & more_text_document' : 'code_text_document')];
  for (const p of prefixes) {
    writeFileSync(`${p}.bin`, '');
    writeFileSync(`${p}.idx`, '');
  }
  const modelopt = join(root, h ? 'ModelOpt\n$(touch PWNED-modelopt)' : n ? 'Model Optimizer' : 'Model-Optimizer');
  for (const f of ['distill.py', 'prune_minitron.py']) {
    mkdirSync(join(modelopt, 'examples', 'megatron_bridge'), { recursive: true });
    writeFileSync(join(modelopt, 'examples', 'megatron_bridge', f), '# stub\n');
  }
  const bin = join(root, 'bin');
  mkdirSync(bin);
  const argsFile = join(root, 'argv.bin');
  const recorder = `#!/usr/bin/env bash\n{ printf '%s\\0' "$(basename "$0")" "$@"; } > "$HC_ARGS_OUT"\n`;
  for (const tool of ['torchrun', 'srun']) {
    writeFileSync(join(bin, tool), recorder);
    chmodSync(join(bin, tool), 0o755);
  }
  writeFileSync(join(bin, 'python'), '#!/usr/bin/env bash\nexit 0\n');
  writeFileSync(join(bin, 'scontrol'), '#!/usr/bin/env bash\necho node001\necho node002\n');
  chmodSync(join(bin, 'python'), 0o755);
  chmodSync(join(bin, 'scontrol'), 0o755);
  return { root, teacher, student, prefixes, modelopt, bin, argsFile };
}

export interface ScriptRun {
  status: number | null;
  stderr: string;
  /** argv recorded by the stub launcher (first element: its name), or undefined if it was not called. */
  argv?: string[];
}

/** Runs a generated script with the stub launchers first on PATH. */
export function runScript(fx: RecipeFixture, script: string, env: Record<string, string> = {}): ScriptRun {
  const r = spawnSync('bash', [script], {
    env: { PATH: `${fx.bin}:${process.env['PATH']}`, HOME: fx.root, HC_ARGS_OUT: fx.argsFile, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  const argv = existsSync(fx.argsFile) ? readFileSync(fx.argsFile, 'utf8').split('\0').slice(0, -1) : undefined;
  return { status: r.status, stderr: r.stderr, argv };
}

export function bashSyntaxOk(file: string): { ok: boolean; stderr: string } {
  const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

/** The value following `flag` in argv (or all values up to the next --flag when `many`). */
export function argAfter(argv: string[], flag: string, many = false): string | string[] | undefined {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  if (!many) return argv[i + 1];
  const out: string[] = [];
  for (let j = i + 1; j < argv.length && !argv[j]!.startsWith('--'); j++) out.push(argv[j]!);
  return out;
}
