// Registry of CLI commands. Add one import and one entry per command.
import type { Command } from '../command';
import { inspectCommand } from './inspect';
import { fixtureCommand } from './fixture';

export const COMMANDS: Command[] = [inspectCommand, fixtureCommand];
