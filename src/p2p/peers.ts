/**
 * The peer book: base URLs of other nodes, where each came from, and its
 * health. A peer that fails is skipped for an exponentially growing time
 * (100 ms doubling up to 5 s) and tried again afterwards; a success resets it.
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
}

const BACKOFF_BASE_MS = 100;
/** Short enough that a validator restarting after a crash is heard again within seconds. */
const BACKOFF_MAX_MS = 5_000;

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

  /** Adds a peer; returns false when it is invalid, ourselves, known, or the book is full. */
  add(raw: string, source: PeerSource): boolean {
    const url = normalizePeerUrl(raw);
    if (url === null || this.self.has(url) || this.peers.has(url)) return false;
    if (this.peers.size >= this.max) return false;
    this.peers.set(url, { url, source, failures: 0, retryAt: 0, lastOkAt: null, lastError: null });
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

  ok(url: string, now: number): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    p.failures = 0;
    p.retryAt = 0;
    p.lastOkAt = now;
    p.lastError = null;
  }

  failed(url: string, now: number, error: string): void {
    const p = this.peers.get(url);
    if (p === undefined) return;
    p.failures++;
    p.retryAt = now + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(16, p.failures - 1));
    p.lastError = error;
  }
}
