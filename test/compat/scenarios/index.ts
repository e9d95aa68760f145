/**
 * Every multi-connection differential scenario (sessions.ts), by module. A module adds its
 * list here.
 */
import type { Scenario } from '../sessions';
import { BASIC_SCENARIOS } from './basic';
import { TRANSACTION_SCENARIOS } from './transactions';
import { PUBSUB_SCENARIOS } from './pubsub';
import { SCRIPTING_SCENARIOS } from './scripting';
import { INTROSPECTION_SCENARIOS } from './introspection';
import { ACL_SCENARIOS } from './acl';

export const ALL_SCENARIOS: Scenario[] = [...BASIC_SCENARIOS, ...TRANSACTION_SCENARIOS, ...PUBSUB_SCENARIOS, ...SCRIPTING_SCENARIOS, ...INTROSPECTION_SCENARIOS, ...ACL_SCENARIOS];
