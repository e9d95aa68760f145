/**
 * The cluster bus: what other modules import. The verb table is verbs.ts; the wire format
 * is described there and in messages.ts (RESP messages, batched per turn), server.ts and peer.ts.
 */
export { ClusterBus, DEFAULT_BUS_LIMITS, type BusLimits, type BusStats, type ClusterBusOptions, type PeerStatus } from './bus';
export {
  BusAuthError,
  BusCodecError,
  BusError,
  BusOverloadedError,
  BusRemoteError,
  BusTimeoutError,
  BusUnreachableError,
  WireCode,
} from './errors';
export { MemoryNetwork, MemoryTransport, type Deliver } from './memory-transport';
export { peerKey, type BusTransport, type PeerAddress, type PeerInfo, type RequestOptions, type VerbHandler } from './transport';
export { codec, defineVerb, verbTable, type AnyVerb, type Verb, type VerbSpec } from './verb';
export { BUS_VERBS, PING, VERB_BY_NAME } from './verbs';
