/**
 * Every command module, in one list: the table is built from what they export.
 */
import type { CommandSpec } from './types';
import { connectionCommands } from './connection';
import { serverCommands } from './server';
import { stringCommands } from './strings';
import { keyCommands } from './keys';
import { hashCommands } from './hashes';
import { bitmapCommands } from './bitmaps';
import { setCommands } from './sets';
import { commandCommands } from './command';
import { ringCommands } from './ring';

export const ALL_COMMANDS: readonly CommandSpec[] = [
  ...connectionCommands,
  ...serverCommands,
  ...stringCommands,
  ...keyCommands,
  ...hashCommands,
  ...bitmapCommands,
  ...setCommands,
  ...commandCommands,
  ...ringCommands,
];
