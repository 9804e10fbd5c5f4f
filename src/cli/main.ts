// Entry point of the `hybrid-compress` CLI: dispatches to a command, maps errors to exit codes
// (2 = bad input with a one-line reason on stderr, 1 = other failure).

import { COMMANDS } from './commands/index';
import { describeError, isHybridCompressError } from '../core/errors';
import type { CommandContext } from './command';
import { helpOf } from '../core/util/option-schema';

function help(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'hybrid-compress — compress hybrid Mamba2/attention language models (Minitron-SSM recipe)',
    '',
    'usage: hybrid-compress <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `hybrid-compress <command> --help` for a command\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`hybrid-compress: unknown command "${name}" (valid: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  const command = await cmd.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write((command.schema ? helpOf(command.schema, cmd.summary) : `${cmd.summary}\n\nusage: ${command.usage}`) + '\n');
    return 0;
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const ctx: CommandContext = {
    argv: rest,
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
    signal: controller.signal,
  };
  try {
    return await command.run(ctx);
  } catch (e) {
    process.stderr.write(`hybrid-compress ${name}: ${describeError(e)}\n`);
    if (process.env['HC_DEBUG'] && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return isHybridCompressError(e) && e.code !== 'RUNTIME_ERROR' && e.code !== 'IO_ERROR' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Exit once stdout and stderr have drained: on a pipe Node writes asynchronously, and a bare
 * process.exit() cut `search --candidates-only --json | jq` off after the first few hundred kilobytes.
 */
function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitWhenFlushed, (e) => {
    process.stderr.write(`hybrid-compress: ${describeError(e)}\n`);
    exitWhenFlushed(1);
  });
}
