/**
 * RING: quorumkv's own commands about the cluster. RING NODES lists the membership table as
 * this node sees it, one map per node (a flat array in RESP2).
 */
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';
import type { ReplyWriter } from '../resp/writer';
import { helpReply } from './args';
import { E } from './errors';
import { CELL_FIELD } from '../storage/layout';
import { levelName, parseConsistency } from '../coordinator/quorum';
import type { MembershipControl } from '../server/server-api';

function owners(ctx: CommandContext, argv: Buffer[]): void {
  const list = ctx.server.placement().owners(argv[2]);
  ctx.reply.array(list.length);
  for (const id of list) ctx.reply.bulkString(id);
}

/** Cells listed by RING LOCAL; a bigger collection shows only its counts. */
const LOCAL_CELLS_MAX = 64;

/** This node's own copy of a key, whatever its liveness: nil when it holds nothing. */
function local(ctx: CommandContext, argv: Buffer[]): void {
  const key = argv[2];
  const ks = ctx.db.ks;
  const db = ctx.db.index;
  const m = ks.meta(db, key);
  const r = ctx.reply;
  if (!m.stored || m.isEmpty()) {
    r.nil();
    return;
  }
  const live = m.live(ctx.nowMs);
  const at = m.metaLive() ? m.expireAtMs : 0;
  const stamp = (t: number, n: number): string => (t === 0 ? '' : `${t}.${n}`);
  r.map(10);
  r.bulkString('type');
  r.bulkString(live && m.type !== null ? m.type : 'none');
  r.bulkString('meta-stamp');
  r.bulkString(stamp(m.metaT, m.metaN));
  r.bulkString('deleted-at');
  r.bulkString(stamp(m.delT, m.delN));
  r.bulkString('value-stamp');
  r.bulkString(stamp(m.valT, m.valN));
  r.bulkString('live-cells');
  r.integer(m.count);
  r.bulkString('stored-cells');
  r.integer(m.cells);
  r.bulkString('cells');
  const cells: [Buffer, string][] = [];
  if (m.cells > 0 && m.cells <= LOCAL_CELLS_MAX) {
    ks.scanCells(db, key, m, CELL_FIELD, (c) => {
      cells.push([c.field, `${c.t}.${c.n}${c.value === null ? ' deleted' : ''}`]);
      return true;
    }, null, true);
  }
  r.array(cells.length * 2);
  for (const [f, d] of cells) {
    r.bulk(f);
    r.bulkString(d);
  }
  r.bulkString('expire-at-ms');
  r.integer(at);
  r.bulkString('ttl-ms');
  r.integer(at === 0 ? -1 : Math.max(0, at - ctx.nowMs));
  r.bulkString('digest');
  r.bulkString(Buffer.from(m.digest()).toString('hex'));
}

function consistency(ctx: CommandContext, argv: Buffer[]): void {
  const p = ctx.server.placement();
  if (argv.length === 1) {
    const l = p.levels(ctx.client);
    ctx.reply.array(4);
    for (const [name, level] of [['W', levelName(l.w)], ['R', levelName(l.r)]] as const) {
      ctx.reply.bulkString(name);
      scalar(ctx.reply, level);
    }
    return;
  }
  const parsed = parseConsistency(argv.slice(1).map((a) => a.toString('latin1')), p.replicas(), p.localDc());
  if (typeof parsed === 'string') {
    ctx.reply.error(parsed);
    return;
  }
  p.setLevels(ctx.client, parsed);
  ctx.reply.ok();
}

function nodes(ctx: CommandContext): void {
  const r = ctx.reply;
  const list = ctx.server.cluster().nodes();
  r.array(list.length);
  for (const n of list) {
    r.map(12);
    r.bulkString('id');
    r.bulkString(n.id);
    r.bulkString('address');
    r.bulkString(`${n.host}:${n.port}`);
    r.bulkString('bus-address');
    r.bulkString(`${n.host}:${n.busPort}`);
    r.bulkString('dc');
    r.bulkString(n.dc);
    r.bulkString('rack');
    r.bulkString(n.rack);
    r.bulkString('vnodes');
    r.integer(n.vnodes);
    r.bulkString('state');
    r.bulkString(n.up ? 'up' : 'down');
    r.bulkString('status');
    r.bulkString(n.status);
    r.bulkString('replaces');
    r.bulkString(n.replaces);
    r.bulkString('generation');
    r.integer(n.generation);
    r.bulkString('heartbeat-age-ms');
    if (n.heartbeatAgeMs === null) r.nil();
    else r.integer(n.heartbeatAgeMs);
    r.bulkString('self');
    r.integer(n.self ? 1 : 0);
  }
}

/** Pending hints kept on this node, one map per target node. */
function hints(ctx: CommandContext): void {
  const list = ctx.server.cluster().hints();
  ctx.reply.array(list.length);
  for (const h of list) {
    fieldMap(ctx.reply, [
      ['target', h.target],
      ['state', h.targetUp ? 'up' : 'down'],
      ['count', h.count],
      ['bytes', h.bytes],
      ['oldest-age-ms', h.oldestAgeMs],
    ]);
  }
}

/** A number as an integer reply, text as a bulk string. */
function scalar(r: ReplyWriter, v: string | number): void {
  if (typeof v === 'number') r.integer(v);
  else r.bulkString(v);
}

/** Named fields as a map (a flat array in RESP2). */
function fieldMap(r: ReplyWriter, fields: readonly (readonly [string, string | number])[]): void {
  r.map(fields.length);
  for (const [name, value] of fields) {
    r.bulkString(name);
    scalar(r, value);
  }
}

/** RING FAULT BLOCK id... | CLEAR | LIST: the bus fault-injection switch. */
function fault(ctx: CommandContext, argv: Buffer[]): void {
  const f = ctx.server.cluster().faults();
  if (f === null) {
    ctx.reply.error('ERR fault injection is disabled (start the node with fault-injection yes)');
    return;
  }
  const op = argv[2].toString('latin1').toLowerCase();
  if (op === 'block' && argv.length > 3) {
    f.block(argv.slice(3).map((a) => a.toString()));
    ctx.reply.ok();
  } else if (op === 'clear' && argv.length === 3) {
    f.clear();
    ctx.reply.ok();
  } else if (op === 'list' && argv.length === 3) {
    const ids = f.blocked();
    ctx.reply.array(ids.length);
    for (const id of ids) ctx.reply.bulkString(id);
  } else {
    ctx.reply.error('ERR syntax error');
  }
}

/** RING REPAIR [START|STATUS]: start an anti-entropy repair, or show its progress. */
function repair(ctx: CommandContext, argv: Buffer[]): void {
  const op = argv.length === 2 ? 'status' : argv[2].toString('latin1').toLowerCase();
  if (argv.length > 3 || (op !== 'start' && op !== 'status')) {
    ctx.reply.error(E.syntax);
    return;
  }
  const control = ctx.server.cluster().repair();
  if (control === null) {
    ctx.reply.error('ERR anti-entropy is off on this node (it needs cluster mode, anti-entropy yes and tombstone-grace > 0)');
    return;
  }
  if (op === 'start') {
    const err = control.start();
    if (err === null) ctx.reply.ok();
    else ctx.reply.error(err);
    return;
  }
  fieldMap(ctx.reply, control.status());
}

/** The membership control, or an error reply on a standalone node. */
function membershipControl(ctx: CommandContext): MembershipControl | null {
  const c = ctx.server.cluster().membership();
  if (c === null) ctx.reply.error('ERR this node is standalone (no seeds): there is no ring to change');
  return c;
}

/** RING LEAVE: stream this node's ranges to their next owners, then leave the ring. */
function leave(ctx: CommandContext): void {
  const c = membershipControl(ctx);
  if (c === null) return;
  const err = c.leave();
  if (err === null) ctx.reply.ok();
  else ctx.reply.error(err);
}

/** RING REMOVE <node-id>: re-replicate a dead node's ranges from the survivors; it leaves. */
function remove(ctx: CommandContext, argv: Buffer[]): void {
  const c = membershipControl(ctx);
  if (c === null) return;
  const err = c.remove(argv[2].toString());
  if (err === null) ctx.reply.ok();
  else ctx.reply.error(err);
}

/** RING TRANSFERS: the pending plan's fields, then one map per transfer. */
function transfers(ctx: CommandContext): void {
  const c = membershipControl(ctx);
  if (c === null) return;
  const st = c.transfers();
  ctx.reply.array(2);
  fieldMap(ctx.reply, st.summary);
  ctx.reply.array(st.rows.length);
  for (const row of st.rows) fieldMap(ctx.reply, row);
}

const RING_HELP = [
  'RING <subcommand> [<arg> ...]. Subcommands are:',
  'NODES',
  '    List the members of the cluster as this node sees them: id, addresses, dc, rack,',
  '    vnodes, state (up/down), status (joining/normal/leaving/removing/left), the node it',
  '    replaces, generation, heartbeat age, and which one is this node.',
  'OWNERS <key>',
  '    The key\'s replicas (its preference list), primary first.',
  'LOCAL <key>',
  '    This node\'s own copy of the key: type, version stamps, cells, expiry, digest; nil if none.',
  'HINTS',
  '    Hints this node keeps for other nodes, per target: state (up/down), count, bytes,',
  '    age of the oldest. Empty when every hint has been delivered.',
  'FAULT BLOCK <node-id> [<node-id> ...] | FAULT CLEAR | FAULT LIST',
  '    Cut this node off from the given nodes on the cluster bus, heal, or list the cut ones',
  '    (only with the fault-injection directive; for partition tests).',
  'REPAIR [START|STATUS]',
  '    START: compare this node\'s Merkle trees with every replica it shares ranges with and',
  '    exchange the records that differ, both ways. STATUS (the default): state (idle/waiting/',
  '    running/done/incomplete), ranges done/total, keys compared and exchanged, bytes, start',
  '    time, ETA, and why it is incomplete.',
  'LEAVE',
  '    Take this node out of the cluster: its ranges stream to the nodes that take them over,',
  '    then its status becomes left and it can be stopped. Progress: RING TRANSFERS.',
  'REMOVE <node-id>',
  '    Take out a node that is gone for good (it must be down): its ranges are re-replicated',
  '    from the surviving replicas, then it is marked left.',
  'TRANSFERS',
  '    The pending membership change on this node (plan, changes, nodes still receiving,',
  '    cleanup), then every transfer: direction, range, from, to, state, keys, bytes,',
  '    keys/s, MB/s, percent and ETA.',
  'HELP',
  '    Print this help.',
];

const ringSubcommands: CommandSpec[] = [
  { name: 'owners', arity: 3, flags: ['readonly', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Lists the replicas of a key, primary first.', since: '0.1.0', handler: owners },
  { name: 'local', arity: 3, flags: ['readonly', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Shows this node\'s own copy of a key.', since: '0.1.0', handler: local },
  { name: 'hints', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Lists the hints this node keeps for other nodes.', since: '0.1.0', handler: hints },
  { name: 'fault', arity: -3, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Cuts this node off from other nodes on the cluster bus (fault injection for tests).', since: '0.1.0', handler: fault },
  { name: 'repair', arity: -2, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Starts an anti-entropy repair of this node, or shows its progress.', since: '0.1.0', handler: repair },
  { name: 'leave', arity: 2, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Streams this node\'s ranges to their next owners, then takes it out of the ring.', since: '0.2.0', handler: leave },
  { name: 'remove', arity: 3, flags: ['admin', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Takes a dead node out of the ring, re-replicating its ranges from the survivors.', since: '0.2.0', handler: remove },
  { name: 'transfers', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Shows the pending membership change and its range transfers.', since: '0.2.0', handler: transfers },
  { name: 'nodes', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Lists the members of the cluster as this node sees them.', since: '0.1.0', handler: nodes },
  {
    name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Returns helpful text about the different subcommands.', since: '0.1.0',
    handler: (ctx) => helpReply(ctx.reply, RING_HELP),
  },
];

export const ringCommands: readonly CommandSpec[] = [
  { name: 'consistency', arity: -1, flags: ['fast', 'loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Shows or sets this connection\'s write and read quorums.', since: '0.1.0', handler: consistency },
  { name: 'ring', arity: -2, flags: [], keys: NO_KEYS, group: 'cluster', summary: 'A container for quorumkv cluster commands.', since: '0.1.0', subcommands: ringSubcommands },
];
