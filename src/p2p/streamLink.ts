/**
 * Outbound peer streams (protocol §6, "Peer streams"): one WebSocket to each
 * peer's `GET /p2p/stream`, on which this node sends everything for that
 * peer — consensus envelopes at once (the messages of one event-loop turn in
 * one frame), tx batches as the transport's gossip timer releases them. The
 * peer sends nothing back but WebSocket control frames: a stream carries one
 * direction, and the peer's own messages come on the stream it opens.
 *
 * Backpressure: frames are written while the socket has less than
 * `HIGH_WATER_BYTES` (at most half the cap) unwritten; the rest waits in a queue. What waits plus
 * what the socket holds is capped (`maxBufferedBytes`): over the cap the
 * oldest tx batches are dropped first, then the oldest envelopes (the
 * consensus driver sends its own messages again), each drop counted.
 *
 * While a peer has no open stream (connecting, closed, refused) `send`
 * answers false and the caller posts over HTTP; what was still queued when a
 * stream closed is handed back the same way. A stream that fails is tried
 * again after a backoff (100 ms doubling to 5 s); a peer that answers the
 * upgrade with 404 (a node without streams) is asked again after
 * `UNSUPPORTED_RETRY_MS`. A peer that closes a stream as a protocol
 * violation (codes 1007, 1008, 1009) is reported like a failed POST.
 * @module
 */
import type { LookupFunction } from 'node:net';
import WebSocket from 'ws';
import { FRAME_SOFT_BYTES, MAX_FRAME_ENVELOPES, MAX_FRAME_TXS, frameText, type StreamItem } from './streamFrame.js';
import type { P2pTraffic } from './traffic.js';

/** Frames are written while the socket holds less than this unwritten. */
export const HIGH_WATER_BYTES = 1_048_576;
/** Longest time the opening handshake of a stream may take. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** A peer that answered 404 to the upgrade (no streams) is asked again after this long. */
export const UNSUPPORTED_RETRY_MS = 60_000;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;
/** A stream this node closes is cut this long after its close frame if the peer has not answered it. */
const CLOSE_GRACE_MS = 2_000;
/** Close codes by which a peer says this node broke the stream protocol. */
const VIOLATION_CODES: ReadonlySet<number> = new Set([1003, 1007, 1008, 1009]);

export interface StreamLinksOptions {
  /** Cap of one peer's queue plus its socket's unwritten bytes. */
  readonly maxBufferedBytes: number;
  /** A ping every this many ms; a stream without a pong since the previous ping is closed. */
  readonly pingEveryMs: number;
  readonly traffic: P2pTraffic;
  readonly now?: () => number;
  /** The DNS lookup of connections to a URL (undefined: the system's). */
  readonly lookupFor?: (url: string) => LookupFunction | undefined;
  /** Messages still queued when a peer's stream closed: to be sent another way. */
  readonly fallback: (url: string, items: readonly StreamItem[]) => void;
  /** A stream to the peer opened. */
  readonly onOpen?: (url: string) => void;
  /** The peer closed a stream as a protocol violation. */
  readonly onViolation?: (url: string, reason: string) => void;
  readonly onError?: (url: string, what: string, e: unknown) => void;
}

interface LinkState {
  link: StreamLink | null;
  failures: number;
  retryAt: number;
}

/** The outbound streams of a node, one per peer URL. */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

export class StreamLinks {
  private readonly links = new Map<string, LinkState>();
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: StreamLinksOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Queues a message on the peer's open stream; false when it has none (then send it over HTTP). Opens one when due. */
  send(url: string, item: StreamItem): boolean {
    if (this.closed) return false;
    let s = this.links.get(url);
    if (s === undefined) this.links.set(url, (s = { link: null, failures: 0, retryAt: 0 }));
    if (s.link?.isOpen === true) {
      s.link.enqueue(item);
      return true;
    }
    if (s.link === null && this.now() >= s.retryAt) s.link = this.open(url, s);
    return false;
  }

  /** Whether the peer's stream is open now. */
  isOpen(url: string): boolean {
    return this.links.get(url)?.link?.isOpen === true;
  }

  /** URLs with an open stream. */
  openUrls(): string[] {
    return [...this.links].filter(([, s]) => s.link?.isOpen === true).map(([url]) => url);
  }

  /** Closes the stream of a peer that was removed; what it had queued is dropped with it. */
  forget(url: string): void {
    const s = this.links.get(url);
    this.links.delete(url);
    s?.link?.shut(1000, 'peer removed');
  }

  close(): void {
    this.closed = true;
    for (const s of this.links.values()) s.link?.shut(1001, 'node stopping');
    this.links.clear();
  }

  private open(url: string, s: LinkState): StreamLink {
    const lookup = this.opts.lookupFor?.(url);
    return new StreamLink(url, this.opts, lookup, (how) => {
      if (this.links.get(url) !== s) return; // forgotten or closed meanwhile
      s.link = null;
      if (how.opened) s.failures = 0;
      s.failures++;
      const wait = how.unsupported ? UNSUPPORTED_RETRY_MS : how.opened ? RETRY_BASE_MS : Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(16, s.failures - 1));
      s.retryAt = this.now() + wait;
      if (!this.closed && how.left.length > 0) this.opts.fallback(url, how.left);
    });
  }
}

interface LinkEnd {
  /** The stream was open before it closed. */
  readonly opened: boolean;
  /** The peer answered the upgrade with 404: it serves no streams. */
  readonly unsupported: boolean;
  /** Messages queued and not written. */
  readonly left: readonly StreamItem[];
}

/** One outbound stream. */
class StreamLink {
  private readonly ws: WebSocket;
  private queue: StreamItem[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private opened = false;
  private ended = false;
  private unsupported = false;
  private alive = true;
  private pinger: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly opts: StreamLinksOptions,
    lookup: LookupFunction | undefined,
    private readonly onEnd: (how: LinkEnd) => void,
  ) {
    const target = `${url.replace(/^http/, 'ws')}/p2p/stream?v=1`;
    this.ws = new WebSocket(target, {
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      perMessageDeflate: false,
      followRedirects: false,
      // The peer sends nothing but control frames on this stream.
      maxPayload: 4096,
      // A zero masking key: frames go out without the XOR pass, and the
      // receiving node skips the unmasking. Masking guards caches between a
      // browser and a server; validator links carry signed data end to end.
      generateMask: zeroMask,
      ...(lookup === undefined ? {} : { lookup }),
    });
    this.ws.on('open', () => {
      this.opened = true;
      this.opts.traffic.streams('out', 1);
      this.opts.onOpen?.(url);
      this.pinger = setInterval(() => this.ping(), opts.pingEveryMs);
      this.pinger.unref();
    });
    this.ws.on('unexpected-response', (req, res) => {
      this.unsupported = res.statusCode === 404;
      res.resume();
      req.destroy();
      this.opts.onError?.(url, '/p2p/stream', new Error(`upgrade answered HTTP ${res.statusCode}`));
      this.end();
    });
    this.ws.on('pong', () => {
      this.alive = true;
    });
    // The peer sends no data on this stream; anything it sends is ignored.
    this.ws.on('error', (e) => this.opts.onError?.(url, '/p2p/stream', e));
    this.ws.on('close', (code, reason) => {
      if (this.opened && VIOLATION_CODES.has(code)) this.opts.onViolation?.(url, `the peer closed the stream: ${code} ${reason.toString('utf8')}`);
      this.end();
    });
  }

  get isOpen(): boolean {
    return this.opened && !this.ended && this.ws.readyState === WebSocket.OPEN;
  }

  /** Queues a message within the byte cap (oldest tx batches dropped first, then oldest envelopes) and flushes soon. */
  enqueue(item: StreamItem): void {
    const cap = this.opts.maxBufferedBytes;
    while (this.ws.bufferedAmount + this.queuedBytes + item.bytes > cap) {
      let i = this.queue.findIndex((q) => q.kind === 'txs');
      // A tx batch never pushes out an envelope: it is the one dropped.
      if (i < 0 && (item.kind === 'txs' || this.queue.length === 0)) {
        this.dropped(item);
        return;
      }
      if (i < 0) i = 0;
      const [old] = this.queue.splice(i, 1);
      this.queuedBytes -= old!.bytes;
      this.dropped(old!);
    }
    this.queue.push(item);
    this.queuedBytes += item.bytes;
    this.scheduleFlush();
  }

  private dropped(item: StreamItem): void {
    this.opts.traffic.dropped(item.kind === 'txs' ? 'tx_overflow' : 'envelope_overflow', 1);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // The messages of this event-loop turn go out together, in the next.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.isOpen) return;
    const highWater = Math.min(HIGH_WATER_BYTES, Math.floor(this.opts.maxBufferedBytes / 2));
    while (this.queue.length > 0 && this.ws.bufferedAmount < highWater) {
      const envelopes: string[] = [];
      const txs: string[] = [];
      let bytes = 0;
      let txCount = 0;
      let taken = 0;
      for (const it of this.queue) {
        if (taken > 0 && bytes + it.bytes > FRAME_SOFT_BYTES) break;
        if (it.kind === 'txs') {
          if (txCount + it.count > MAX_FRAME_TXS && txs.length > 0) break;
          txs.push(it.text);
          txCount += it.count;
        } else {
          if (envelopes.length >= MAX_FRAME_ENVELOPES) break;
          envelopes.push(it.text);
          this.opts.traffic.sent(it.kind, 1);
        }
        bytes += it.bytes;
        taken++;
      }
      this.queue.splice(0, taken);
      this.queuedBytes -= bytes;
      if (txs.length > 0) this.opts.traffic.sent('txs', 1);
      const frame = Buffer.from(frameText(envelopes, txs));
      this.opts.traffic.bytesSent('stream', frame.length);
      // Written out: whatever waits goes next.
      this.ws.send(frame, { binary: false }, (err) => {
        if (err === undefined || err === null) {
          if (this.queue.length > 0) this.scheduleFlush();
        }
      });
    }
  }

  private ping(): void {
    if (!this.isOpen) return;
    if (!this.alive) {
      this.opts.onError?.(this.url, '/p2p/stream', new Error('no pong since the last ping'));
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Closes the stream (queued messages are dropped). */
  shut(code: number, reason: string): void {
    this.queue = [];
    this.queuedBytes = 0;
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else {
      this.ws.close(code, reason);
      // A peer that does not answer the close is cut (not waited for).
      setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
    }
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.pinger !== null) clearInterval(this.pinger);
    if (this.opened) this.opts.traffic.streams('out', -1);
    const left = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    this.onEnd({ opened: this.opened, unsupported: this.unsupported, left });
  }
}
