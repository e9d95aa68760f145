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
import { hyperloglogCommands } from './hyperloglog';
import { setCommands } from './sets';
import { listCommands } from './lists';
import { commandCommands } from './command';
import { ringCommands } from './ring';
import { lcsCommands } from './lcs';
import { objectCommands } from './object';
import { sortCommands } from './sort';
import { zsetCommands } from './zsets';
import { geoCommands } from './geo';
import { transactionCommands } from './transactions';
import { pubsubCommands } from './pubsub';
import { streamCommands } from './streams';
import { scriptingCommands } from './scripting';
import { introspectionCommands } from './introspection';
import { aclCommands } from './acl';

export const ALL_COMMANDS: readonly CommandSpec[] = [
  ...connectionCommands,
  ...serverCommands,
  ...stringCommands,
  ...keyCommands,
  ...hashCommands,
  ...bitmapCommands,
  ...hyperloglogCommands,
  ...setCommands,
  ...listCommands,
  ...commandCommands,
  ...ringCommands,
  ...lcsCommands,
  ...objectCommands,
  ...sortCommands,
  ...zsetCommands,
  ...geoCommands,
  ...transactionCommands,
  ...pubsubCommands,
  ...streamCommands,
  ...scriptingCommands,
  ...introspectionCommands,
  ...aclCommands,
];
