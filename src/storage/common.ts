/**
 * Helpers shared by the storage backends: CORRUPT_DATA errors that name the
 * damaged file, the per-tx index row both backends keep (and how a `TxQuery`
 * matches it), building `FinalizedTxRecord`s from a block's wire JSON, and the
 * small file-system chores (atomic file replace, directory fsync, backup target
 * checks). No backend state lives here.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FastposError } from '../errors.js';
import type { FinalizedBlock, Tx, TxResult } from '../types/index.js';
import type { FinalizedTxRecord, TxQuery } from './types.js';

/** Options both backends accept. */
export interface ChainStoreOptions {
  /**
   * Receives recoveries that `open` performed (e.g. a torn last line of the
   * snapshot block log that was cut off). `LoadedChain` has no field for them,
   * so the node should pass its logger here. They are also kept in `warnings`.
   */
  readonly onWarning?: (message: string) => void;
  /**
   * SQLite only: commit blocks on a writer thread (default true), so that a
   * durable commit's fsync never blocks the event loop.
   */
  readonly writerThread?: boolean;
}

/** A short text for an unknown thrown value. */
export function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** CORRUPT_DATA error whose message starts with the damaged file's path. */
export function corrupt(file: string, what: string): FastposError {
  return new FastposError(ErrorCode.CORRUPT_DATA, `${file}: ${what}`, { file });
}

/** Runs `fn`, turning anything it throws into CORRUPT_DATA about `file` (`what` says which part). */
export function orCorrupt<T>(file: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw corrupt(file, `${what}: ${describeError(e)}`);
  }
}

/** What both backends index per finalized tx: enough to evaluate every `TxQuery` filter. */
export interface TxIndexRow {
  readonly id: string;
  readonly height: number;
  readonly index: number;
  readonly sender: string;
  /** payload.to of a transfer; null for kinds without a recipient. */
  readonly recipient: string | null;
  readonly kind: string;
  readonly success: boolean;
}

/** Recipient of a tx as `TxQuery.to` / `address` see it: only transfers have one. */
export function recipientOf(tx: Tx): string | null {
  return tx.kind === 'transfer' ? tx.payload.to : null;
}

export function txIndexRows(fb: FinalizedBlock): TxIndexRow[] {
  const height = fb.block.header.height;
  return fb.block.txs.map((d, index) => ({
    id: d.id,
    height,
    index,
    sender: d.tx.from,
    recipient: recipientOf(d.tx),
    kind: d.tx.kind,
    success: fb.results[index]!.success,
  }));
}

/** Whether an index row passes every filter of `q` (offset, limit and order are not filters). */
export function matchesQuery(r: TxIndexRow, q: TxQuery): boolean {
  if (q.from !== undefined && r.sender !== q.from) return false;
  if (q.to !== undefined && r.recipient !== q.to) return false;
  if (q.address !== undefined && r.sender !== q.address && r.recipient !== q.address) return false;
  if (q.kind !== undefined && r.kind !== q.kind) return false;
  if (q.success !== undefined && r.success !== q.success) return false;
  if (q.fromHeight !== undefined && r.height < q.fromHeight) return false;
  if (q.toHeight !== undefined && r.height > q.toHeight) return false;
  return true;
}

/** A tx result in the shape of the wire JSON (no `error` key when there is none). */
export function resultOf(j: unknown): TxResult {
  if (typeof j !== 'object' || j === null || typeof (j as { success?: unknown }).success !== 'boolean') {
    throw new TypeError('tx result needs a boolean success');
  }
  const { success, error } = j as { success: boolean; error?: unknown };
  return typeof error === 'string' ? { success, error } : { success };
}

/** The record of tx `index` of a block given as parsed wire JSON (output of `encodeFinalizedBlock`). */
export function recordFromWireBlock(wire: unknown, id: string, height: number, index: number): FinalizedTxRecord {
  const w = wire as { hash?: unknown; txs?: unknown; results?: unknown };
  if (typeof w.hash !== 'string' || !Array.isArray(w.txs) || !Array.isArray(w.results)) throw new TypeError('block JSON lacks hash, txs or results');
  const tx: unknown = w.txs[index];
  if (typeof tx !== 'object' || tx === null) throw new TypeError(`block has no tx at index ${index}`);
  return { id, height, index, blockHash: w.hash, result: resultOf(w.results[index]), tx: tx as Record<string, unknown> };
}

/** Checks the basic shape of a query; callers (the API) validate user input first. */
export function checkQuery(q: TxQuery): void {
  if (!Number.isSafeInteger(q.offset) || q.offset < 0 || !Number.isSafeInteger(q.limit) || q.limit < 0) {
    throw new FastposError(ErrorCode.INVALID_REQUEST, 'offset and limit must be non-negative integers');
  }
}

/** fsync a directory so that renames and new entries in it are durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes all of `data` at the file's current position (append mode: at its end). */
export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
}

/**
 * Replaces `dir/name` atomically: write `name.tmp`, fsync it, rename it over
 * `name`, fsync the directory. After a crash the file is either the old or the
 * new version, never a mix; a left-over `.tmp` is an unfinished write.
 */
export function writeFileAtomic(dir: string, name: string, data: string | Buffer, mode = 0o666): void {
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

/** Creates the backup directory, which must not exist or be empty. */
export function prepareBackupDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  if (fs.readdirSync(dir).length > 0) {
    throw new FastposError(ErrorCode.INVALID_REQUEST, `backup directory ${dir} is not empty`);
  }
}
