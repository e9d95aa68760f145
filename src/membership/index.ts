/** Membership: gossip and failure detection (pure cores; the shell lives beside the bus). */
export * from './member';
export * from './messages';
export * from './table';
export * from './failure-detector';
export * from './random';
export * from './gossiper';
