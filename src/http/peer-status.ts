/**
 * Other nodes' load for the status page. Gossip carries no load figures, so a page asks the
 * peers this node sees up, over the bus (verb node.status: keys, engine bytes, hints
 * pending). Each peer is asked at most once a second, however many pages poll, with a
 * timeout of at most a second; the page shows the last answer with its age, and nothing for
 * a peer that never answered (down since this node started, or an older version without
 * the verb). Every node serves the verb, whether or not it has an http-port.
 */
import { NODE_STATUS } from '../bus/verbs';
import type { BusTransport, PeerAddress } from '../bus/transport';
import { DB_COUNT } from '../storage/keyspace';
import type { NodeSources } from './sources';

export interface NodeLoad {
  keys: number;
  engineBytes: number;
  /** Hints the node keeps for other nodes, and their bytes. */
  hintsPending: number;
  hintsBytes: number;
}

/** This node's load, from the same sources as INFO (keyspace, engine, hint store). */
export function localLoad(src: Pick<NodeSources, 'keyspace' | 'engine' | 'handoff'>): NodeLoad {
  let keys = 0;
  for (let db = 0; db < DB_COUNT; db++) keys += src.keyspace.dbSize(db);
  const hints = src.handoff?.totals();
  return { keys, engineBytes: src.engine.approximateSize(), hintsPending: hints?.count ?? 0, hintsBytes: hints?.bytes ?? 0 };
}

export function encodeLoad(l: NodeLoad): Buffer[] {
  return [l.keys, l.engineBytes, l.hintsPending, l.hintsBytes].map((n) => Buffer.from(String(n)));
}

/** A node.status reply, or null when it is not one. */
export function decodeLoad(reply: readonly Buffer[]): NodeLoad | null {
  if (reply.length < 4) return null;
  const [keys, engineBytes, hintsPending, hintsBytes] = reply.slice(0, 4).map((b) => Number(b.toString('latin1')));
  if (![keys, engineBytes, hintsPending, hintsBytes].every((n) => Number.isSafeInteger(n) && n >= 0)) return null;
  return { keys, engineBytes, hintsPending, hintsBytes };
}

/** How often one peer is asked, at most. */
const REFRESH_MS = 1000;

export interface PeerLoadsDeps {
  transport: BusTransport;
  address(id: string): PeerAddress | null;
  timeoutMs(): number;
  nowMs(): number;
}

interface Known {
  load: NodeLoad | null;
  atMs: number;
  askedMs: number;
  pending: Promise<void> | null;
}

export class PeerLoads {
  private readonly known = new Map<string, Known>();

  constructor(private readonly deps: PeerLoadsDeps) {}

  /**
   * The latest load of each of `ids`, with its age, after asking again those `ask` allows
   * (the ones seen up) that were not asked for a second.
   */
  async get(ids: readonly string[], ask: (id: string) => boolean = () => true): Promise<Map<string, { load: NodeLoad; ageMs: number }>> {
    const now = this.deps.nowMs();
    const waits: Promise<void>[] = [];
    for (const id of ids) {
      let k = this.known.get(id);
      if (k === undefined) this.known.set(id, (k = { load: null, atMs: 0, askedMs: 0, pending: null }));
      if (k.pending === null && now - k.askedMs >= REFRESH_MS && ask(id)) {
        const entry = k;
        entry.askedMs = now;
        // .then/.finally run later, so `pending` is cleared only after it was set.
        entry.pending = this.ask(id)
          .then((load) => {
            if (load === null) return;
            entry.load = load;
            entry.atMs = this.deps.nowMs();
          })
          .finally(() => {
            entry.pending = null;
          });
      }
      if (k.pending !== null) waits.push(k.pending);
    }
    await Promise.all(waits);
    const out = new Map<string, { load: NodeLoad; ageMs: number }>();
    const at = this.deps.nowMs();
    for (const id of ids) {
      const k = this.known.get(id);
      if (k?.load != null) out.set(id, { load: k.load, ageMs: Math.max(0, at - k.atMs) });
    }
    return out;
  }

  /** One peer's load; null when it cannot say (unreachable, timed out, an older node without the verb). */
  private async ask(id: string): Promise<NodeLoad | null> {
    const addr = this.deps.address(id);
    if (addr === null) return null;
    try {
      return decodeLoad(await NODE_STATUS.call(this.deps.transport, addr, [], { timeoutMs: Math.min(1000, this.deps.timeoutMs()) }));
    } catch {
      return null;
    }
  }
}
