/**
 * RING: quorumkv's own commands about the cluster. RING NODES lists the membership table as
 * this node sees it, one map per node (a flat array in RESP2).
 */
import { NO_KEYS, type CommandContext, type CommandSpec } from './types';

function nodes(ctx: CommandContext): void {
  const r = ctx.reply;
  const list = ctx.server.cluster().nodes();
  r.array(list.length);
  for (const n of list) {
    r.map(11);
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
    r.bulkString('generation');
    r.integer(n.generation);
    r.bulkString('heartbeat-age-ms');
    if (n.heartbeatAgeMs === null) r.nil();
    else r.integer(n.heartbeatAgeMs);
    r.bulkString('self');
    r.integer(n.self ? 1 : 0);
  }
}

const RING_HELP = [
  'RING <subcommand> [<arg> ...]. Subcommands are:',
  'NODES',
  '    List the members of the cluster as this node sees them: id, addresses, dc, rack,',
  '    vnodes, state (up/down), status, generation, heartbeat age, and which one is this node.',
  'HELP',
  '    Print this help.',
];

const ringSubcommands: CommandSpec[] = [
  { name: 'nodes', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Lists the members of the cluster as this node sees them.', since: '0.1.0', handler: nodes },
  {
    name: 'help', arity: 2, flags: ['loading', 'stale'], keys: NO_KEYS, group: 'cluster', summary: 'Returns helpful text about the different subcommands.', since: '0.1.0',
    handler: (ctx) => {
      ctx.reply.array(RING_HELP.length);
      for (const l of RING_HELP) ctx.reply.simple(l);
    },
  },
];

export const ringCommands: readonly CommandSpec[] = [
  { name: 'ring', arity: -2, flags: [], keys: NO_KEYS, group: 'cluster', summary: 'A container for quorumkv cluster commands.', since: '0.1.0', subcommands: ringSubcommands },
];
