/**
 * What the validator-network code counts about its traffic, as a small
 * interface the node wires to its metrics (`p2p` does not import `metrics`).
 * Every method may be a no-op.
 * @module
 */

/** `stream`: a peer link (WebSocket); `http`: `POST /p2p/message` and `POST /p2p/txs`. */
export type P2pChannel = 'stream' | 'http';
/** An envelope type, `other` (an envelope of no known type) or `txs` (a tx batch). */
export type P2pKind = 'proposal' | 'prevote' | 'precommit' | 'finalize' | 'other' | 'txs';

export interface P2pTraffic {
  /** `count` messages of `kind` sent to one peer. */
  sent(kind: P2pKind, count: number): void;
  received(kind: P2pKind, count: number): void;
  bytesSent(channel: P2pChannel, bytes: number): void;
  bytesReceived(channel: P2pChannel, bytes: number): void;
  /** Stream traffic dropped (a full send buffer, or an inbound stream closed for `reason`). */
  dropped(reason: string, count: number): void;
  /** A message received on a stream was refused with this error code. */
  refused(code: string): void;
  /** Streams open in a direction moved by `delta`. */
  streams(direction: 'in' | 'out', delta: number): void;
}

export const NO_TRAFFIC: P2pTraffic = {
  sent: () => undefined,
  received: () => undefined,
  bytesSent: () => undefined,
  bytesReceived: () => undefined,
  dropped: () => undefined,
  refused: () => undefined,
  streams: () => undefined,
};

const KINDS: ReadonlySet<string> = new Set(['proposal', 'prevote', 'precommit', 'finalize']);

/** The kind of a received envelope, from its (unchecked) `type` field. */
export function envelopeKind(json: unknown): P2pKind {
  const t = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
  return typeof t === 'string' && KINDS.has(t) ? (t as P2pKind) : 'other';
}
