/**
 * Directives: every setting the server has, its type, default, whether CONFIG SET may change
 * it at run time, and how its value is parsed and printed. One table; the config file
 * loader, the command line, CONFIG GET/SET and the docs all read it.
 *
 * Values follow redis.conf conventions: sizes take bytes or a suffix (`64mb`, `1gb`, `512k`),
 * durations take milliseconds or a suffix (`500ms`, `10s`, `3h`, `10d`), booleans are
 * yes/no. CONFIG GET prints sizes and durations as plain numbers (bytes, milliseconds).
 */

import { formatReplicas, isReplicasError, parseReplicas, type ReplicationFactor } from '../ring/replication';
import { formatNotifyFlags, NOTIFY_FLAGS_ERROR, parseNotifyFlags } from '../pubsub/notify-flags';
import { defaultOutputLimits, formatOutputLimits, parseOutputLimits, type OutputLimits } from '../pubsub/output-limits';

export interface Settings {
  port: number;
  busPort: number;
  seeds: string[];
  dc: string;
  rack: string;
  vnodes: number;
  clusterSecret: string;
  gossipInterval: number;
  failTimeout: number;
  replicas: ReplicationFactor;
  writeQuorum: number;
  readQuorum: number;
  requestTimeout: number;
  bind: string[];
  dir: string;
  engine: 'rocksdb' | 'memory';
  nodeId: string;
  appendfsync: 'always' | 'everysec' | 'no';
  recordCache: number;
  maxclients: number;
  protoMaxBulkLen: number;
  clientQueryBufferLimit: number;
  outputBufferLimit: number;
  timeout: number;
  requirepass: string;
  /** ACL file (ACL LOAD / ACL SAVE, loaded at start-up); empty: none. */
  aclfile: string;
  acllogMaxLen: number;
  /** `user` directives (repeatable, not a CONFIG parameter): each one's arguments. */
  users: string[][];
  /** Without a password, accept clients from the loopback interface only (Redis's protected mode). */
  protectedMode: 'yes' | 'no';
  loglevel: 'debug' | 'verbose' | 'notice' | 'warning';
  logfile: string;
  hz: number;
  tombstoneGrace: number;
  antiEntropy: 'yes' | 'no';
  antiEntropyInterval: number;
  antiEntropyRate: number;
  antiEntropyConcurrency: number;
  replace: string;
  transferRate: number;
  transferConcurrency: number;
  sloppyQuorum: 'yes' | 'no';
  hintWindow: number;
  hintMaxBytes: number;
  hintMaxCount: number;
  hintReplayRate: number;
  faultInjection: 'yes' | 'no';
  rocksdbWriteBufferSize: number;
  rocksdbBlockCacheSize: number;
  /** notify-keyspace-events as a bit set (pubsub/notify-flags.ts). */
  notifyKeyspaceEvents: number;
  clientOutputBufferLimit: OutputLimits;
  pubsubMaxSubscriptions: number;
  /** Milliseconds a script may run before other clients get BUSY and SCRIPT KILL works (0: never). */
  busyReplyThreshold: number;
  /** TLS (src/config/tls.ts, docs/tls.md): tls-port 0 = no TLS listener. */
  tlsPort: number;
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsKeyFilePass: string;
  tlsClientCertFile: string;
  tlsClientKeyFile: string;
  tlsClientKeyFilePass: string;
  tlsDhParamsFile: string;
  tlsCaCertFile: string;
  tlsCaCertDir: string;
  tlsAuthClients: 'yes' | 'no' | 'optional';
  tlsReplication: 'yes' | 'no';
  tlsCluster: 'yes' | 'no';
  tlsProtocols: string;
  tlsCiphers: string;
  tlsCiphersuites: string;
  tlsPreferServerCiphers: 'yes' | 'no';
  tlsSessionCaching: 'yes' | 'no';
  tlsSessionCacheSize: number;
  tlsSessionCacheTimeout: number;
  /** HTTP port of /metrics (Prometheus text format); 0: off (src/http/). */
  metricsPort: number;
  /** HTTP port of the status page and /status.json; 0: off (src/http/). */
  httpPort: number;
  /** SLOWLOG: calls at least this many µs long are logged (negative: none, 0: all). */
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  /** CLIENT TRACKING: most keys the invalidation table remembers (0: no limit). */
  trackingTableMaxKeys: number;
  /** LATENCY: ms at or above which a command is a latency event (0: off). */
  latencyMonitorThreshold: number;
  /** Per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM). */
  latencyTracking: 'yes' | 'no';
  latencyTrackingInfoPercentiles: number[];
}

type Kind =
  | { t: 'int'; min: number; max: number }
  | { t: 'size'; min: number; max: number }
  | { t: 'duration'; min: number; max: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'string' }
  | { t: 'list' }
  | { t: 'replicas' }
  /** Redis's notify-keyspace-events letters. */
  | { t: 'notify' }
  /** Redis's client-output-buffer-limit: `<class> <hard> <soft> <seconds>`..., applied over the current value. */
  | { t: 'obuf' }
  /** latency-tracking-info-percentiles: space-separated doubles in [0, 100]. */
  | { t: 'percentiles' };

export interface Directive {
  readonly name: string;
  readonly key: keyof Settings;
  readonly kind: Kind;
  readonly mutable: boolean;
  /** Refused by CONFIG SET as Redis refuses its protected configs (paths). */
  readonly protected?: boolean;
  /** Hidden from CONFIG GET output (passwords are shown, as Redis does; nothing hidden yet). */
  readonly doc: string;
}

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;

export const DIRECTIVES: readonly Directive[] = [
  { name: 'port', key: 'port', kind: { t: 'int', min: 0, max: 65535 }, mutable: false, doc: 'TCP port for clients.' },
  { name: 'bus-port', key: 'busPort', kind: { t: 'int', min: 0, max: 65535 }, mutable: false, doc: 'TCP port of the cluster bus; 0 means port + 10000. A standalone node does not open it.' },
  { name: 'seeds', key: 'seeds', kind: { t: 'list' }, mutable: false, doc: 'Cluster bus addresses (host:bus-port) of nodes to contact when joining; empty: standalone.' },
  { name: 'dc', key: 'dc', kind: { t: 'string' }, mutable: false, doc: 'Data center of this node.' },
  { name: 'rack', key: 'rack', kind: { t: 'string' }, mutable: false, doc: 'Rack of this node.' },
  { name: 'vnodes', key: 'vnodes', kind: { t: 'int', min: 1, max: 4096 }, mutable: false, doc: 'Weight of this node on the ring (more for bigger machines).' },
  { name: 'cluster-secret', key: 'clusterSecret', kind: { t: 'string' }, mutable: false, doc: 'Shared secret nodes prove to each other on the cluster bus; empty: unauthenticated.' },
  { name: 'gossip-interval', key: 'gossipInterval', kind: { t: 'duration', min: 10, max: 60_000 }, mutable: false, doc: 'How often a node bumps its heartbeat and gossips its membership table.' },
  { name: 'fail-timeout', key: 'failTimeout', kind: { t: 'duration', min: 50, max: 3_600_000 }, mutable: false, doc: 'A peer whose heartbeat has not advanced for this long (or whose phi exceeds 8) is considered down.' },
  { name: 'replicas', key: 'replicas', kind: { t: 'replicas' }, mutable: false, doc: 'N: how many nodes hold a copy of each key (in cluster mode): a count (3), or per data center (dc1:3,dc2:2) for DC-aware placement and LOCAL_QUORUM/EACH_QUORUM.' },
  { name: 'write-quorum', key: 'writeQuorum', kind: { t: 'int', min: 1, max: 64 }, mutable: true, doc: 'W: replicas that must hold a write before it is acknowledged (default for new connections).' },
  { name: 'read-quorum', key: 'readQuorum', kind: { t: 'int', min: 1, max: 64 }, mutable: true, doc: 'R: replicas a read consults (default for new connections). R + W > N gives strong reads.' },
  { name: 'request-timeout', key: 'requestTimeout', kind: { t: 'duration', min: 10, max: 600_000 }, mutable: true, doc: 'How long a coordinator waits for replicas before answering NOQUORUM.' },
  { name: 'bind', key: 'bind', kind: { t: 'list' }, mutable: false, doc: 'Addresses to listen on (space separated).' },
  { name: 'dir', key: 'dir', kind: { t: 'string' }, mutable: false, protected: true, doc: 'Data directory (RocksDB files, node id).' },
  { name: 'engine', key: 'engine', kind: { t: 'enum', values: ['rocksdb', 'memory'] }, mutable: false, doc: 'Storage engine: rocksdb (on disk) or memory (nothing persisted).' },
  { name: 'node-id', key: 'nodeId', kind: { t: 'string' }, mutable: false, doc: 'This node\'s id; empty means generate one on first start and keep it in dir.' },
  { name: 'appendfsync', key: 'appendfsync', kind: { t: 'enum', values: ['everysec', 'always', 'no'] }, mutable: true, doc: 'always: acknowledge a write after its batch is fsynced; everysec: fsync at most a second behind; no: leave it to the OS.' },
  { name: 'record-cache', key: 'recordCache', kind: { t: 'size', min: 0, max: 2 ** 50 }, mutable: true, doc: 'Memory for the cache of decoded keys and fields in front of the engine (cache-size is an old name for it).' },
  { name: 'maxclients', key: 'maxclients', kind: { t: 'int', min: 1, max: 1_000_000 }, mutable: true, doc: 'Maximum number of connected clients.' },
  { name: 'proto-max-bulk-len', key: 'protoMaxBulkLen', kind: { t: 'size', min: 1 * MB, max: 2 ** 50 }, mutable: true, doc: 'Largest bulk string a client may send (and largest string value).' },
  { name: 'client-query-buffer-limit', key: 'clientQueryBufferLimit', kind: { t: 'size', min: 1 * MB, max: 2 ** 50 }, mutable: true, doc: 'A client whose unprocessed input exceeds this is disconnected.' },
  { name: 'output-buffer-limit', key: 'outputBufferLimit', kind: { t: 'size', min: 16 * KB, max: 2 ** 50 }, mutable: true, doc: 'When a client has this much unread output, the server stops reading its commands until it catches up.' },
  { name: 'timeout', key: 'timeout', kind: { t: 'int', min: 0, max: 2 ** 31 - 1 }, mutable: true, doc: 'Close a client after this many seconds idle (0 = never).' },
  { name: 'requirepass', key: 'requirepass', kind: { t: 'string' }, mutable: true, doc: 'Password clients must give with AUTH or HELLO (empty = none).' },
  { name: 'aclfile', key: 'aclfile', kind: { t: 'string' }, mutable: false, doc: 'ACL file: its users are loaded at start-up, ACL LOAD reloads it and ACL SAVE writes the users to it (Redis format). Cannot be combined with user directives.' },
  { name: 'acllog-max-len', key: 'acllogMaxLen', kind: { t: 'int', min: 0, max: 2 ** 31 - 1 }, mutable: true, doc: 'Most entries ACL LOG keeps.' },
  { name: 'protected-mode', key: 'protectedMode', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: true, doc: 'yes: while requirepass is empty, a client connecting from anywhere but 127.0.0.1 or ::1 gets -DENIED and is disconnected, as in Redis.' },
  { name: 'loglevel', key: 'loglevel', kind: { t: 'enum', values: ['debug', 'verbose', 'notice', 'warning'] }, mutable: true, doc: 'Log verbosity.' },
  { name: 'logfile', key: 'logfile', kind: { t: 'string' }, mutable: false, doc: 'Log file; empty means standard output.' },
  { name: 'hz', key: 'hz', kind: { t: 'int', min: 1, max: 500 }, mutable: true, doc: 'Background ticks per second (active expiry, fsync, client timeouts).' },
  { name: 'sloppy-quorum', key: 'sloppyQuorum', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: true, doc: 'yes (availability first): a write whose home replicas are down goes to the next healthy nodes on the ring with a hint, and those count towards W; no (consistency first): only home replicas count, else NOQUORUM.' },
  { name: 'hint-window', key: 'hintWindow', kind: { t: 'duration', min: 1000, max: 2 ** 50 }, mutable: false, doc: 'Hints older than this are dropped, never replayed (anti-entropy repairs what they carried).' },
  { name: 'hint-max-bytes', key: 'hintMaxBytes', kind: { t: 'size', min: 1 * MB, max: 2 ** 50 }, mutable: false, doc: 'Most bytes of pending hints kept for one target node; further hints for it are dropped and counted.' },
  { name: 'hint-max-count', key: 'hintMaxCount', kind: { t: 'int', min: 1, max: 1_000_000_000 }, mutable: false, doc: 'Most pending hints kept for all targets together.' },
  { name: 'hint-replay-rate', key: 'hintReplayRate', kind: { t: 'int', min: 1, max: 10_000_000 }, mutable: false, doc: 'Hints replayed per second to an owner that is back.' },
  { name: 'fault-injection', key: 'faultInjection', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: false, doc: 'yes enables RING FAULT, which cuts this node off from chosen nodes on the cluster bus (for partition tests). Never on in production.' },
  { name: 'anti-entropy', key: 'antiEntropy', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: false, doc: 'Keep Merkle trees of the stored records current and repair replicas by comparing them (cluster mode; needs tombstone-grace > 0). no: no trees, no repairs.' },
  { name: 'anti-entropy-interval', key: 'antiEntropyInterval', kind: { t: 'duration', min: 0, max: 2 ** 50 }, mutable: true, doc: 'How long after the previous repair (or start-up) a periodic repair starts, ±10 %; 0 disables periodic repairs (RING REPAIR START still works).' },
  { name: 'anti-entropy-rate', key: 'antiEntropyRate', kind: { t: 'int', min: 1, max: 100_000_000 }, mutable: true, doc: 'Most keys per second a repair compares (and so exchanges) on this node.' },
  { name: 'anti-entropy-concurrency', key: 'antiEntropyConcurrency', kind: { t: 'int', min: 1, max: 64 }, mutable: true, doc: 'Ranges (of 256) a repair works on at once.' },
  { name: 'replace', key: 'replace', kind: { t: 'string' }, mutable: false, doc: 'Node id of a dead node this new node takes the place of: it receives exactly that node\'s ranges from the surviving replicas, and the dead node is marked left (docs/cluster.md). Only read the first time the node starts (with an empty dir).' },
  { name: 'transfer-rate', key: 'transferRate', kind: { t: 'size', min: 64 * KB, max: 2 ** 50 }, mutable: true, doc: 'Most bytes per second this node receives while streaming ranges it gains (joins, leaves, removals, replacements), all transfers together.' },
  { name: 'transfer-concurrency', key: 'transferConcurrency', kind: { t: 'int', min: 1, max: 16 }, mutable: true, doc: 'Transfers (one per source node and group of ranges) this node receives at once.' },
  { name: 'tombstone-grace', key: 'tombstoneGrace', kind: { t: 'duration', min: 0, max: 2 ** 50 }, mutable: true, doc: 'How long delete markers and expired records are kept before they are purged (0 on a standalone node: purge at once).' },
  { name: 'rocksdb-write-buffer-size', key: 'rocksdbWriteBufferSize', kind: { t: 'size', min: 1 * MB, max: 4 * GB - 1 }, mutable: false, doc: 'RocksDB memtable size.' },
  { name: 'notify-keyspace-events', key: 'notifyKeyspaceEvents', kind: { t: 'notify' }, mutable: true, doc: 'Keyspace notifications, Redis\'s class letters (K, E, g, $, l, s, h, z, t, x, e, n, m, d, A); empty: none.' },
  { name: 'client-output-buffer-limit', key: 'clientOutputBufferLimit', kind: { t: 'obuf' }, mutable: true, doc: 'Per client class (normal, replica, pubsub): hard limit, soft limit, soft seconds. A subscriber whose unsent messages pass the pubsub hard limit, or stay over the soft limit for soft seconds, is disconnected.' },
  { name: 'pubsub-max-subscriptions', key: 'pubsubMaxSubscriptions', kind: { t: 'int', min: 1, max: 100_000_000 }, mutable: true, doc: 'Most channels + patterns + shard channels one client may subscribe to; beyond it SUBSCRIBE and friends answer an error.' },
  { name: 'rocksdb-block-cache-size', key: 'rocksdbBlockCacheSize', kind: { t: 'size', min: 0, max: 4 * GB - 1 }, mutable: false, doc: 'RocksDB block cache size.' },
  { name: 'slowlog-log-slower-than', key: 'slowlogLogSlowerThan', kind: { t: 'int', min: -1, max: Number.MAX_SAFE_INTEGER }, mutable: true, doc: 'SLOWLOG logs commands that take at least this many microseconds (-1: none; 0: every command).' },
  { name: 'tracking-table-max-keys', key: 'trackingTableMaxKeys', kind: { t: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, mutable: true, doc: 'CLIENT TRACKING: most keys remembered for invalidation; past it the oldest are invalidated and forgotten (0: no limit).' },
  { name: 'slowlog-max-len', key: 'slowlogMaxLen', kind: { t: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, mutable: true, doc: 'Most SLOWLOG entries kept (the oldest go first).' },
  { name: 'latency-monitor-threshold', key: 'latencyMonitorThreshold', kind: { t: 'int', min: 0, max: Number.MAX_SAFE_INTEGER }, mutable: true, doc: 'LATENCY: a command taking at least this many milliseconds is recorded as a latency event (command or fast-command); 0: off.' },
  { name: 'latency-tracking', key: 'latencyTracking', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: true, doc: 'Keep a latency histogram per command (INFO latencystats, LATENCY HISTOGRAM).' },
  { name: 'latency-tracking-info-percentiles', key: 'latencyTrackingInfoPercentiles', kind: { t: 'percentiles' }, mutable: true, doc: 'Percentiles INFO latencystats reports (space separated, 0 to 100).' },
  { name: 'busy-reply-threshold', key: 'busyReplyThreshold', kind: { t: 'int', min: 0, max: 2 ** 53 }, mutable: true, doc: 'Milliseconds a Lua script or function may run before other clients get BUSY and SCRIPT KILL / FUNCTION KILL may stop it (alias lua-time-limit; 0: never).' },
  // TLS (docs/tls.md). CONFIG SET of these (but tls-cluster) reloads the TLS setup for new connections.
  { name: 'tls-port', key: 'tlsPort', kind: { t: 'int', min: 0, max: 65535 }, mutable: true, doc: 'TCP port for TLS clients (0: none). Both port and tls-port may listen; port 0 with a tls-port means TLS only.' },
  { name: 'tls-cert-file', key: 'tlsCertFile', kind: { t: 'string' }, mutable: true, doc: 'PEM certificate (chain) this node presents to clients and, with tls-cluster, to peers.' },
  { name: 'tls-key-file', key: 'tlsKeyFile', kind: { t: 'string' }, mutable: true, doc: 'PEM private key of tls-cert-file.' },
  { name: 'tls-key-file-pass', key: 'tlsKeyFilePass', kind: { t: 'string' }, mutable: true, doc: 'Pass phrase of an encrypted tls-key-file.' },
  { name: 'tls-client-cert-file', key: 'tlsClientCertFile', kind: { t: 'string' }, mutable: true, doc: 'Certificate presented on outgoing cluster bus connections (empty: tls-cert-file).' },
  { name: 'tls-client-key-file', key: 'tlsClientKeyFile', kind: { t: 'string' }, mutable: true, doc: 'Private key of tls-client-cert-file.' },
  { name: 'tls-client-key-file-pass', key: 'tlsClientKeyFilePass', kind: { t: 'string' }, mutable: true, doc: 'Pass phrase of an encrypted tls-client-key-file.' },
  { name: 'tls-dh-params-file', key: 'tlsDhParamsFile', kind: { t: 'string' }, mutable: true, doc: 'PEM DH parameters for DHE ciphers (empty: none; ECDHE needs none).' },
  { name: 'tls-ca-cert-file', key: 'tlsCaCertFile', kind: { t: 'string' }, mutable: true, doc: 'PEM CA certificate(s) that client and peer certificates must chain to.' },
  { name: 'tls-ca-cert-dir', key: 'tlsCaCertDir', kind: { t: 'string' }, mutable: true, doc: 'Directory of PEM CA certificates (every file in it that holds one), besides or instead of tls-ca-cert-file.' },
  { name: 'tls-auth-clients', key: 'tlsAuthClients', kind: { t: 'enum', values: ['no', 'yes', 'optional'] }, mutable: true, doc: 'yes: clients on tls-port must present a certificate signed by the CA; optional: they may (one presented must be valid); no: none is asked for.' },
  { name: 'tls-replication', key: 'tlsReplication', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: true, doc: 'Accepted for redis.conf compatibility; no effect (there is no master-replica link; see tls-cluster).' },
  { name: 'tls-cluster', key: 'tlsCluster', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: false, doc: 'yes: the cluster bus runs over TLS with mutual authentication (every node presents tls-cert-file and requires a peer certificate signed by the CA). All nodes must agree.' },
  { name: 'tls-protocols', key: 'tlsProtocols', kind: { t: 'string' }, mutable: true, doc: 'TLS versions to accept, e.g. "TLSv1.2 TLSv1.3" (empty: TLSv1.2 and TLSv1.3); taken as the range from the lowest to the highest named.' },
  { name: 'tls-ciphers', key: 'tlsCiphers', kind: { t: 'string' }, mutable: true, doc: 'OpenSSL cipher list for TLSv1.2 and below (empty: node\'s default).' },
  { name: 'tls-ciphersuites', key: 'tlsCiphersuites', kind: { t: 'string' }, mutable: true, doc: 'TLSv1.3 cipher suites, colon separated (empty: node\'s default).' },
  { name: 'tls-prefer-server-ciphers', key: 'tlsPreferServerCiphers', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: true, doc: 'yes: the server\'s cipher order wins over the client\'s.' },
  { name: 'tls-session-caching', key: 'tlsSessionCaching', kind: { t: 'enum', values: ['yes', 'no'] }, mutable: true, doc: 'yes: clients may resume TLS sessions (session tickets); no: every connection makes a full handshake.' },
  { name: 'tls-session-cache-size', key: 'tlsSessionCacheSize', kind: { t: 'int', min: 0, max: 2 ** 31 - 1 }, mutable: true, doc: 'Accepted for compatibility; no effect (node:tls resumes with tickets, which need no server-side cache).' },
  { name: 'tls-session-cache-timeout', key: 'tlsSessionCacheTimeout', kind: { t: 'int', min: 0, max: 2 ** 31 - 1 }, mutable: true, doc: 'Seconds a resumable TLS session stays valid.' },
  { name: 'metrics-port', key: 'metricsPort', kind: { t: 'int', min: 0, max: 65535 }, mutable: false, doc: 'HTTP port serving /metrics in the Prometheus text format, on the bind addresses; 0: off. Same password as clients (HTTP Basic auth).' },
  { name: 'http-port', key: 'httpPort', kind: { t: 'int', min: 0, max: 65535 }, mutable: false, doc: 'HTTP port serving the status page (/) and /status.json, on the bind addresses; 0: off. Same password as clients (HTTP Basic auth).' },
];

export function defaultSettings(): Settings {
  return {
    port: 6379,
    busPort: 0,
    seeds: [],
    dc: 'dc1',
    rack: 'rack1',
    vnodes: 128,
    clusterSecret: '',
    gossipInterval: 1000,
    failTimeout: 5000,
    replicas: 3,
    writeQuorum: 2,
    readQuorum: 2,
    requestTimeout: 2000,
    bind: ['127.0.0.1'],
    dir: './data',
    engine: 'rocksdb',
    nodeId: '',
    appendfsync: 'everysec',
    recordCache: 256 * MB,
    maxclients: 10000,
    protoMaxBulkLen: 512 * MB,
    clientQueryBufferLimit: 1 * GB,
    outputBufferLimit: 64 * MB,
    timeout: 0,
    requirepass: '',
    aclfile: '',
    acllogMaxLen: 128,
    users: [],
    protectedMode: 'yes',
    loglevel: 'notice',
    logfile: '',
    hz: 10,
    tombstoneGrace: 10 * 86_400_000,
    antiEntropy: 'yes',
    antiEntropyInterval: 600_000,
    antiEntropyRate: 200_000,
    antiEntropyConcurrency: 4,
    replace: '',
    transferRate: 8 * MB,
    transferConcurrency: 2,
    sloppyQuorum: 'yes',
    hintWindow: 3 * 3_600_000,
    hintMaxBytes: 1 * GB,
    hintMaxCount: 10_000_000,
    hintReplayRate: 20_000,
    faultInjection: 'no',
    rocksdbWriteBufferSize: 16 * MB,
    rocksdbBlockCacheSize: 64 * MB,
    notifyKeyspaceEvents: 0,
    clientOutputBufferLimit: defaultOutputLimits(),
    pubsubMaxSubscriptions: 100_000,
    busyReplyThreshold: 5000,
    tlsPort: 0,
    tlsCertFile: '',
    tlsKeyFile: '',
    tlsKeyFilePass: '',
    tlsClientCertFile: '',
    tlsClientKeyFile: '',
    tlsClientKeyFilePass: '',
    tlsDhParamsFile: '',
    tlsCaCertFile: '',
    tlsCaCertDir: '',
    tlsAuthClients: 'yes',
    tlsReplication: 'no',
    tlsCluster: 'no',
    tlsProtocols: '',
    tlsCiphers: '',
    tlsCiphersuites: '',
    tlsPreferServerCiphers: 'no',
    tlsSessionCaching: 'yes',
    tlsSessionCacheSize: 20480,
    tlsSessionCacheTimeout: 300,
    metricsPort: 0,
    httpPort: 0,
    slowlogLogSlowerThan: 10000,
    slowlogMaxLen: 128,
    trackingTableMaxKeys: 1_000_000,
    latencyMonitorThreshold: 0,
    latencyTracking: 'yes',
    latencyTrackingInfoPercentiles: [50, 99, 99.9],
  };
}

/** Old names still accepted (in files, on the command line and by CONFIG SET). */
const ALIASES: readonly [string, string][] = [['cache-size', 'record-cache'], ['lua-time-limit', 'busy-reply-threshold']];

export const DIRECTIVE_BY_NAME: ReadonlyMap<string, Directive> = new Map([
  ...DIRECTIVES.map((d): [string, Directive] => [d.name, d]),
  ...ALIASES.map(([alias, name]): [string, Directive] => [alias, DIRECTIVES.find((d) => d.name === name)!]),
]);

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1000, kb: KB, m: 1000 * 1000, mb: MB, g: 1000 * 1000 * 1000, gb: GB, t: 1e12, tb: 1024 * GB };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseWithUnits(text: string, units: Record<string, number>, what: string): number | string {
  const m = /^(\d+)([a-z]*)$/i.exec(text);
  if (m === null) return `argument must be a ${what}: a number with an optional unit (${Object.keys(units).join(', ')})`;
  const mult = m[2] === '' ? 1 : units[m[2].toLowerCase()];
  if (mult === undefined) return `unknown unit '${m[2]}' (use ${Object.keys(units).join(', ')})`;
  const v = Number(m[1]) * mult;
  if (!Number.isSafeInteger(v)) return 'argument is too large';
  return v;
}

/**
 * Parse the arguments of one directive. Returns the value or an error text. `current` is
 * the value a partial directive applies over (client-output-buffer-limit names one class).
 */
export function parseDirective(d: Directive, args: string[], current?: Settings): { value: Settings[keyof Settings] } | { error: string } {
  const k = d.kind;
  if (k.t === 'obuf') {
    const r = parseOutputLimits(args.join(' ').split(/\s+/).filter((x) => x !== ''), current?.clientOutputBufferLimit ?? defaultOutputLimits());
    return typeof r === 'string' ? { error: r } : { value: r };
  }
  if (k.t === 'percentiles') {
    const out: number[] = [];
    for (const w of args.join(' ').split(' ').filter((x) => x !== '')) {
      const v = Number(w);
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(w)) return { error: 'Invalid latency-tracking-info-percentiles parameters' };
      if (!(v >= 0 && v <= 100)) return { error: 'latency-tracking-info-percentiles parameters should sit between [0.0,100.0]' };
      out.push(v);
    }
    return { value: out };
  }
  if (k.t === 'list') {
    if (args.length === 0) return { error: 'wrong number of arguments' };
    return { value: args };
  }
  if (args.length !== 1) return { error: 'wrong number of arguments' };
  const a = args[0];
  switch (k.t) {
    case 'string':
      return { value: a };
    case 'enum': {
      const v = a.toLowerCase();
      if (!k.values.includes(v)) {
        // Redis's booleans have their own words.
        if (k.values.length === 2 && k.values.includes('yes') && k.values.includes('no')) return { error: "argument must be 'yes' or 'no'" };
        return { error: `argument(s) must be one of the following: ${k.values.join(', ')}` };
      }
      return { value: v as Settings[keyof Settings] };
    }
    case 'int': {
      if (!/^-?\d+$/.test(a)) return { error: "argument couldn't be parsed into an integer" };
      const v = Number(a);
      // Redis's long long configs (slowlog-log-slower-than...) end at LLONG_MAX.
      if (v < k.min || v > k.max) return { error: `argument must be between ${k.min} and ${k.max === Number.MAX_SAFE_INTEGER ? '9223372036854775807' : k.max} inclusive` };
      return { value: v };
    }
    case 'notify': {
      const f = parseNotifyFlags(a);
      return f === null ? { error: NOTIFY_FLAGS_ERROR } : { value: f };
    }
    case 'replicas': {
      const rf = parseReplicas(a);
      if (isReplicasError(rf)) return { error: rf.error };
      return { value: rf };
    }
    case 'size':
    case 'duration': {
      const v = parseWithUnits(a, k.t === 'size' ? SIZE_UNITS : DURATION_UNITS, k.t === 'size' ? 'size' : 'duration');
      if (typeof v === 'string') return { error: k.t === 'size' ? 'argument must be a memory value' : v };
      if (v < k.min || v > k.max) return { error: `argument must be between ${k.min} and ${k.max} inclusive` };
      return { value: v };
    }
  }
}

/** The value as CONFIG GET prints it. */
export function formatDirective(d: Directive, s: Settings): string {
  const v = s[d.key];
  if (Array.isArray(v)) return v.join(' ');
  if (d.kind.t === 'replicas') return formatReplicas(s.replicas);
  if (d.kind.t === 'notify') return formatNotifyFlags(s.notifyKeyspaceEvents);
  if (d.kind.t === 'obuf') return formatOutputLimits(s.clientOutputBufferLimit);
  if (d.kind.t === 'percentiles') return s.latencyTrackingInfoPercentiles.map(formatPercentile).join(' ');
  return String(v);
}

/**
 * Redis directives that tools read but that have no counterpart here, answered read-only
 * from our settings so that CONFIG GET gives what the tool needs (redis-benchmark, for
 * one, refuses to run unless `CONFIG GET save` and `CONFIG GET appendonly` answer).
 * CONFIG SET refuses them as immutable.
 */
export const REDIS_READONLY: readonly { name: string; value: (s: Settings) => string }[] = [
  { name: 'save', value: () => '' },
  { name: 'appendonly', value: (s) => (s.engine === 'rocksdb' ? 'yes' : 'no') },
  { name: 'databases', value: () => '16' },
];

/** A percentile as Redis prints it (%f, trailing zeros trimmed: 99.9, 50). */
export function formatPercentile(p: number): string {
  const t = p.toFixed(6).replace(/0+$/, '');
  return t.endsWith('.') ? t.slice(0, -1) : t;
}
