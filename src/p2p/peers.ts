/**
 * The peer book: base URLs of other nodes, where each came from, who holds
 * them (the node id their hello proved, see `hello.ts`) and their health. A
 * peer that fails is skipped for an exponentially growing time (100 ms
 * doubling up to 5 s) and tried again afterwards; a success resets it.
 *
 * Where a peer comes from decides what it takes to be used:
 * - `config` (the `peers` setting): used at once, as before any handshake;
 *   its hello is asked too, and a hello that proves it another chain (or a
 *   forged answer) stops its use, one signed with this node's key drops it
 *   (it is this node under another name).
 * - `admin` (`POST /p2p/peers`): used once its hello checks.
 * - `discovered` (listed by a peer): enters the book only with a node id its
 *   hello proved (`addDiscovered`), one URL per node id; it ages out when it
 *   has not answered for the discovered-peer TTL (`expire`), and is the one
 *   dropped when a config or admin peer needs its place: discovered peers never
 *   crowd out the operator's.
 *
 * A peer that served bad or slow data (a sync answer past its deadline or
 * byte cap, a block that does not check) is penalized: it is skipped for a
 * time that doubles with each penalty (100 ms up to 60 s), and its
 * `lastError` says why. After `PENALTY_LIMIT` penalties in a row a peer that
 * was discovered is dropped from the book and not taken back from discovery
 * for `BAN_MS`; a peer from the config or the admin API is kept (its operator
 * put it there) and stays backed off. Serving sync blocks that check clears
 * the penalties.
 *
 * Pure bookkeeping: time is passed in.
 * @module
 */
export type PeerSource = 'config' | 'admin' | 'discovered';

/**
 * What the peer's hello showed: `pending` (not asked yet, or no answer),
 * `verified` (this chain; `nodeId` is its node key's address), `refused`
 * (another chain, or an answer that does not check).
 */
export type PeerIdentity = 'pending' | 'verified' | 'refused';

export interface Peer {
  readonly url: string;
  source: PeerSource;
  /** The node id its hello proved (null until then). */
  nodeId: string | null;
  identity: PeerIdentity;
  /** Why its last hello failed or was refused (null once verified). */
  helloError: string | null;
  /** Hellos in a row that failed or were refused. */
  helloFailures: number;
  /** Its hello is not asked again before this time (ms). */
  helloRetryAt: number;
  failures: number;
  /** Not contacted before this time (ms). */
  retryAt: number;
  lastOkAt: number | null;
  lastError: string | null;
  /** Penalties since the peer last served sync blocks that checked (bad or slow data). */
  penalties: number;
  /** Why it was last penalized (null when `penalties` is 0). */
  lastPenalty: string | null;
  /** When it last answered (a request or its hello); when it was added, before that. Discovered peers age out by it. */
  lastSeenAt: number;
}

/** What `PeerBook.penalize` did. */
export type PenaltyOutcome = 'backedOff' | 'dropped' | 'unknown';

/** What `PeerBook.addOperatorPeer` did. */
export type OperatorAddOutcome = 'added' | 'promoted' | 'duplicate' | 'self' | 'invalid' | 'full';

export interface PeerBookOptions {
  /** Called for each peer the book drops by itself (aged out, evicted, penalized away, found to be this node). */
  readonly onDropped?: (url: string, why: string) => void;
  /**
   * Called when a peer becomes unreachable (its `UNREACHABLE_AFTER_FAILURES`-th
   * failed request in a row; `wasUp` when it had answered before) and when it
   * answers again after that.
   */
  readonly onReachability?: (peer: Peer, reachable: boolean, wasUp: boolean) => void;
}

/** Failed requests in a row after which a peer counts as unreachable (lost) until it answers again. */
export const UNREACHABLE_AFTER_FAILURES = 3;

/** Whether a peer counts as connected: it may be used, has answered, and has not failed since. */
export function isConnected(p: Peer): boolean {
  return isUsable(p) && p.lastOkAt !== null && p.failures < UNREACHABLE_AFTER_FAILURES;
}

const BACKOFF_BASE_MS = 100;
/** Short enough that a validator restarting after a crash is heard again within seconds. */
const BACKOFF_MAX_MS = 5_000;
/** Longest time a penalized peer is skipped. */
const PENALTY_BACKOFF_MAX_MS = 60_000;
/** First and longest wait before a failed hello of a config or admin peer is asked again. */
const HELLO_RETRY_BASE_MS = 1_000;
const HELLO_RETRY_MAX_MS = 60_000;
/** Penalties in a row after which a discovered peer is dropped. */
export const PENALTY_LIMIT = 5;
/** How long a dropped peer is not taken back from discovery. */
export const BAN_MS = 10 * 60_000;
/** Most dropped peers remembered (the oldest is forgotten first). */
const MAX_BANNED = 1000;
/** Most URLs of this node remembered (beyond, discovery keeps refusing them for a while, see discovery.ts). */
export const MAX_SELF_URLS = 256;

/** The exponential backoff after the `count`-th failure in a row. */
function backoffMs(count: number, maxMs: number, baseMs = BACKOFF_BASE_MS): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(16, Math.max(0, count - 1)));
}

/** Normalizes a peer URL: http(s) only, no path, query or credentials; null if unusable. */
export function normalizePeerUrl(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') return null;
  if (u.pathname !== '/' && u.pathname !== '') return null;
  return `${u.protocol}//${u.host}`;
}

/** Whether messages and sync requests may go to the peer (see the module comment). */
export function isUsable(p: Peer): boolean {
  return p.identity === 'verified' || (p.identity === 'pending' && p.source === 'config');
}

export class PeerBook {
  private readonly peers = new Map<string, Peer>();

  /** Our own URL(s), never added as a peer. */
  private readonly self = new Set<string>();

  /** Dropped peers and until when discovery may not add them again. */
  private readonly banned = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly opts: PeerBookOptions = {},
  ) {}

  /** Records one of our own URLs (and drops it if it was added as a peer); at most `MAX_SELF_URLS`. */
  addSelf(raw: string): void {
    const url = normalizePeerUrl(raw);
    if (url === null) return;
    if (this.self.size < MAX_SELF_URLS) this.self.add(url);
    if (this.peers.delete(url)) this.opts.onDropped?.(url, 'it is this node');
  }

  isSelf(url: string): boolean {
    return this.self.has(url);
  }

  list(): Peer[] {
    return [...this.peers.values()];
  }

  get size(): number {
    return this.peers.size;
  }

  get capacity(): number {
    return this.max;
  }

  has(url: string): boolean {
    return this.peers.has(url);
  }

  get(url: string): Peer | undefined {
    return this.peers.get(url);
  }

  /** Whether a peer of the book holds this node id. */
  hasNodeId(nodeId: string): boolean {
    for (const p of this.peers.values()) if (p.nodeId === nodeId) return true;
    return false;
  }

  /** Whether discovery may not take the URL back yet (it was dropped after `PENALTY_LIMIT` penalties). */
  isBanned(url: string, now: number): boolean {
    const until = this.banned.get(url);
    return until !== undefined && now < until;
  }

  private insert(url: string, source: PeerSource, now: number, nodeId: string | null): Peer {
    const p: Peer = {
      url, source, nodeId, identity: nodeId === null ? 'pending' : 'verified', helloError: null, helloFailures: 0, helloRetryAt: 0,
      failures: 0, retryAt: 0, lastOkAt: null, lastError: null, penalties: 0, lastPenalty: null, lastSeenAt: now,
    };
    this.peers.set(url, p);
    return p;
  }

  /** Drops the discovered peer seen longest ago; false when there is none. */
  private evictDiscovered(): boolean {
    let oldest: Peer | undefined;
    for (const p of this.peers.values()) if (p.source === 'discovered' && (oldest === undefined || p.lastSeenAt < oldest.lastSeenAt)) oldest = p;
    if (oldest === undefined) return false;
    this.peers.delete(oldest.url);
    this.opts.onDropped?.(oldest.url, 'its place went to a configured or admin-added peer');
    return true;
  }

  /**
   * Adds a peer the operator named (the config, or the admin API): a peer
   * that was discovered at that URL becomes the operator's (`promoted`); when
   * the book is full, the discovered peer seen longest ago makes room.
   */
  addOperatorPeer(raw: string, source: 'config' | 'admin', now = 0): OperatorAddOutcome {
    const url = normalizePeerUrl(raw);
    if (url === null) return 'invalid';
    if (this.self.has(url)) return 'self';
    const known = this.peers.get(url);
    if (known !== undefined) {
      if (known.source !== 'discovered') return 'duplicate';
      known.source = source;
      return 'promoted';
    }
    this.banned.delete(url);
    if (this.peers.size >= this.max && !this.evictDiscovered()) return 'full';
    this.insert(url, source, now, null);
    return 'added';
  }

  /** `addOperatorPeer` as a yes/no: whether a new peer was added. */
  add(raw: string, source: 'config' | 'admin', now = 0): boolean {
    return this.addOperatorPeer(raw, source, now) === 'added';
  }

  /**
   * Adds a peer discovery found, with the node id its hello proved; false
   * when the URL is invalid, ourselves or known, the node id is already in
   * the book (one URL per node), the URL was dropped less than `BAN_MS` before
   * `now`, or the book is full.
   */
  addDiscovered(raw: string, nodeId: string, now: number): boolean {
    const url = normalizePeerUrl(raw);
    if (url === null || this.self.has(url) || this.peers.has(url)) return false;
    if (this.isBanned(url, now) || this.hasNodeId(nodeId) || this.peers.size >= this.max) return false;
    this.banned.delete(url);
    this.insert(url, 'discovered', now, nodeId);
    return true;
  }

  remove(raw: string): boolean {
    const url = normalizePeerUrl(raw);
    return url !== null && this.peers.delete(url);
  }

  /** Peers that may be contacted now: usable (see `isUsable`) and not backed off. */
  ready(now: number): Peer[] {
    const out: Peer[] = [];
    for (const p of this.peers.values()) if (p.retryAt <= now && isUsable(p)) out.push(p);
    return out;
  }

  /** Operator peers whose hello should be asked now (not verified, not waiting to retry). */
  helloDue(now: number): Peer[] {
    const out: Peer[] = [];
    for (const p of this.peers.values()) if (p.source !== 'discovered' && p.identity !== 'verified' && p.helloRetryAt <= now) out.push(p);
    return out;
  }

  /**
   * The peer's hello checked: it holds `nodeId`. A discovered peer at
   * another URL with the same node id is dropped (the operator's URL wins).
   */
  verified(url: string, nodeId: string, now: number): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    for (const other of this.peers.values()) {
      if (other !== p && other.nodeId === nodeId && other.source === 'discovered') {
        this.peers.delete(other.url);
        this.opts.onDropped?.(other.url, `${url} is the same node`);
      }
    }
    p.nodeId = nodeId;
    p.identity = 'verified';
    p.helloError = null;
    p.helloFailures = 0;
    p.lastSeenAt = now;
  }

  /**
   * The peer's hello failed (`refused` false: no usable answer, asked again
   * later) or was refused (another chain, or an answer that does not check:
   * the peer is not used until a later hello checks). Retried after 1 s,
   * doubling up to 60 s.
   */
  helloFailed(url: string, now: number, reason: string, refused: boolean): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    p.helloFailures++;
    p.helloError = reason;
    if (p.identity !== 'verified') p.identity = refused ? 'refused' : 'pending';
    p.helloRetryAt = now + backoffMs(p.helloFailures, HELLO_RETRY_MAX_MS, HELLO_RETRY_BASE_MS);
  }

  /** Drops the discovered peers that have not answered for `ttlMs`; returns their URLs. */
  expire(now: number, ttlMs: number): string[] {
    const gone: string[] = [];
    for (const p of this.peers.values()) {
      if (p.source === 'discovered' && now - p.lastSeenAt >= ttlMs) gone.push(p.url);
    }
    for (const url of gone) {
      this.peers.delete(url);
      this.opts.onDropped?.(url, `it did not answer for ${ttlMs} ms`);
    }
    return gone;
  }

  /** A request to the peer succeeded. A penalized peer stays backed off and its `lastError` keeps the penalty's reason. */
  ok(url: string, now: number): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    const wasDown = p.failures >= UNREACHABLE_AFTER_FAILURES;
    p.failures = 0;
    if (wasDown) this.opts.onReachability?.(p, true, p.lastOkAt !== null);
    p.lastOkAt = now;
    p.lastSeenAt = now;
    p.lastError = p.lastPenalty;
    if (p.penalties === 0) p.retryAt = 0;
  }

  /** The peer served sync blocks that checked: its penalties are cleared. */
  served(url: string, now: number): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    p.penalties = 0;
    p.lastPenalty = null;
    p.retryAt = 0;
    this.ok(url, now);
  }

  /**
   * The peer served bad or slow data: it is backed off (exponentially in its
   * penalties in a row), and a discovered peer is dropped at `PENALTY_LIMIT`.
   */
  penalize(url: string, now: number, reason: string): PenaltyOutcome {
    const p = this.peers.get(url);
    if (p === undefined) return 'unknown';
    p.penalties++;
    p.lastPenalty = `penalty ${p.penalties}: ${reason}`;
    p.lastError = p.lastPenalty;
    p.retryAt = Math.max(p.retryAt, now + backoffMs(p.penalties, PENALTY_BACKOFF_MAX_MS));
    if (p.source !== 'discovered' || p.penalties < PENALTY_LIMIT) return 'backedOff';
    this.peers.delete(url);
    this.banned.delete(url);
    this.banned.set(url, now + BAN_MS);
    for (const old of this.banned.keys()) {
      if (this.banned.size <= MAX_BANNED) break;
      this.banned.delete(old);
    }
    return 'dropped';
  }

  failed(url: string, now: number, error: string): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    p.failures++;
    p.retryAt = Math.max(p.retryAt, now + backoffMs(p.failures, BACKOFF_MAX_MS));
    p.lastError = error;
    if (p.failures === UNREACHABLE_AFTER_FAILURES) this.opts.onReachability?.(p, false, p.lastOkAt !== null);
  }
}
