/**
 * Ranges of finalized blocks (`GET /blocks?from=&limit=`, `GET /sync/blocks`)
 * served from the stored wire JSON without decoding it, bounded in bytes and
 * streamed in slices: the event loop is given back between slices, so a
 * large answer never holds other requests (or consensus) for long. A
 * client's read budget (bytes per address per window) is charged slice by
 * slice; when it runs out the answer ends early with the blocks sent so far,
 * and a client with no budget left gets `429 RATE_LIMITED`. A range that
 * starts below the earliest whole block the node keeps (pruning, or a state
 * installed from a snapshot) is `410 PRUNED`, so that a syncing peer learns
 * where this node's blocks begin.
 * @module
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors.js';
import type { IpBudget } from './ipBudget.js';
import { sendError } from './server.js';

/** Most characters of block JSON in one answer (one block is always served, whatever its size). */
export const MAX_RANGE_CHARS = 4 * 1_048_576;
/** Characters read and sent per slice before the event loop is given back. */
const SLICE_CHARS = 256 * 1024;

/** What a range is read from: the chain store's stored wire JSON. */
export interface BlockJsonSource {
  getBlocksJson(from: number, limit: number, maxChars?: number): string[];
  /** Lowest height whose whole block is kept. */
  earliestBlockHeight(): number;
}

/** The message of a `410 PRUNED` answer for a block below the earliest kept one. */
export function prunedMessage(height: number, earliest: number): string {
  return `block ${height} is pruned: this node keeps whole blocks from height ${earliest} (earliestBlockHeight in GET /status)`;
}

/** Budget units are KiB. */
export const KIB = 1024;

export function sendBlockRange(
  req: FastifyRequest,
  reply: FastifyReply,
  store: BlockJsonSource,
  range: { readonly from: number; readonly count: number },
  budget?: IpBudget,
  /**
   * When given, the answer is `{"items": [blocks…], …fields}` with the
   * fields it returns for the number of blocks sent (which the byte bound
   * or the budget may make fewer than asked); otherwise a plain array.
   */
  envelope?: (count: number) => Record<string, unknown>,
): FastifyReply {
  if (range.count > 0) {
    const earliest = store.earliestBlockHeight();
    if (range.from < earliest) return sendError(reply, ErrorCode.PRUNED, prunedMessage(range.from, earliest));
  }
  const end = range.from + range.count;
  let sent = 0;
  /** How many characters the next slice may hold: the slice size, what is left of the answer and of the budget. */
  const room = (): number => Math.min(SLICE_CHARS, MAX_RANGE_CHARS - sent, (budget?.available(req.ip) ?? Infinity) * KIB);
  /** Reads a slice (at least one block) and charges it. */
  const slice = (from: number, maxChars: number): string[] => {
    const rows = store.getBlocksJson(from, end - from, maxChars);
    const chars = rows.reduce((n, r) => n + r.length, 0);
    budget?.spend(req.ip, Math.ceil(chars / KIB));
    sent += chars;
    return rows;
  };
  // The first slice is read here, so that a store error is an ordinary error answer.
  if (range.count > 0 && room() < KIB) {
    const wait = budget?.waitMs(req.ip, 1) ?? 0;
    if (wait > 0) reply.header('retry-after', String(Math.ceil(wait / 1000)));
    return sendError(reply, ErrorCode.RATE_LIMITED, 'this address has used up its read budget (rateLimitReadBytes per window); retry later');
  }
  const first = range.count <= 0 ? [] : slice(range.from, room());
  let next = range.from + first.length;
  const close = (): string => (envelope === undefined ? ']' : `],${JSON.stringify(envelope(next - range.from)).slice(1)}`);
  const stream = new Readable({
    read() {
      if (next >= end || first.length === 0) {
        this.push(close());
        this.push(null);
        return;
      }
      setImmediate(() => {
        try {
          const maxChars = room();
          // Out of bytes or budget: the answer ends with the blocks sent so far (ask again from the next height).
          const rows = maxChars < KIB ? [] : slice(next, maxChars);
          if (rows.length === 0) {
            this.push(close());
            this.push(null);
            return;
          }
          next += rows.length;
          this.push(',' + rows.join(','));
        } catch (e) {
          this.destroy(e as Error);
        }
      });
    },
  });
  stream.push((envelope === undefined ? '[' : '{"items":[') + first.join(','));
  return reply.type('application/json; charset=utf-8').send(stream);
}
