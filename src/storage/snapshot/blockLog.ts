/**
 * `blocks.log` of the snapshot backend: append-only, one line per block,
 *
 *   <sha256 hex of json> <json>\n
 *
 * with json = JSON of `encodeFinalizedBlock`, line n holding height n. Owns
 * the scan on open (hash and structure of every line, heights consecutive and
 * linked by prevHash), the recovery of an interrupted append, byte offsets per
 * height for random reads, and fsynced appends.
 * @module
 */
import fs from 'node:fs';
import { decodeFinalizedBlock } from '../../codec/block.js';
import { sha256Hex } from '../../crypto/hash.js';
import { assert } from '../../errors.js';
import type { FinalizedBlock } from '../../types/index.js';
import { corrupt, describeError, writeAll } from '../common.js';

export const BLOCK_LOG_FILE = 'blocks.log';

const NL = 0x0a;
const HASH_RE = /^[0-9a-f]{64}$/;

/** Where one line sits in the file (without its newline). */
interface Span {
  readonly start: number;
  readonly length: number;
}

/** Splits a line into hash and JSON and checks the hash; throws a message (not an error object) on failure. */
function verifiedJson(line: Buffer): string {
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
    private readonly fd: number,
    /** spans[h - 1] is the line of height h. */
    private readonly spans: Span[],
    /** Bytes of the committed lines: the file's length. */
    private size: number,
  ) {}

  /** Set when a failed append could not be undone: no more appends until a reopen. */
  private broken: string | null = null;

  /** Number of blocks in the log. */
  get height(): number {
    return this.spans.length;
  }

  /** File length covered by committed blocks (what a consistent copy must take). */
  get byteLength(): number {
    return this.size;
  }

  /** Creates an empty log (truncating any old one) and makes it durable. */
  static create(file: string): BlockLog {
    const fd = fs.openSync(file, 'w+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    return BlockLog.attach(file, [], 0);
  }

  private static attach(file: string, spans: Span[], size: number): BlockLog {
    // Append mode: every write lands at the end; positional reads still work.
    return new BlockLog(file, fs.openSync(file, 'a+'), spans, size);
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
  static open(file: string, committedHeight: number, onBlock: (fb: FinalizedBlock) => void, warn: (msg: string) => void): BlockLog {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (committedHeight > 0) throw corrupt(file, `is missing but state.json is at height ${committedHeight}`);
      return BlockLog.create(file);
    }
    const lines: Span[] = [];
    let pos = 0;
    let torn = -1;
    while (pos < buf.length) {
      const nl = buf.indexOf(NL, pos);
      if (nl === -1) {
        torn = pos;
        break;
      }
      lines.push({ start: pos, length: nl - pos });
      pos = nl + 1;
    }
    if (lines.length < committedHeight) {
      throw corrupt(file, `has ${lines.length} complete block lines but state.json is at height ${committedHeight}`);
    }
    if (lines.length > committedHeight + 1) {
      throw corrupt(file, `has ${lines.length} block lines but state.json is at height ${committedHeight} (at most one uncommitted line can be left by a crash)`);
    }
    let prevHash: string | null = null;
    for (let h = 1; h <= committedHeight; h++) {
      const s = lines[h - 1]!;
      let fb: FinalizedBlock;
      try {
        fb = decodeFinalizedBlock(JSON.parse(verifiedJson(buf.subarray(s.start, s.start + s.length))));
      } catch (e) {
        throw corrupt(file, `line ${h}: ${describeError(e)}`);
      }
      if (fb.block.header.height !== h) throw corrupt(file, `line ${h}: holds height ${fb.block.header.height}; heights must be consecutive from 1`);
      if (prevHash !== null && fb.block.header.prevHash !== prevHash) throw corrupt(file, `line ${h}: prevHash does not match the block on line ${h - 1}`);
      prevHash = fb.hash;
      onBlock(fb);
    }
    const committedSize = committedHeight === 0 ? 0 : lines[committedHeight - 1]!.start + lines[committedHeight - 1]!.length + 1;
    if (lines.length > committedHeight) {
      warn(`${file}: dropped block line ${committedHeight + 1}: appended but not committed (state.json is at height ${committedHeight}); a crash interrupted that commit`);
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
    return BlockLog.attach(file, lines.slice(0, committedHeight), committedSize);
  }

  /** Appends the line of the next block and fsyncs it. */
  append(json: string): void {
    const body = Buffer.from(json, 'utf8');
    const line = Buffer.concat([Buffer.from(`${sha256Hex(body)} `, 'latin1'), body, Buffer.from('\n')]);
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

  /** The verified JSON text of the block at `height`, or undefined beyond the log. */
  readJson(height: number): string | undefined {
    if (!Number.isSafeInteger(height)) return undefined;
    const s = this.spans[height - 1];
    if (s === undefined) return undefined;
    const buf = Buffer.alloc(s.length);
    let off = 0;
    while (off < s.length) {
      const n = fs.readSync(this.fd, buf, off, s.length - off, s.start + off);
      if (n === 0) throw corrupt(this.file, `line ${height}: file ends early`);
      off += n;
    }
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
