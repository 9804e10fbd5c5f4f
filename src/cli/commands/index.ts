// Registry of CLI commands, loaded lazily so that `inspect` does not pay for the engine's modules.
// Add one entry per command (its module exports a Command).
import type { Command } from '../command';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'inspect', summary: 'Describe a checkpoint: family, layer pattern, dimensions, parameters per component, size, tokenizer', load: async () => (await import('./inspect')).inspectCommand },
  { name: 'eval', summary: 'LM loss, perplexity and tokens/s of a model on a data file', load: async () => (await import('./eval')).evalCommand },
  { name: 'generate', summary: 'Greedy continuation of a prompt', load: async () => (await import('./generate')).generateCommand },
  { name: 'calibrate', summary: 'Score embedding channels, FFN neurons, attention and Mamba heads/channels (group-aware) and layers on calibration data', load: async () => (await import('./calibrate')).calibrateCommand },
  { name: 'prune', summary: 'Group-aware width and depth pruning (Minitron-SSM) into a new Hugging Face checkpoint', load: async () => (await import('./prune')).pruneCommand },
  { name: 'search', summary: 'Architecture search under a parameter budget: legal candidates ranked by zero-shot LM loss', load: async () => (await import('./search')).searchCommand },
  { name: 'distill', summary: 'Knowledge distillation (forward KL) of a pruned student from its teacher, with live metrics and resume', load: async () => (await import('./distill')).distillCommand },
  { name: 'train', summary: 'Train (from scratch or continued) with cross-entropy on the same engine', load: async () => (await import('./distill')).trainCommand },
  { name: 'curves', summary: 'Print the loss curves of a run: metrics.jsonl, a Megatron-LM/Bridge log or TensorBoard event files (--follow streams)', load: async () => (await import('./curves')).curvesCommand },
  { name: 'recipe', summary: 'Write a cluster launch recipe (torchrun + sbatch scripts, ModelOpt export_config) to distill a pruned student on Megatron-Bridge', load: async () => (await import('./recipe')).recipeCommand },
  { name: 'demo', summary: 'The whole recipe on the bundled teacher: inspect, calibrate, prune to ~50%, distill, evaluate, report', load: async () => (await import('./demo')).demoCommand },
  { name: 'fixture', summary: 'Write a seeded random-weight checkpoint (or a shape-only sparse one) for tests and planning', load: async () => (await import('./fixture')).fixtureCommand },
];
