/**
 * The membership shell: runs the Gossiper core on real time and the cluster bus, and keeps
 * the node's view of the cluster (who exists, who is up, the ring built from them).
 *
 * - A tick (every tenth of gossip-interval, at least 10 ms) drives the core; `send` effects
 *   go out as GOSSIP requests, `up`/`down` are logged, `member-changed` rebuilds the ring and
 *   persists the table (dir/membership.json, written to a temporary file and renamed) so a
 *   restarted node rejoins without seeds, with its generation bumped.
 * - Incoming GOSSIP requests are decoded and fed to the core; a message that does not decode
 *   is logged and dropped. The bus has already authenticated the peer (cluster-secret).
 * - Down is a routing opinion; it never changes the ring. Only status 'left' does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../runtime/clock';
import type { Logger } from '../runtime/log';
import { realScheduler, type Cancel, type Scheduler } from '../runtime/scheduler';
import type { BusTransport, PeerAddress } from '../bus/transport';
import { GOSSIP } from '../bus/verbs';
import { Ring } from '../ring/ring';
import { Gossiper, type GossipEffect, type SeedAddress } from './gossiper';
import type { Member } from './member';
import { decodeGossipMessage, encodeGossipMessage, type GossipMessage } from './messages';
import { nextGeneration, parseTableJSON } from './table';

export interface MembershipServiceOptions {
  self: Omit<Member, 'generation' | 'heartbeat' | 'status'>;
  seeds: readonly SeedAddress[];
  gossipIntervalMs: number;
  failTimeoutMs: number;
  dir: string;
  bus: BusTransport;
  clock: Clock;
  log: Logger;
  random: () => number;
  /** Called with every new ring (at start and whenever membership changes). */
  onRing?: (ring: Ring) => void;
  /** Drives the tick; default: real timers (the cluster simulation passes a simulated one). */
  scheduler?: Scheduler;
}

const STATE_FILE = 'membership.json';

/** Parse `host:port` seed addresses; returns an error text for a bad one. */
export function parseSeeds(list: readonly string[]): SeedAddress[] | string {
  const out: SeedAddress[] = [];
  for (const s of list) {
    const m = /^(.+):(\d{1,5})$/.exec(s);
    if (m === null || Number(m[2]) > 65535) return `bad seed '${s}': expected host:bus-port`;
    out.push({ host: m[1], busPort: Number(m[2]) });
  }
  return out;
}

export class MembershipService {
  private readonly gossiper: Gossiper;
  private ring!: Ring;
  private addresses = new Map<string, PeerAddress>();
  private timer: Cancel | null = null;
  private readonly file: string;
  stats = { gossipSent: 0, gossipReceived: 0, gossipFailed: 0, badMessages: 0 };

  constructor(private readonly opts: MembershipServiceOptions) {
    this.file = path.join(opts.dir, STATE_FILE);
    const saved = this.load();
    const self: Member = {
      ...opts.self,
      generation: nextGeneration(saved?.self.generation ?? null, opts.clock.nowMs()),
      heartbeat: 0,
      status: saved?.self.status === 'left' ? 'left' : 'normal',
    };
    this.gossiper = new Gossiper(
      self,
      {
        gossipIntervalMs: opts.gossipIntervalMs,
        failTimeoutMs: opts.failTimeoutMs,
        seeds: opts.seeds,
        knownPeers: saved?.peers ?? [],
      },
      opts.random,
    );
    this.rebuild();
    GOSSIP.handle(opts.bus, (_from, raw) => {
      this.receive(raw);
      return null;
    });
  }

  private load(): { self: Member; peers: Member[] } | null {
    if (!fs.existsSync(this.file)) return null;
    try {
      const parsed = parseTableJSON(JSON.parse(fs.readFileSync(this.file, 'utf8')));
      if (parsed.self.id !== this.opts.self.id) {
        this.opts.log.warning(`${this.file} belongs to node ${parsed.self.id}, not ${this.opts.self.id}: ignored`);
        return null;
      }
      return parsed;
    } catch (err) {
      this.opts.log.warning(`cannot read ${this.file}: ${(err as Error).message}; starting from seeds`);
      return null;
    }
  }

  private persist(): void {
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.gossiper.toJSON()));
    fs.renameSync(tmp, this.file);
  }

  start(): void {
    this.opts.onRing?.(this.ring);
    this.persist();
    const every = Math.max(10, Math.floor(this.opts.gossipIntervalMs / 10));
    this.timer = (this.opts.scheduler ?? realScheduler).every(every, () => this.run(this.gossiper.tick(this.opts.clock.nowMs())));
    this.run(this.gossiper.tick(this.opts.clock.nowMs()));
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private receive(raw: Buffer): void {
    let msg: GossipMessage;
    try {
      msg = decodeGossipMessage(raw);
    } catch (err) {
      this.stats.badMessages++;
      this.opts.log.warning(`dropped a gossip message that does not decode: ${(err as Error).message}`);
      return;
    }
    this.stats.gossipReceived++;
    this.run(this.gossiper.receive(msg, this.opts.clock.nowMs()));
  }

  /** Carry out the core's effects. */
  private run(effects: GossipEffect[]): void {
    let changed = false;
    const encoded = new Map<GossipMessage, Buffer>();
    for (const e of effects) {
      switch (e.kind) {
        case 'send': {
          let buf = encoded.get(e.msg);
          if (buf === undefined) {
            buf = encodeGossipMessage(e.msg);
            encoded.set(e.msg, buf);
          }
          this.stats.gossipSent++;
          const peer = { host: e.to.host, port: e.to.busPort, ...(e.to.id !== null ? { id: e.to.id } : {}) };
          GOSSIP.call(this.opts.bus, peer, buf).catch(() => {
            this.stats.gossipFailed++;
          });
          break;
        }
        case 'up':
          this.opts.log.notice(`node ${e.id} is up`);
          break;
        case 'down':
          this.opts.log.warning(`node ${e.id} is down`);
          break;
        case 'member-changed':
          if (e.previous === null) this.opts.log.notice(`node ${e.member.id} joined at ${e.member.host}:${e.member.port} (dc ${e.member.dc}, rack ${e.member.rack})`);
          changed = true;
          break;
      }
    }
    if (changed) {
      this.rebuild();
      this.opts.onRing?.(this.ring);
      this.persist();
    }
  }

  /** The ring and the bus addresses, from the members: after any member changed. */
  private rebuild(): void {
    const members = this.gossiper.members();
    this.ring = Ring.build(members.filter((m) => m.status !== 'left').map((m) => ({ id: m.id, dc: m.dc, rack: m.rack, vnodes: m.vnodes })));
    this.addresses = new Map(members.map((m) => [m.id, { id: m.id, host: m.host, port: m.busPort }]));
  }

  // ------------------------------------------------------------------ queries

  currentRing(): Ring {
    return this.ring;
  }

  members(): readonly Member[] {
    return this.gossiper.members();
  }

  /** Where a member's cluster bus listens (null: not a member). */
  busAddress(id: string): PeerAddress | null {
    return this.addresses.get(id) ?? null;
  }

  isUp(id: string): boolean {
    return this.gossiper.isUp(id, this.opts.clock.nowMs());
  }

  heartbeatAgeMs(id: string): number | null {
    return this.gossiper.heartbeatAgeMs(id, this.opts.clock.nowMs());
  }

  selfId(): string {
    return this.gossiper.selfId;
  }
}
