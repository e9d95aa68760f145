/**
 * Every error text a command can reply with, in one place. Texts match Redis 7.0 byte for
 * byte (clients and tests match on them); our own conditions get an upper-case code of
 * their own (NOQUORUM, ...). The writer adds the leading '-'.
 */
export const E = {
  syntax: 'ERR syntax error',
  wrongType: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  notInteger: 'ERR value is not an integer or out of range',
  /** A count that must be >= 0 (LPOP, SPOP, ZPOPMIN ... with a count). */
  mustBePositive: 'ERR value is out of range, must be positive',
  notFloat: 'ERR value is not a valid float',
  overflow: 'ERR increment or decrement would overflow',
  decrementOverflow: 'ERR decrement would overflow',
  nanOrInf: 'ERR increment would produce NaN or Infinity',
  /** HINCRBYFLOAT with an infinite increment. */
  nanOrInfinityValue: 'ERR value is NaN or Infinity',
  hashNotInteger: 'ERR hash value is not an integer',
  hashNotFloat: 'ERR hash value is not a float',
  noSuchKey: 'ERR no such key',
  dbIndexOutOfRange: 'ERR DB index is out of range',
  /** getIntFromObjectOrReply: an integer outside the C int range. */
  outOfIntRange: 'ERR value is out of range, value must between -2147483648 and 2147483647',
  invalidDbIndex: 'ERR value is not an integer or out of range',
  noAuth: 'NOAUTH Authentication required.',
  wrongPass: 'WRONGPASS invalid username-password pair or user is disabled.',
  authNotConfigured:
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  maxClients: 'ERR max number of clients reached',
  stringTooLong: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  invalidExpire: (cmd: string) => `ERR invalid expire time in '${cmd}' command`,
  wrongArity: (fullName: string) => `ERR wrong number of arguments for '${fullName}' command`,
  unknownSubcommand: (sub: string, container: string) =>
    `ERR unknown subcommand '${truncate(sub, 128)}'. Try ${container.toUpperCase()} HELP.`,
  sameObject: 'ERR source and destination objects are the same',
  invalidCursor: 'ERR invalid cursor',
  offsetOutOfRange: 'ERR offset is out of range',
  expireNxConflict: 'ERR NX and XX, GT or LT options at the same time are not compatible',
  expireGtLtConflict: 'ERR GT and LT options at the same time are not compatible',
  /** The option is raw bytes: write it with `errorWithBytes` (args.ts) to keep it exact. */
  unsupportedOptionPrefix: 'ERR Unsupported option ',
  noProto: 'NOPROTO unsupported protocol version',
  lcsNotStrings: 'ERR The specified keys must contain string values',
  lcsLenAndIdx: 'ERR If you want both the length and indexes, please just use IDX.',
  lcsTooBig: 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len',
  lfuNotSelected:
    'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
  sortNotDouble: "ERR One or more scores can't be converted into double",
  /** SORT BY/GET whose keys would live on other replicas than the sorted key (our own condition). */
  sortPatternElsewhere: (opt: string) =>
    `ERR ${opt} option of SORT denied: in a cluster its keys must share the sorted key's replicas (give the pattern the sorted key's hash tag before the '*')`,
  noQuorum: (detail: string) => `NOQUORUM ${detail}`,
  /** SUBSCRIBE and friends past pubsub-max-subscriptions (our own condition). */
  maxSubscriptions: (n: number) => `MAXSUBSCRIPTIONS this client would pass pubsub-max-subscriptions (${n}); nothing was subscribed`,
} as const;

export function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

/** A client argument as Redis's `%s` prints it: bytes up to the first NUL, as latin1. */
export function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return (nul < 0 ? b : b.subarray(0, nul)).toString('latin1');
}

/** Redis's reply to an unknown command, with the first arguments quoted. */
export function unknownCommand(argv: Buffer[]): string {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    args += `'${truncate(cString(argv[i]), 128 - args.length)}' `;
  }
  return `ERR unknown command '${truncate(cString(argv[0]), 128)}', with args beginning with: ${args}`;
}
