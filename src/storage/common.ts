/**
 * Helpers shared by the storage backends: CORRUPT_DATA errors that name the
 * damaged file, building `FinalizedTxRecord`s from a block's wire JSON, and the
 * small file-system chores (atomic file replace, directory fsync, backup target
 * checks). No backend state lives here.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, FastposError } from '../errors.js';
import type { TxResult } from '../types/index.js';
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
  /**
   * Keep the bodies (txs, results, tx index rows) of this many most recent
   * blocks and delete older ones as blocks are committed, a few per commit,
   * in the commit's own transaction rhythm; headers and certificates stay
   * (0 or unset: keep everything).
   */
  readonly pruneKeepBlocks?: number;
  /**
   * Keep the headers and certificates of this many most recent heights and,
   * below them, only the checkpoints: the first height of each epoch
   * (`headerCheckpointEvery` = the epoch length), which is what a light
   * client following validator-set changes needs (0 or unset: keep every
   * header).
   */
  readonly headerKeepBlocks?: number;
  /** Heights h with (h - 1) % this = 0 are checkpoints whose headers are always kept (default 1: every height). */
  readonly headerCheckpointEvery?: number;
}

/** Whether the header of `height` is a checkpoint, kept whatever the header window. */
export function isHeaderCheckpoint(height: number, every: number | undefined): boolean {
  return (height - 1) % Math.max(1, every ?? 1) === 0;
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

/** Reads exactly `length` bytes at `start` of an open file; CORRUPT_DATA naming `what` when the file ends first. */
export function readExactly(fd: number, file: string, start: number, length: number, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const n = fs.readSync(fd, buf, off, length - off, start + off);
    if (n === 0) throw corrupt(file, `${what}: file ends early`);
    off += n;
  }
  return buf;
}
