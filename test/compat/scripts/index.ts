/**
 * Every compatibility script, in the order the suite runs them. One module per area, as
 * the command modules are split; a new data type adds its module here. WRONGTYPE cases of
 * string and key commands against a type live in that type's module (e.g. hashes.ts).
 */
import type { Script } from '../script';
import { bitmapScripts } from './bitmaps';
import { hyperloglogScripts } from './hyperloglog';
import { connectionScripts } from './connection';
import { hashScripts } from './hashes';
import { keyScripts } from './keys';
import { keysExtraScripts } from './keys-extra';
import { protocolScripts } from './protocol';
import { resp3Scripts } from './resp3';
import { setScripts } from './sets';
import { listScripts } from './lists';
import { stringScripts } from './strings';
import { zsetScripts } from './zsets';
import { geoScripts } from './geo';
import { transactionScripts } from './transactions';
import { pubsubScripts } from './pubsub';
import { streamScripts } from './streams';
import { scriptingScripts } from './scripting';
import { tlsScripts } from './tls';
import { introspectionScripts } from './introspection';
import { getkeysScripts } from './getkeys';
import { aclScripts } from './acl';

export const ALL_SCRIPTS: Script[] = [
  ...connectionScripts,
  ...stringScripts,
  ...keyScripts,
  ...keysExtraScripts,
  ...hashScripts,
  ...bitmapScripts,
  ...hyperloglogScripts,
  ...setScripts,
  ...listScripts,
  ...zsetScripts,
  ...geoScripts,
  ...transactionScripts,
  ...pubsubScripts,
  ...streamScripts,
  ...scriptingScripts,
  ...tlsScripts,
  ...introspectionScripts,
  ...getkeysScripts,
  ...aclScripts,
  ...resp3Scripts,
  ...protocolScripts,
];
