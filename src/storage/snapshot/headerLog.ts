/**
 * `headers.log` of the snapshot backend: the certified headers (header, hash,
 * commit certificate) of the heights whose whole blocks were pruned from
 * `blocks.log`, one checksummed line each in the format of the block log,
 *
 *   <sha256 hex of json> <json>\n
 *
 * with json = canonical JSON of `{commit, hash, header}`, heights ascending
 * (below the kept header window only checkpoints are written: each epoch's
 * first header) and consecutive ones linked by prevHash. Compaction of the block log appends the headers of
 * the blocks it drops here (fsynced) before it replaces the block log, so a
 * crash in between leaves header lines at heights the block log still holds:
 * `open` cuts those off. Owns the scan on open, byte offsets per height and
 * fsynced appends.
 * @module
 */
import fs from 'node:fs';
import { canonicalJson } from '../../codec/canonical.js';
import { decodeCertifiedHeader } from '../../codec/block.js';
import { assert } from '../../errors.js';
import { corrupt, describeError, readExactly, writeAll } from '../common.js';
import type { CertifiedHeader } from '../types.js';
import { logLine, splitLines, verifiedJson, type Span } from './blockLog.js';

export const HEADER_LOG_FILE = 'headers.log';

/** The stored JSON of a certified header. */
export function certifiedHeaderJson(h: CertifiedHeader): string {
  return canonicalJson({ commit: h.commit, hash: h.hash, header: h.header });
}

export class HeaderLog {
  private constructor(
    readonly file: string,
    /** -1 until the file exists (it is created by the first append). */
    private fd: number,
    /** spans[i] is the line of height heights[i]. */
    private readonly spans: Span[],
    private readonly heights: number[],
    private size: number,
    private firstHeight: number,
  ) {}

  /** Height of the first header (meaningless when empty). */
  get first(): number {
    return this.heights[0] ?? this.firstHeight;
  }

  /** The heights held, ascending. */
  get heldHeights(): readonly number[] {
    return this.heights;
  }

  /** File length covered by the kept headers. */
  get byteLength(): number {
    return this.size;
  }

  get count(): number {
    return this.spans.length;
  }

  /** Height of the last header (first - 1 when empty). */
  get last(): number {
    return this.heights.at(-1) ?? this.firstHeight - 1;
  }

  /**
   * Opens (or creates) the log and checks every line; `below` is the first
   * height of the block log: lines at or above it are the left-over of an
   * interrupted compaction, reported through `warn` and cut off, as is a torn
   * last line. Calls `onHeader` for each kept header in order.
   */
  static open(file: string, below: number, onHeader: (h: CertifiedHeader) => void, warn: (msg: string) => void): HeaderLog {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      buf = Buffer.alloc(0);
    }
    const { lines, torn } = splitLines(buf);
    let kept = 0;
    let prevHash: string | null = null;
    let prevHeight = 0;
    const heights: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const s = lines[i]!;
      let h: CertifiedHeader;
      try {
        h = decodeCertifiedHeader(JSON.parse(verifiedJson(buf.subarray(s.start, s.start + s.length))));
      } catch (e) {
        throw corrupt(file, `line ${i + 1}: ${describeError(e)}`);
      }
      const height = h.header.height;
      if (i > 0 && height <= prevHeight) throw corrupt(file, `line ${i + 1}: holds height ${height}; heights must ascend (after ${prevHeight})`);
      if (i > 0 && height === prevHeight + 1 && h.header.prevHash !== prevHash) throw corrupt(file, `line ${i + 1}: prevHash does not match the header on line ${i}`);
      prevHash = h.hash;
      prevHeight = height;
      if (height >= below) break;
      onHeader(h);
      heights.push(height);
      kept++;
    }
    const size = kept === 0 ? 0 : lines[kept - 1]!.start + lines[kept - 1]!.length + 1;
    if (kept < lines.length) warn(`${file}: cut off ${lines.length - kept} header lines from height ${below}: a crash interrupted a compaction of the block log, which still holds them`);
    if (torn >= 0) warn(`${file}: cut off ${buf.length - torn} bytes of a torn last line (no newline): a crash interrupted an append`);
    if (buf.length === 0) return new HeaderLog(file, -1, [], [], 0, below);
    const fd = fs.openSync(file, 'a+');
    if (size < buf.length) {
      fs.ftruncateSync(fd, size);
      fs.fsyncSync(fd);
    }
    return new HeaderLog(file, fd, lines.slice(0, kept), heights, size, kept === 0 ? below : heights[0]!);
  }

  /** Appends the headers of the next heights and fsyncs them once. */
  append(headers: readonly CertifiedHeader[]): void {
    if (headers.length === 0) return;
    if (this.spans.length === 0) this.firstHeight = headers[0]!.header.height;
    for (let i = 0; i < headers.length; i++) {
      const previous = i === 0 ? (this.heights.at(-1) ?? 0) : headers[i - 1]!.header.height;
      assert(headers[i]!.header.height > previous, `header ${headers[i]!.header.height} appended after ${previous}`);
    }
    const lines = headers.map((h) => logLine(certifiedHeaderJson(h)));
    const start = this.size;
    if (this.fd === -1) this.fd = fs.openSync(this.file, 'a+');
    try {
      writeAll(this.fd, Buffer.concat(lines));
      fs.fsyncSync(this.fd);
    } catch (e) {
      // Cut back: extra lines would only be cut off by the next open, but keep the file as the index says.
      try {
        fs.ftruncateSync(this.fd, start);
      } catch {
        // open repairs it.
      }
      throw e;
    }
    let pos = start;
    for (const [i, l] of lines.entries()) {
      this.heights.push(headers[i]!.header.height);
      this.spans.push({ start: pos, length: l.length - 1 });
      pos += l.length;
    }
    this.size = pos;
  }

  /** The certified header at `height`, or undefined outside the log. */
  read(height: number): CertifiedHeader | undefined {
    const s = this.spans[this.indexOf(height)];
    if (s === undefined) return undefined;
    const buf = readExactly(this.fd, this.file, s.start, s.length, `header ${height}`);
    try {
      return decodeCertifiedHeader(JSON.parse(verifiedJson(buf)));
    } catch (e) {
      throw corrupt(this.file, `header ${height}: ${describeError(e)}`);
    }
  }

  /** Index of `height` in the log, or -1. */
  private indexOf(height: number): number {
    let lo = 0;
    let hi = this.heights.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const h = this.heights[mid]!;
      if (h === height) return mid;
      if (h < height) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  close(): void {
    if (this.fd !== -1) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
