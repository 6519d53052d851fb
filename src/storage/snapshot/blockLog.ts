/**
 * `blocks.log` of the snapshot backend: append-only, one line per block,
 *
 *   <sha256 hex of json> <json>\n
 *
 * with json = JSON of `encodeFinalizedBlock`, the first line holding the
 * earliest kept block (height 1 unless pruned or installed) and each next
 * line the next height. Owns the scan on open (hash and structure of every
 * line, heights consecutive and linked by prevHash), the recovery of an
 * interrupted append, byte offsets per height for random reads, fsynced
 * appends, and compaction: the kept tail copied byte for byte to
 * `blocks.log.tmp`, fsynced and renamed over the log (a left-over `.tmp` is
 * an unfinished compaction, removed on open).
 * @module
 */
import fs from 'node:fs';
import { decodeFinalizedBlock } from '../../codec/block.js';
import { sha256Hex } from '../../crypto/hash.js';
import { assert } from '../../errors.js';
import type { FinalizedBlock } from '../../types/index.js';
import { corrupt, describeError, fsyncDir, readExactly, writeAll } from '../common.js';
import path from 'node:path';

export const BLOCK_LOG_FILE = 'blocks.log';

const NL = 0x0a;
const HASH_RE = /^[0-9a-f]{64}$/;

/** Where one line sits in the file (without its newline). */
export interface Span {
  readonly start: number;
  readonly length: number;
}

/** A checksummed log line: `<sha256 hex of json> <json>\n`. */
export function logLine(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  return Buffer.concat([Buffer.from(`${sha256Hex(body)} `, 'latin1'), body, Buffer.from('\n')]);
}

/** Byte spans of the complete lines of `buf`, and where a torn last line (no newline) starts (-1: none). */
export function splitLines(buf: Buffer): { lines: Span[]; torn: number } {
  const lines: Span[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(NL, pos);
    if (nl === -1) return { lines, torn: pos };
    lines.push({ start: pos, length: nl - pos });
    pos = nl + 1;
  }
  return { lines, torn: -1 };
}

/** Splits a line into hash and JSON and checks the hash; throws a message (not an error object) on failure. */
export function verifiedJson(line: Buffer): string {
  const sp = line.indexOf(0x20);
  const hash = sp === 64 ? line.subarray(0, 64).toString('latin1') : '';
  if (!HASH_RE.test(hash)) throw new Error('does not start with a 64-hex-digit hash and a space');
  const json = line.subarray(65);
  if (sha256Hex(json) !== hash) throw new Error('hash mismatch: the line was changed or damaged');
  return json.toString('utf8');
}

export class BlockLog {
  private constructor(
    readonly file: string,
    private fd: number,
    /** spans[h - first] is the line of height h. */
    private spans: Span[],
    /** Bytes of the committed lines: the file's length. */
    private size: number,
    /** Height of the first line (latest height + 1 when the log is empty). */
    private firstHeight: number,
  ) {}

  /** Set when a failed append could not be undone: no more appends until a reopen. */
  private broken: string | null = null;

  /** Height of the last block in the log (first - 1 when empty). */
  get height(): number {
    return this.firstHeight + this.spans.length - 1;
  }

  /** Height of the first block in the log. */
  get first(): number {
    return this.firstHeight;
  }

  /** Number of blocks in the log. */
  get count(): number {
    return this.spans.length;
  }

  /** File length covered by committed blocks (what a consistent copy must take). */
  get byteLength(): number {
    return this.size;
  }

  /** Creates an empty log (truncating any old one) whose first block will be `first`, and makes it durable. */
  static create(file: string, first = 1): BlockLog {
    const fd = fs.openSync(file, 'w+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    return BlockLog.attach(file, [], 0, first);
  }

  private static attach(file: string, spans: Span[], size: number, first: number): BlockLog {
    // Append mode: every write lands at the end; positional reads still work.
    return new BlockLog(file, fs.openSync(file, 'a+'), spans, size, first);
  }

  /**
   * Opens the log of a store whose state.json is at `committedHeight` and
   * checks it. Calls `onBlock` for heights 1..committedHeight in order.
   *
   * Recovery (a commit appends and fsyncs the block line first and replaces
   * state.json second; it reports success only after both):
   * - A last line without its newline is a torn append of a commit that never
   *   returned. It is reported through `warn` and cut off.
   * - One complete line beyond `committedHeight` is a block whose append was
   *   durable but whose state.json replacement was not: the commit never
   *   returned, so the block was not committed. It is reported and cut off
   *   (without being checked: it may itself be half-written).
   * Any other damage is CORRUPT_DATA naming the file (and the line): a bad
   * line at or below `committedHeight`, fewer lines than `committedHeight`,
   * more than one extra line, heights that are not consecutive or not linked.
   */
  static open(
    file: string,
    committedHeight: number,
    onBlock: (fb: FinalizedBlock) => void,
    warn: (msg: string) => void,
    /** The hash the first kept block's prevHash must equal (the last pruned header's), when known. */
    prevHashOfFirst: string | null = null,
  ): BlockLog {
    // A left-over compaction copy was never renamed over the log: the log is whole.
    fs.rmSync(`${file}.tmp`, { force: true });
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (committedHeight > 0) throw corrupt(file, `is missing but state.json is at height ${committedHeight}`);
      return BlockLog.create(file);
    }
    const { lines, torn } = splitLines(buf);
    const decodeLine = (i: number): FinalizedBlock => {
      const s = lines[i]!;
      try {
        return decodeFinalizedBlock(JSON.parse(verifiedJson(buf.subarray(s.start, s.start + s.length))));
      } catch (e) {
        throw corrupt(file, `line ${i + 1}: ${describeError(e)}`);
      }
    };
    // The first line names the earliest kept height (at height 0 every line is uncommitted).
    const firstFb = committedHeight > 0 && lines.length > 0 ? decodeLine(0) : null;
    const first = firstFb?.block.header.height ?? 1;
    if (first > committedHeight + 1 || first < 1) throw corrupt(file, `line 1: holds height ${first} but state.json is at height ${committedHeight}`);
    const committed = committedHeight - first + 1;
    if (lines.length < committed) {
      throw corrupt(file, `has ${lines.length} complete block lines from height ${first} but state.json is at height ${committedHeight}`);
    }
    if (lines.length > committed + 1) {
      throw corrupt(file, `has ${lines.length} block lines from height ${first} but state.json is at height ${committedHeight} (at most one uncommitted line can be left by a crash)`);
    }
    let prevHash: string | null = prevHashOfFirst;
    for (let i = 0; i < committed; i++) {
      const h = first + i;
      const fb = i === 0 && firstFb !== null ? firstFb : decodeLine(i);
      if (fb.block.header.height !== h) throw corrupt(file, `line ${i + 1}: holds height ${fb.block.header.height}; heights must be consecutive (expected ${h})`);
      if (prevHash !== null && fb.block.header.prevHash !== prevHash) {
        throw corrupt(file, `line ${i + 1}: prevHash of block ${h} does not match the ${i === 0 ? 'last pruned header' : `block on line ${i}`}`);
      }
      prevHash = fb.hash;
      onBlock(fb);
    }
    const committedSize = committed === 0 ? 0 : lines[committed - 1]!.start + lines[committed - 1]!.length + 1;
    if (lines.length > committed) {
      warn(`${file}: dropped block line ${committed + 1}: appended but not committed (state.json is at height ${committedHeight}); a crash interrupted that commit`);
    }
    if (torn >= 0) {
      warn(`${file}: cut off ${buf.length - torn} bytes of a torn last line (no newline): a crash interrupted an append`);
    }
    if (committedSize < buf.length) {
      const fd = fs.openSync(file, 'r+');
      try {
        fs.ftruncateSync(fd, committedSize);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    return BlockLog.attach(file, lines.slice(0, committed), committedSize, first);
  }

  /** Appends the line of the next block and fsyncs it. */
  append(json: string): void {
    const line = logLine(json);
    const start = this.size;
    assert(this.broken === null, `block log unusable after a failed write: ${this.broken}`);
    try {
      writeAll(this.fd, line);
      fs.fsyncSync(this.fd);
    } catch (e) {
      this.truncate(start);
      throw e;
    }
    this.spans.push({ start, length: line.length - 1 });
    this.size = start + line.length;
  }

  /**
   * Cuts the file back to `size` after a failed commit. If even that fails the
   * file may hold an uncommitted line, so the log refuses further appends (a
   * reopen repairs it: see `open`).
   */
  private truncate(size: number): void {
    try {
      fs.ftruncateSync(this.fd, size);
      fs.fsyncSync(this.fd);
    } catch (e) {
      this.broken = describeError(e);
    }
  }

  /**
   * Drops the blocks below `first` (at most up to the last one): the kept
   * lines are copied byte for byte to `<log>.tmp`, which is fsynced and
   * renamed over the log. A crash leaves the old log or the new one, both
   * valid (`open` tells the first height from the first line).
   */
  compact(first: number): void {
    assert(this.broken === null, `block log unusable after a failed write: ${this.broken}`);
    const drop = Math.min(first, this.height) - this.firstHeight;
    if (drop <= 0) return;
    const from = this.spans[drop]!.start;
    const tmp = `${this.file}.tmp`;
    const out = fs.openSync(tmp, 'w');
    try {
      const buf = Buffer.alloc(1 << 20);
      for (let pos = from; pos < this.size; ) {
        const n = fs.readSync(this.fd, buf, 0, Math.min(buf.length, this.size - pos), pos);
        if (n === 0) throw corrupt(this.file, `ends at ${pos} of ${this.size} bytes`);
        writeAll(out, n === buf.length ? buf : buf.subarray(0, n));
        pos += n;
      }
      fs.fsyncSync(out);
    } finally {
      fs.closeSync(out);
    }
    fs.renameSync(tmp, this.file);
    fsyncDir(path.dirname(this.file));
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'a+');
    this.spans = this.spans.slice(drop).map((s) => ({ start: s.start - from, length: s.length }));
    this.size -= from;
    this.firstHeight += drop;
  }

  /** The verified JSON text of the block at `height`, or undefined outside the log. */
  readJson(height: number): string | undefined {
    if (!Number.isSafeInteger(height)) return undefined;
    const s = this.spans[height - this.firstHeight];
    if (s === undefined) return undefined;
    const buf = readExactly(this.fd, this.file, s.start, s.length, `line ${height}`);
    try {
      return verifiedJson(buf);
    } catch (e) {
      throw corrupt(this.file, `line ${height}: ${describeError(e)}`);
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
