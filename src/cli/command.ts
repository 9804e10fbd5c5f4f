// The CLI's command contract: each command lives in src/cli/commands/<name>.ts and is listed in
// commands/index.ts. Commands are thin: they parse options, call src/core, and print.

export interface CommandContext {
  argv: string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** True when stdout is a terminal (progress bars are drawn only then). */
  isTTY: boolean;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

import type { ActionSchema } from '../core/util/option-schema';

export interface Command {
  name: string;
  usage: string;
  /** The action's option schema (src/core/<stage>/settings.ts): --help lists its options. */
  schema?: ActionSchema;
  /** Returns the process exit code (0 ok, 1 failure, 2 bad input). */
  run(ctx: CommandContext): Promise<number>;
}
