/**
 * Every compatibility script, in the order the suite runs them. One module per area, as
 * the command modules are split; a new data type adds its module here (e.g. hashes.ts,
 * which will also hold the WRONGTYPE cases of string and key commands against hashes —
 * both servers must run identical scripts, so those cases wait until both have hashes).
 */
import type { Script } from '../script';
import { connectionScripts } from './connection';
import { keyScripts } from './keys';
import { protocolScripts } from './protocol';
import { resp3Scripts } from './resp3';
import { stringScripts } from './strings';

export const ALL_SCRIPTS: Script[] = [
  ...connectionScripts,
  ...stringScripts,
  ...keyScripts,
  ...resp3Scripts,
  ...protocolScripts,
];
