/**
 * The mechanism behind the verb table: a verb is a name, a line of documentation and a codec
 * for its request and its response (typed payload ↔ array of Buffers). `defineVerb` turns
 * that spec into a typed `call` (client side) and `handle` (server side), so no module
 * ever builds or parses bus arguments by hand. The table itself, with every verb the
 * cluster speaks, is verbs.ts.
 *
 * Codecs throw BusCodecError on malformed input: on the serving side that becomes an error
 * reply (BADREQ), on the calling side a rejected call.
 */
import { BusCodecError } from './errors';
import type { BusTransport, PeerAddress, PeerInfo, RequestOptions, VerbHandler } from './transport';

export interface VerbSpec<Req, Res> {
  /** Lower-case wire name, unique in the table. */
  readonly name: string;
  /** One line: what the verb is for, who sends it, what the reply means. */
  readonly doc: string;
  /** Served by the bus itself (handshake): setHandler refuses it. */
  readonly reserved?: boolean;
  encodeRequest(req: Req): Buffer[];
  decodeRequest(args: Buffer[]): Req;
  encodeResponse(res: Res): Buffer[];
  decodeResponse(payload: Buffer[]): Res;
}

export interface Verb<Req, Res> extends VerbSpec<Req, Res> {
  /** Send `req` to `peer` and decode its reply. */
  call(transport: BusTransport, peer: PeerAddress, req: Req, opts?: RequestOptions): Promise<Res>;
  /** Serve this verb on `transport` with `fn`. */
  handle(transport: BusTransport, fn: (from: PeerInfo, req: Req) => Res | Promise<Res>): void;
}

/** A verb of any payload types, as the table holds them. */
export interface AnyVerb {
  readonly name: string;
  readonly doc: string;
  readonly reserved?: boolean;
}

const VERB_NAME = /^[a-z][a-z0-9.-]{0,31}$/;

/**
 * A verb served with its codec, for transports that apply the codec themselves: `run`
 * decodes the request and calls the handler; the transport encodes the result with
 * `encode` when it is ready (for an async handler, in the same callback that sends the
 * reply, rather than in a promise of its own).
 */
export interface CodecHandler {
  run(from: PeerInfo, args: Buffer[]): unknown;
  encode(res: unknown): Buffer[];
}

/**
 * Optional fast path of a BusTransport (ClusterBus has it, the in-memory twin need not):
 * the reply is decoded before the caller's promise settles, and handlers are served with
 * their codec, so a typed call costs one promise instead of two, and so does a served one.
 */
export interface CodecTransport {
  requestDecoded<T>(peer: PeerAddress, verb: string, args: Buffer[], decode: (payload: Buffer[]) => T, opts?: RequestOptions): Promise<T>;
  setCodecHandler(verb: string, handler: CodecHandler): void;
}

function hasCodecPath(t: BusTransport): t is BusTransport & CodecTransport {
  const c = t as Partial<CodecTransport>;
  return typeof c.requestDecoded === 'function' && typeof c.setCodecHandler === 'function';
}

export function defineVerb<Req, Res>(spec: VerbSpec<Req, Res>): Verb<Req, Res> {
  if (!VERB_NAME.test(spec.name)) throw new Error(`bad bus verb name '${spec.name}'`);
  const { name, encodeRequest, decodeResponse, decodeRequest, encodeResponse } = spec;
  return {
    ...spec,
    call(transport, peer, req, opts) {
      if (hasCodecPath(transport)) return transport.requestDecoded(peer, name, encodeRequest(req), decodeResponse, opts);
      return transport.request(peer, name, encodeRequest(req), opts).then(decodeResponse);
    },
    handle(transport, fn) {
      if (hasCodecPath(transport)) {
        transport.setCodecHandler(name, {
          run: (from, args) => fn(from, decodeRequest(args)),
          encode: encodeResponse as (res: unknown) => Buffer[],
        });
        return;
      }
      const handler: VerbHandler = (from, args) => {
        const r = fn(from, decodeRequest(args));
        return r instanceof Promise ? r.then(encodeResponse) : encodeResponse(r);
      };
      transport.setHandler(name, handler);
    },
  };
}

/** The table as a map by name; throws on a duplicate name (a broken invariant). */
export function verbTable(verbs: readonly AnyVerb[]): ReadonlyMap<string, AnyVerb> {
  const m = new Map<string, AnyVerb>();
  for (const v of verbs) {
    if (m.has(v.name)) throw new Error(`bus verb '${v.name}' is defined twice`);
    m.set(v.name, v);
  }
  return m;
}

/** Small building blocks for codecs. Numbers travel as decimal ASCII, like RESP integers. */
export const codec = {
  /** Throw unless there are exactly (or, with `max`, between min and max) arguments. */
  arity(args: Buffer[], min: number, max: number = min, what = 'payload'): void {
    if (args.length < min || args.length > max) {
      const want = min === max ? `${min}` : `${min}..${max}`;
      throw new BusCodecError(`${what}: expected ${want} arguments, got ${args.length}`);
    }
  },
  str(s: string): Buffer {
    return Buffer.from(s, 'utf8');
  },
  toStr(b: Buffer): string {
    return b.toString('utf8');
  },
  /** A safe integer (negative allowed). */
  int(n: number): Buffer {
    if (!Number.isSafeInteger(n)) throw new BusCodecError(`not a safe integer: ${n}`);
    return Buffer.from(String(n), 'latin1');
  },
  toInt(b: Buffer): number {
    const v = parseDecimal(b);
    if (v === null) throw new BusCodecError(`not an integer: '${b.toString('latin1', 0, 24)}'`);
    return v;
  },
  bool(v: boolean): Buffer {
    return v ? ONE : ZERO;
  },
  toBool(b: Buffer): boolean {
    if (b.length === 1 && (b[0] === 0x30 || b[0] === 0x31)) return b[0] === 0x31;
    throw new BusCodecError(`not a boolean: '${b.toString('latin1', 0, 24)}'`);
  },
} as const;

const ONE = Buffer.from('1');
const ZERO = Buffer.from('0');

/**
 * A decimal integer (optional '-', digits, no leading zeros beyond "0") within the safe
 * range, or null. Used for request ids on the hot path, so no string is built.
 */
export function parseDecimal(b: Buffer): number | null {
  const n = b.length;
  if (n === 0 || n > 17) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    if (n === 1) return null;
    neg = true;
    i = 1;
  }
  if (b[i] === 0x30 && n > i + 1) return null;
  let v = 0;
  for (; i < n; i++) {
    const c = b[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (!Number.isSafeInteger(v)) return null;
  return neg ? -v : v;
}
