/**
 * Inbound peer streams (protocol §6, "Peer streams"): what a node does with
 * the frames a peer sends on `GET /p2p/stream`. Every envelope takes the path
 * of a `POST /p2p/message` body and every tx list that of a `POST /p2p/txs`
 * body (the callbacks given here), with the same checks and limits; a
 * refused message is counted and the stream stays open.
 *
 * A stream is closed, with a close code and a reason, when its peer breaks
 * the protocol or the node's bounds:
 * - 1003: a binary frame (frames are JSON text);
 * - 1007: a frame that is not valid JSON;
 * - 1008: a frame of the wrong shape (see `decodeFrame`), or more than
 *   `maxRefused` messages refused for a rate limit within `FLOOD_WINDOW_MS`
 *   (a flood);
 * - 1009: a frame over the message body limit (closed by the WebSocket layer);
 * - 1013: more than `maxInbound` streams open at once;
 * - 4000: neither a frame nor a ping for `idleTimeoutMs`.
 * A peer that does not answer the close frame within `CLOSE_GRACE_MS` (one
 * that reads nothing) has its connection cut.
 *
 * Memory: frames are handled one at a time, in order; while one is handled
 * the socket is not read (`MAX_QUEUED_FRAMES` may wait, parsed from what was
 * read already), so a fast sender is slowed by TCP rather than buffered.
 * @module
 */
import type WebSocket from 'ws';
import { ErrorCode, isFastposError } from '../errors.js';
import { decodeFrame } from './streamFrame.js';
import { envelopeKind, type P2pTraffic } from './traffic.js';

/** Refusals for a rate limit are counted over windows of this length. */
export const FLOOD_WINDOW_MS = 10_000;
/** Frames waiting while one is handled before the socket stops being read. */
export const MAX_QUEUED_FRAMES = 2;
/** A stream this node closed is cut this long after its close frame if the peer does not answer it (it may not read at all). */
export const CLOSE_GRACE_MS = 2_000;
/** Envelopes handled between two turns of the event loop (the rest of a frame waits for the next turn). */
const ENVELOPES_PER_TURN = 64;

export interface StreamServerOptions {
  readonly maxInbound: number;
  readonly idleTimeoutMs: number;
  readonly maxRefused: number;
  readonly traffic: P2pTraffic;
  /** Handles one envelope as `POST /p2p/message` does; throws a FastposError to refuse it. */
  readonly envelope: (json: unknown) => Promise<void>;
  /** Handles a tx list as `POST /p2p/txs` does (`ip`: the sender's address, for its budget); throws a FastposError to refuse it. */
  readonly txs: (txs: readonly unknown[], ip: string) => Promise<void>;
  readonly now?: () => number;
  readonly log?: (fields: Record<string, unknown>, msg: string) => void;
}

export class StreamServer {
  private readonly open = new Set<WebSocket>();
  private readonly now: () => number;

  constructor(private readonly opts: StreamServerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.open.size;
  }

  /** Serves a stream a peer opened from `ip`. */
  accept(ws: WebSocket, ip: string): void {
    const o = this.opts;
    if (this.open.size >= o.maxInbound) {
      o.traffic.dropped('too_many_streams', 1);
      ws.close(1013, `this node serves at most ${o.maxInbound} peer streams at once`);
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
      return;
    }
    this.open.add(ws);
    o.traffic.streams('in', 1);
    const frames: Buffer[] = [];
    let busy = false;
    let shut = false;
    let windowStart = this.now();
    let refusedForRate = 0;

    const close = (code: number, reason: string, dropReason: string): void => {
      if (shut) return;
      shut = true;
      frames.length = 0;
      o.traffic.dropped(dropReason, 1);
      o.log?.({ ip, code, reason }, 'closed a peer stream');
      ws.close(code, reason.slice(0, 120));
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    };
    const idle = setTimeout(() => close(4000, `neither a frame nor a ping for ${o.idleTimeoutMs} ms`, 'idle'), o.idleTimeoutMs);
    idle.unref();

    /** A refused message; false when the stream was closed for it. */
    const refused = (e: unknown): boolean => {
      const code = isFastposError(e) ? e.code : ErrorCode.INTERNAL;
      if (!isFastposError(e)) o.log?.({ ip, err: (e as Error).message }, 'a stream message failed');
      o.traffic.refused(code);
      if (code !== ErrorCode.RATE_LIMITED) return true;
      const now = this.now();
      if (now - windowStart >= FLOOD_WINDOW_MS) {
        windowStart = now;
        refusedForRate = 0;
      }
      if (++refusedForRate <= o.maxRefused) return true;
      close(1008, `more than ${o.maxRefused} messages refused for their rate within ${FLOOD_WINDOW_MS} ms`, 'flood');
      return false;
    };

    const handle = async (data: Buffer): Promise<void> => {
      let json: unknown;
      try {
        json = JSON.parse(data.toString('utf8'));
      } catch (e) {
        close(1007, `a frame is not valid JSON: ${(e as Error).message}`, 'invalid_json');
        return;
      }
      const frame = decodeFrame(json);
      if (typeof frame === 'string') {
        close(1008, frame, 'bad_frame');
        return;
      }
      for (let i = 0; i < frame.envelopes.length; i++) {
        if (shut) return;
        if (i > 0 && i % ENVELOPES_PER_TURN === 0) await new Promise<void>((r) => setImmediate(r));
        const e = frame.envelopes[i];
        o.traffic.received(envelopeKind(e), 1);
        try {
          await o.envelope(e);
        } catch (err) {
          if (!refused(err)) return;
        }
      }
      if (frame.txs.length > 0 && !shut) {
        o.traffic.received('txs', 1);
        try {
          await o.txs(frame.txs, ip);
        } catch (err) {
          refused(err);
        }
      }
    };

    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (frames.length > 0 && !shut) {
          const f = frames.shift()!;
          await handle(f);
          if (frames.length === 0) ws.resume();
        }
      } finally {
        busy = false;
      }
    };

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (shut) return;
      idle.refresh();
      o.traffic.bytesReceived('stream', data.length);
      if (isBinary) {
        close(1003, 'frames are JSON text', 'bad_frame');
        return;
      }
      frames.push(data);
      if (frames.length >= MAX_QUEUED_FRAMES || busy) ws.pause();
      void pump().catch((e: unknown) => o.log?.({ ip, err: (e as Error).message }, 'a stream frame failed'));
    });
    ws.on('ping', () => {
      if (!shut) idle.refresh();
    });
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') o.traffic.dropped('too_large', 1);
      o.log?.({ ip, err: e.message }, 'peer stream error');
    });
    ws.once('close', () => {
      clearTimeout(idle);
      shut = true;
      frames.length = 0;
      this.open.delete(ws);
      o.traffic.streams('in', -1);
    });
  }

  /** Closes every inbound stream (the node is stopping). */
  close(): void {
    for (const ws of this.open) {
      ws.close(1001, 'node stopping');
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    }
  }
}
