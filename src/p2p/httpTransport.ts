/**
 * Node-to-node HTTP: consensus envelopes to `POST /p2p/message`, batched tx
 * gossip to `POST /p2p/txs`, peer discovery through `GET /p2p/peers`, and
 * block sync through `GET /sync/status` and `GET /sync/blocks`, on keep-alive
 * undici pools, one per peer. Failing peers are backed off (see PeerBook);
 * messages to a peer that is far behind on answers are dropped rather than
 * queued without bound (the consensus driver re-sends its own messages).
 * @module
 */
import { Pool } from 'undici';
import { canonicalJson } from '../codec/canonical.js';
import type { Envelope } from '../codec/envelope.js';
import type { Transport } from '../consensus/driver.js';
import { PeerBook, type Peer } from './peers.js';

export interface HttpTransportOptions {
  readonly book: PeerBook;
  readonly discoveryIntervalMs: number;
  readonly now?: () => number;
  readonly onError?: (url: string, what: string, e: unknown) => void;
}

const MAX_IN_FLIGHT = 512;
const TX_BATCH = 256;
const TX_FLUSH_MS = 100;

export class HttpTransport implements Transport {
  private readonly pools = new Map<string, Pool>();
  private readonly inFlight = new Map<string, number>();
  private txQueue: string[] = [];
  private txTimer: NodeJS.Timeout | null = null;
  private discoveryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: HttpTransportOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.discoveryIntervalMs > 0) this.scheduleDiscovery();
  }

  get book(): PeerBook {
    return this.opts.book;
  }

  hasPeers(): boolean {
    return this.opts.book.size > 0;
  }

  private pool(url: string): Pool {
    let p = this.pools.get(url);
    if (p === undefined) {
      p = new Pool(url, { connections: 4, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
      this.pools.set(url, p);
    }
    return p;
  }

  /** Drops the connection pool of a peer that was removed. */
  forget(url: string): void {
    const p = this.pools.get(url);
    this.pools.delete(url);
    if (p !== undefined) void p.close().catch(() => undefined);
  }

  private post(peer: Peer, path: string, body: string): void {
    const n = this.inFlight.get(peer.url) ?? 0;
    if (n >= MAX_IN_FLIGHT || this.closed) return;
    this.inFlight.set(peer.url, n + 1);
    this.pool(peer.url)
      .request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (res) => {
        await res.body.dump();
        // 4xx answers (duplicate, outdated, refused) come from a live peer.
        if (res.statusCode >= 500) this.opts.book.failed(peer.url, this.now(), `HTTP ${res.statusCode}`);
        else this.opts.book.ok(peer.url, this.now());
      })
      .catch((e: unknown) => {
        this.opts.book.failed(peer.url, this.now(), (e as Error).message);
        this.opts.onError?.(peer.url, path, e);
      })
      .finally(() => this.inFlight.set(peer.url, (this.inFlight.get(peer.url) ?? 1) - 1));
  }

  broadcast(e: Envelope): void {
    // Canonical JSON copies a proposal's txs as the text they were admitted with.
    const body = canonicalJson(e);
    for (const peer of this.opts.book.ready(this.now())) this.post(peer, '/p2p/message', body);
  }

  /** Queues an admitted tx (its canonical wire JSON) for the next gossip batch. */
  gossipTx(json: string): void {
    if (!this.hasPeers() || this.closed) return;
    this.txQueue.push(json);
    if (this.txQueue.length >= TX_BATCH) this.flushTxs();
    else this.txTimer ??= setTimeout(() => this.flushTxs(), TX_FLUSH_MS);
  }

  private flushTxs(): void {
    if (this.txTimer !== null) clearTimeout(this.txTimer);
    this.txTimer = null;
    while (this.txQueue.length > 0) {
      const batch = this.txQueue.splice(0, TX_BATCH);
      const body = `{"txs":[${batch.join(',')}]}`;
      for (const peer of this.opts.book.ready(this.now())) this.post(peer, '/p2p/txs', body);
    }
  }

  /** GET a JSON document from a peer (bounded in time). */
  async getJson<T>(url: string, path: string): Promise<T> {
    const res = await this.pool(url).request({ path, method: 'GET', headersTimeout: 5_000, bodyTimeout: 20_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}`);
    return JSON.parse(text) as T;
  }

  private scheduleDiscovery(): void {
    this.discoveryTimer = setTimeout(() => {
      void this.discover().finally(() => {
        if (!this.closed) this.scheduleDiscovery();
      });
    }, this.opts.discoveryIntervalMs);
    this.discoveryTimer.unref();
  }

  /** Asks every reachable peer for its peers and adds the unknown ones (up to the book's limit). */
  async discover(): Promise<void> {
    await Promise.all(
      this.opts.book.ready(this.now()).map(async (peer) => {
        try {
          const list = await this.getJson<{ url: string }[]>(peer.url, '/p2p/peers');
          this.opts.book.ok(peer.url, this.now());
          if (Array.isArray(list)) for (const p of list.slice(0, 1000)) if (typeof p?.url === 'string') this.opts.book.add(p.url, 'discovered');
        } catch (e) {
          this.opts.book.failed(peer.url, this.now(), (e as Error).message);
        }
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.txTimer !== null) clearTimeout(this.txTimer);
    if (this.discoveryTimer !== null) clearTimeout(this.discoveryTimer);
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }
}
