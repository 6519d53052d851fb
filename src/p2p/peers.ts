/**
 * The peer book: base URLs of other nodes, where each came from, and its
 * health. A peer that fails is skipped for an exponentially growing time
 * (100 ms doubling up to 5 s) and tried again afterwards; a success resets it.
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

export interface Peer {
  readonly url: string;
  readonly source: PeerSource;
  failures: number;
  /** Not contacted before this time (ms). */
  retryAt: number;
  lastOkAt: number | null;
  lastError: string | null;
  /** Penalties since the peer last served sync blocks that checked (bad or slow data). */
  penalties: number;
  /** Why it was last penalized (null when `penalties` is 0). */
  lastPenalty: string | null;
}

/** What `PeerBook.penalize` did. */
export type PenaltyOutcome = 'backedOff' | 'dropped' | 'unknown';

const BACKOFF_BASE_MS = 100;
/** Short enough that a validator restarting after a crash is heard again within seconds. */
const BACKOFF_MAX_MS = 5_000;
/** Longest time a penalized peer is skipped. */
const PENALTY_BACKOFF_MAX_MS = 60_000;
/** Penalties in a row after which a discovered peer is dropped. */
export const PENALTY_LIMIT = 5;
/** How long a dropped peer is not taken back from discovery. */
export const BAN_MS = 10 * 60_000;
/** Most dropped peers remembered (the oldest is forgotten first). */
const MAX_BANNED = 1000;

/** The exponential backoff after the `count`-th failure in a row. */
function backoffMs(count: number, maxMs: number): number {
  return Math.min(maxMs, BACKOFF_BASE_MS * 2 ** Math.min(16, Math.max(0, count - 1)));
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

export class PeerBook {
  private readonly peers = new Map<string, Peer>();

  /** Our own URL(s), never added as a peer. */
  private readonly self = new Set<string>();

  /** Dropped peers and until when discovery may not add them again. */
  private readonly banned = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Records one of our own URLs (and drops it if it was added as a peer). */
  addSelf(raw: string): void {
    const url = normalizePeerUrl(raw);
    if (url === null) return;
    this.self.add(url);
    this.peers.delete(url);
  }

  list(): Peer[] {
    return [...this.peers.values()];
  }

  get size(): number {
    return this.peers.size;
  }

  has(url: string): boolean {
    return this.peers.has(url);
  }

  /**
   * Adds a peer; returns false when it is invalid, ourselves, known, or the
   * book is full, or when discovery offers a peer dropped less than `BAN_MS`
   * before `now` (an operator may add it again through the config or the admin API).
   */
  add(raw: string, source: PeerSource, now = 0): boolean {
    const url = normalizePeerUrl(raw);
    if (url === null || this.self.has(url) || this.peers.has(url)) return false;
    const bannedUntil = this.banned.get(url);
    if (bannedUntil !== undefined) {
      if (source === 'discovered' && now < bannedUntil) return false;
      this.banned.delete(url);
    }
    if (this.peers.size >= this.max) return false;
    this.peers.set(url, { url, source, failures: 0, retryAt: 0, lastOkAt: null, lastError: null, penalties: 0, lastPenalty: null });
    return true;
  }

  remove(raw: string): boolean {
    const url = normalizePeerUrl(raw);
    return url !== null && this.peers.delete(url);
  }

  /** Peers that may be contacted now. */
  ready(now: number): Peer[] {
    const out: Peer[] = [];
    for (const p of this.peers.values()) if (p.retryAt <= now) out.push(p);
    return out;
  }

  /** A request to the peer succeeded. A penalized peer stays backed off and its `lastError` keeps the penalty's reason. */
  ok(url: string, now: number): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    p.failures = 0;
    p.lastOkAt = now;
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
  }
}
