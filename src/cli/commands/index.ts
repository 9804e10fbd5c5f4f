// Registry of CLI commands. Add one import and one entry per command.
import type { Command } from '../command';
import { inspectCommand } from './inspect';
import { fixtureCommand } from './fixture';
import { pruneCommand } from './prune';
import { searchCommand } from './search';
import { curvesCommand } from './curves';
import { recipeCommand } from './recipe';

export const COMMANDS: Command[] = [inspectCommand, fixtureCommand, pruneCommand, searchCommand, curvesCommand, recipeCommand];
