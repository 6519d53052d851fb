/**
 * Node-to-node HTTP: consensus envelopes to `POST /p2p/message`, batched tx
 * gossip to `POST /p2p/txs` (or both on a peer's stream, see `streamLink.ts`,
 * when it has one open), block sync through `GET /sync/status` and
 * `GET /sync/blocks`, and the GETs of peer discovery (`discovery.ts`), on
 * keep-alive undici pools, one per peer. Failing peers are backed off (see PeerBook);
 * messages to a peer that is far behind on answers are dropped rather than
 * queued without bound (the consensus driver re-sends its own messages).
 *
 * Every request to a peer has an overall deadline, from sending it to the
 * last byte of the answer (`requestTimeoutMs` for GETs, `POST_TIMEOUT_MS` for
 * POSTs), and every answer a byte cap (`maxResponseBytes` for sync blocks,
 * less for the small documents): the body is read as a stream and the request
 * aborted as soon as it passes the cap, so a slow or endless peer costs at
 * most one deadline and one cap. Failures are `FastposError`s naming the peer:
 * `REQUEST_TIMEOUT`, `PAYLOAD_TOO_LARGE`, `NOT_READY` (unreachable, or an
 * answer of 5xx), `INVALID_MESSAGE` (another status, or a document of the
 * wrong shape), `INVALID_JSON`, and the codec's codes for blocks that do not decode.
 * @module
 */
import type { LookupFunction } from 'node:net';
import { Pool, errors as undiciErrors } from 'undici';
import { decodeCertifiedHeader, decodeSyncBlocks, decodeSyncStatus } from '../codec/block.js';
import { decodeStateValue, epochKey } from '../codec/state.js';
import type { LightHeader } from '../consensus/lightClient.js';
import { decodeManifest, decodeSnapshotList, type SnapshotManifest, type SnapshotSummary } from '../state/snapshot.js';
import { canonicalJson } from '../codec/canonical.js';
import type { Envelope } from '../codec/envelope.js';
import type { Transport } from '../consensus/driver.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { EpochRecord, FinalizedBlock } from '../types/index.js';
import { PeerBook, type PenaltyOutcome } from './peers.js';
import { envelopeItem, txBatchItem, type StreamItem } from './streamFrame.js';
import type { StreamLinks } from './streamLink.js';
import { NO_TRAFFIC, type P2pKind, type P2pTraffic } from './traffic.js';

export interface HttpTransportOptions {
  readonly book: PeerBook;
  /** Longest time a GET to a peer may take, headers to last byte (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Largest `/sync/blocks` answer read, in bytes (default 64 MiB). */
  readonly maxResponseBytes?: number;
  readonly now?: () => number;
  readonly onError?: (url: string, what: string, e: unknown) => void;
  /**
   * The DNS lookup of connections to a URL (asked when its pool is made);
   * undefined: the system's. Discovery passes one that applies the peer host
   * policy to what a discovered peer's name resolves to.
   */
  readonly lookupFor?: (url: string) => LookupFunction | undefined;
  /** Peer streams: envelopes and tx batches go on a peer's open stream, over HTTP otherwise (none: always HTTP). */
  readonly streams?: StreamLinks;
  /** Counts of messages and bytes sent (both channels). */
  readonly traffic?: P2pTraffic;
}

/** A peer's height and genesis, as `GET /sync/status` reports them. */
export interface SyncStatus {
  readonly height: number;
  readonly genesisHash: string;
  /** Lowest height whose whole block the peer keeps (1 when it does not say). */
  readonly earliestBlockHeight: number;
}

const MAX_IN_FLIGHT = 512;
const TX_BATCH = 256;
const TX_FLUSH_MS = 100;
/** Longest time a POST to a peer may take, headers to last byte. */
export const POST_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Largest `GET /sync/status` answer read. */
const STATUS_MAX_BYTES = 64 * 1024;
/** Largest small answer a pool accepts (`/p2p/peers` answers are read up to 1 MiB, see discovery.ts). */
const SMALL_MAX_BYTES = 1024 * 1024;
/** Largest `GET /sync/headers` answer read (headers with certificates of up to 10,000 validators' signatures). */
const HEADERS_MAX_BYTES = 32 * 1024 * 1024;

export class HttpTransport implements Transport {
  private readonly pools = new Map<string, Pool>();
  private readonly inFlight = new Map<string, number>();
  private txQueue: string[] = [];
  private txTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly now: () => number;
  private readonly requestTimeoutMs: number;
  private readonly maxResponseBytes: number;
  /** GETs in flight, aborted by `close`. */
  private readonly gets = new Set<AbortController>();
  private readonly traffic: P2pTraffic;

  constructor(private readonly opts: HttpTransportOptions) {
    this.traffic = opts.traffic ?? NO_TRAFFIC;
    this.now = opts.now ?? Date.now;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
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
      const lookup = this.opts.lookupFor?.(url);
      p = new Pool(url, {
        ...(lookup === undefined ? {} : { connect: { lookup } }),
        connections: 4,
        keepAliveTimeout: 30_000,
        headersTimeout: Math.max(this.requestTimeoutMs, POST_TIMEOUT_MS),
        bodyTimeout: Math.max(this.requestTimeoutMs, POST_TIMEOUT_MS),
        // A second bound below the stream's own count: undici refuses an answer that declares or sends more.
        maxResponseSize: Math.max(this.maxResponseBytes, SMALL_MAX_BYTES),
      });
      this.pools.set(url, p);
    }
    return p;
  }

  /** Drops the connection pool of a peer that was removed. */
  forget(url: string): void {
    this.opts.streams?.forget(url);
    const p = this.pools.get(url);
    this.pools.delete(url);
    if (p !== undefined) void p.close().catch(() => undefined);
  }

  private post(url: string, path: string, body: string, kind: P2pKind): void {
    const n = this.inFlight.get(url) ?? 0;
    if (n >= MAX_IN_FLIGHT || this.closed) return;
    this.inFlight.set(url, n + 1);
    this.traffic.sent(kind, 1);
    this.traffic.bytesSent('http', Buffer.byteLength(body));
    this.pool(url)
      .request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(POST_TIMEOUT_MS) })
      .then(async (res) => {
        await res.body.dump({ limit: 64 * 1024 });
        // 4xx answers (duplicate, outdated, refused) come from a live peer.
        if (res.statusCode >= 500) this.opts.book.failed(url, this.now(), `HTTP ${res.statusCode}`);
        else this.opts.book.ok(url, this.now());
      })
      .catch((e: unknown) => {
        this.opts.book.failed(url, this.now(), (e as Error).message);
        this.opts.onError?.(url, path, e);
      })
      .finally(() => this.inFlight.set(url, (this.inFlight.get(url) ?? 1) - 1));
  }

  broadcast(e: Envelope): void {
    // Canonical JSON copies a proposal's txs as the text they were admitted with.
    const body = canonicalJson(e);
    const item = envelopeItem(e.type, body);
    for (const peer of this.opts.book.ready(this.now())) {
      if (this.opts.streams?.send(peer.url, item) !== true) this.post(peer.url, '/p2p/message', body, e.type);
    }
  }

  /** Sends over HTTP what a peer's stream still had queued when it closed. */
  sendOverHttp(url: string, items: readonly StreamItem[]): void {
    for (const it of items) {
      if (it.kind === 'txs') this.post(url, '/p2p/txs', `{"txs":[${it.text}]}`, 'txs');
      else this.post(url, '/p2p/message', it.text, it.kind);
    }
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
      const item = txBatchItem(this.txQueue.splice(0, TX_BATCH));
      let body: string | undefined;
      for (const peer of this.opts.book.ready(this.now())) {
        if (this.opts.streams?.send(peer.url, item) === true) continue;
        body ??= `{"txs":[${item.text}]}`;
        this.post(peer.url, '/p2p/txs', body, 'txs');
      }
    }
  }

  /**
   * GET a JSON document from a peer, within the request deadline (or the
   * shorter `timeoutMs`) and at most `maxBytes` of body (default
   * `maxResponseBytes`); throws a FastposError naming the peer.
   */
  async getJson<T>(url: string, path: string, maxBytes = this.maxResponseBytes, timeoutMs = this.requestTimeoutMs): Promise<T> {
    const text = (await this.getBytes(url, path, maxBytes, timeoutMs)).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new FastposError(ErrorCode.INVALID_JSON, `peer ${url} answered GET ${path} with invalid JSON: ${(e as Error).message}`, { peer: url, path });
    }
  }

  /** The body of a GET (status 200), bounded like `getJson`; HTTP 410 is PRUNED (the peer no longer keeps that data). */
  async getBytes(url: string, path: string, maxBytes = this.maxResponseBytes, timeoutMs = this.requestTimeoutMs): Promise<Buffer> {
    if (this.closed) throw new FastposError(ErrorCode.NOT_READY, `GET ${url}${path}: the transport is closed`, { peer: url, path });
    const ac = new AbortController();
    const deadlineMs = Math.min(timeoutMs, this.requestTimeoutMs);
    const timeout = new FastposError(ErrorCode.REQUEST_TIMEOUT, `peer ${url} did not answer GET ${path} within ${deadlineMs} ms`, {
      peer: url,
      path,
      timeoutMs: deadlineMs,
    });
    const timer = setTimeout(() => ac.abort(timeout), deadlineMs);
    this.gets.add(ac);
    try {
      const res = await this.pool(url).request({ path, method: 'GET', signal: ac.signal });
      let body: Buffer;
      try {
        if (res.statusCode !== 200) {
          const code = res.statusCode >= 500 ? ErrorCode.NOT_READY : res.statusCode === 410 ? ErrorCode.PRUNED : ErrorCode.INVALID_MESSAGE;
          throw new FastposError(code, `peer ${url} answered GET ${path} with HTTP ${res.statusCode}`, { peer: url, path, status: res.statusCode });
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(url, path, maxBytes, `declares ${declared}`);
        const chunks: Buffer[] = [];
        let bytes = 0;
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > maxBytes) throw tooLarge(url, path, maxBytes, `sent ${bytes} so far`);
          chunks.push(chunk);
        }
        body = Buffer.concat(chunks, bytes);
      } finally {
        // An answer not read to its end is cut here (its connection closed), never left to trickle on.
        if (!res.body.readableEnded) res.body.on('error', () => undefined).destroy();
      }
      return body;
    } catch (e) {
      throw this.requestError(e, url, path, ac.signal, maxBytes);
    } finally {
      clearTimeout(timer);
      this.gets.delete(ac);
    }
  }

  private requestError(e: unknown, url: string, path: string, signal: AbortSignal, maxBytes: number): FastposError {
    if (signal.aborted && signal.reason instanceof FastposError) return signal.reason;
    if (e instanceof FastposError) return e;
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError) {
      return new FastposError(ErrorCode.REQUEST_TIMEOUT, `peer ${url} did not answer GET ${path} in time: ${message}`, { peer: url, path });
    }
    if (e instanceof undiciErrors.ResponseExceededMaxSizeError) return tooLarge(url, path, maxBytes, message);
    return new FastposError(ErrorCode.NOT_READY, `peer ${url} could not be asked GET ${path}: ${message}`, { peer: url, path });
  }

  /** A peer's height and genesis hash (`GET /sync/status`). */
  async syncStatus(url: string): Promise<SyncStatus> {
    const j = await this.getJson<unknown>(url, '/sync/status', STATUS_MAX_BYTES);
    const { height, genesisHash, earliestBlockHeight } = this.fromPeer(url, '/sync/status', () => decodeSyncStatus(j));
    return { height, genesisHash, earliestBlockHeight };
  }

  /** The state snapshots a peer holds (`GET /sync/snapshots`). */
  async syncSnapshots(url: string): Promise<SnapshotSummary[]> {
    const path = '/sync/snapshots';
    const j = await this.getJson<unknown>(url, path, SMALL_MAX_BYTES);
    return this.fromPeer(url, path, () => decodeSnapshotList(j));
  }

  /** A snapshot's manifest, decoded and checked in itself (`decodeManifest`). */
  async syncManifest(url: string, height: number): Promise<SnapshotManifest> {
    const path = `/sync/snapshots/${height}`;
    const j = await this.getJson<unknown>(url, path);
    return this.fromPeer(url, path, () => decodeManifest(j));
  }

  /** One chunk of a snapshot, at most `bytes` long (its size in the manifest). */
  syncChunk(url: string, height: number, index: number, bytes: number): Promise<Buffer> {
    return this.getBytes(url, `/sync/snapshots/${height}/chunks/${index}`, bytes);
  }

  /** Headers with certificates from `from` on (`GET /sync/headers`). */
  async syncHeaders(url: string, from: number, limit: number): Promise<LightHeader[]> {
    const path = `/sync/headers?from=${from}&limit=${limit}`;
    const j = await this.getJson<unknown>(url, path, HEADERS_MAX_BYTES);
    if (!Array.isArray(j) || j.length > limit) {
      throw new FastposError(ErrorCode.INVALID_MESSAGE, `peer ${url} answered GET ${path} with ${Array.isArray(j) ? `${j.length} headers` : 'no array'}`, { peer: url });
    }
    return this.fromPeer(url, path, () => j.map((h) => decodeCertifiedHeader(h)));
  }

  /** The stored record of an epoch's validator set (`GET /sync/epochs/:epoch`). */
  async syncEpoch(url: string, epoch: number): Promise<EpochRecord> {
    const path = `/sync/epochs/${epoch}`;
    const j = await this.getJson<unknown>(url, path, SMALL_MAX_BYTES);
    return this.fromPeer(url, path, () => decodeStateValue(epochKey(epoch), JSON.stringify(j)) as EpochRecord);
  }

  /** Up to `limit` finalized blocks from `from` on (`GET /sync/blocks`), decoded; not yet checked against the chain. */
  async syncBlocks(url: string, from: number, limit: number): Promise<FinalizedBlock[]> {
    const path = `/sync/blocks?from=${from}&limit=${limit}`;
    const j = await this.getJson<unknown>(url, path);
    if (!Array.isArray(j) || j.length > limit) {
      throw new FastposError(ErrorCode.INVALID_MESSAGE, `peer ${url} answered GET ${path} with ${Array.isArray(j) ? `${j.length} blocks` : 'no array'}`, { peer: url });
    }
    return this.fromPeer(url, path, () => decodeSyncBlocks(j));
  }

  /** Runs a decoder over a peer's answer; its error names the peer and the request. */
  private fromPeer<T>(url: string, path: string, decode: () => T): T {
    try {
      return decode();
    } catch (e) {
      if (!(e instanceof FastposError)) throw e;
      throw new FastposError(e.code, `peer ${url} answered GET ${path} with data that does not decode: ${e.message}`, { peer: url, ...e.meta });
    }
  }

  /** Peers that may be asked for blocks now. */
  syncPeers(): string[] {
    return this.opts.book.ready(this.now()).map((p) => p.url);
  }

  /** A peer served bad or slow data: backed off, and dropped (its connections closed) if the book drops it. */
  penalize(url: string, reason: string): PenaltyOutcome {
    if (this.closed) return 'unknown';
    const outcome = this.opts.book.penalize(url, this.now(), reason);
    if (outcome === 'dropped') this.forget(url);
    return outcome;
  }

  /** A peer served sync blocks that checked. */
  served(url: string): void {
    this.opts.book.served(url, this.now());
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.txTimer !== null) clearTimeout(this.txTimer);
    this.opts.streams?.close();
    for (const ac of this.gets) ac.abort(new FastposError(ErrorCode.NOT_READY, 'the transport is closing'));
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => undefined)));
    this.pools.clear();
  }
}

function tooLarge(url: string, path: string, maxBytes: number, detail: string): FastposError {
  return new FastposError(ErrorCode.PAYLOAD_TOO_LARGE, `peer ${url} answered GET ${path} with more than ${maxBytes} bytes (${detail})`, {
    peer: url,
    path,
    maxBytes,
  });
}
