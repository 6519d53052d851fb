/**
 * The snapshot backend of `ChainStore`, for small chains and backups: two
 * plain files in the data dir,
 *
 * - `state.json` (stateFile.ts): the whole state at the committed height,
 *   rewritten atomically after every block;
 * - `blocks.log` (blockLog.ts): every kept block, one checksummed line each;
 * - `headers.log` (headerLog.ts): the certified headers of the heights whose
 *   blocks were pruned from `blocks.log`.
 *
 * A commit appends and fsyncs the block line FIRST and replaces state.json
 * SECOND; state.json's height is the commit point. `open` therefore treats a
 * log line beyond that height as an interrupted, unreported commit and drops
 * it (see `BlockLog.open`). Lookups use an in-memory index built on open
 * (tx id -> position, per-tx filter fields, per-height byte offsets), so
 * memory grows with the number of txs: this backend is not for big chains.
 *
 * Pruning (`pruneKeepBlocks` = k): once the log holds k + max(k, 64) blocks,
 * a commit compacts it to the newest k (their headers appended to
 * headers.log first, then the kept tail rewritten and renamed over the log:
 * blockLog.ts). Each compaction rewrites k blocks every max(k, 64) commits,
 * so its cost per block is bounded by the kept window, never by the chain.
 *
 * `installState` writes `state.json.install`, then `headers.log.install` and
 * `blocks.log.install`, then renames `state.json.install` over state.json
 * (the commit point) and the two logs over theirs. `open` finishes that: a
 * `state.json.install` left means the install did not commit (the `.install`
 * files are removed); `.install` logs without it mean it did (they are
 * renamed into place).
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../codec/canonical.js';
import { decodeFinalizedBlock, finalizedBlockJson } from '../../codec/block.js';
import { decodeStateValue, type StateValue } from '../../codec/state.js';
import { assert } from '../../errors.js';
import type { FinalizedBlock } from '../../types/index.js';
import { checkQuery, corrupt, describeError, fsyncDir, orCorrupt, prepareBackupDir, recordFromWireBlock, writeAll, writeFileAtomic, type ChainStoreOptions, isHeaderCheckpoint } from '../common.js';
import { MemoryProductIndex, checkedProductReads } from '../productIndex.js';
import { MemoryTxIndex } from '../txIndex.js';
import type { BlockCommit, CertifiedHeader, ChainStore, FinalizedTxRecord, LoadedChain, StateInstall, TxQuery } from '../types.js';
import type { EpochRewards, ProductChallenge, ProductProof, Settlement } from '../../types/index.js';
import { ErrorCode, FastposError } from '../../errors.js';
import { BLOCK_LOG_FILE, BlockLog, logLine } from './blockLog.js';
import { certifiedHeaderJson, HEADER_LOG_FILE, HeaderLog } from './headerLog.js';
import { readStateFile, serializeState, STATE_FILE } from './stateFile.js';

/** A value from `BlockCommit.changes` must be canonical JSON: state.json embeds it verbatim under its checksum. */
function assertCanonical(key: string, json: string): void {
  let ok = false;
  try {
    ok = canonicalJson(JSON.parse(json)) === json;
  } catch {
    ok = false;
  }
  assert(ok, `state value of ${key} is not canonical JSON`);
}

/**
 * Copies the first `length` bytes of the file open as `src` (closed here)
 * into a new file `to` and fsyncs it. The caller opens `src` synchronously,
 * so the copy reads the file as it was then even if a compaction renames a
 * new file over its path meanwhile.
 */
async function copyPrefix(src: number, name: string, to: string, length: number): Promise<void> {
  const read = (buf: Buffer, len: number, pos: number): Promise<number> =>
    new Promise((resolve, reject) => fs.read(src, buf, 0, len, pos, (e, n) => (e === null ? resolve(n) : reject(e))));
  try {
    const dst = await fs.promises.open(to, 'wx');
    try {
      const buf = Buffer.alloc(1 << 20);
      let pos = 0;
      while (pos < length) {
        const bytesRead = await read(buf, Math.min(buf.length, length - pos), pos);
        if (bytesRead === 0) throw new Error(`${name} ended at ${pos} of ${length} bytes`);
        await dst.write(buf, 0, bytesRead);
        pos += bytesRead;
      }
      await dst.sync();
    } finally {
      await dst.close();
    }
  } finally {
    fs.closeSync(src);
  }
}

/** Suffix of the files an install writes aside. */
const INSTALL = '.install';

/** Writes `lines` (JSON texts) as a checksummed log to a new file and fsyncs it. */
function writeLogFile(file: string, jsons: Iterable<string>): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const json of jsons) writeAll(fd, logLine(json));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Blocks a compaction leaves beyond the kept window before the next one: max(k, 64). */
const compactSlack = (keep: number): number => Math.max(keep, 64);

export class SnapshotChainStore implements ChainStore {
  readonly backend = 'snapshot' as const;
  readonly stateFile: string;
  readonly logFile: string;
  readonly headerFile: string;
  /** Recoveries performed by `open` (also passed to `options.onWarning`). */
  readonly warnings: string[] = [];
  private opened = false;
  /** Null until a genesis exists. */
  private log: BlockLog | null = null;
  private headerLog: HeaderLog | null = null;
  /** Set when a commit failed half-way: the store refuses further commits until reopened. */
  private failed: string | null = null;
  private genesisHash: string | null = null;
  private accumulator: Buffer | null = null;
  private height = 0;
  /** key -> canonical JSON of the value, at `height`. */
  private readonly entries = new Map<string, string>();
  /** Entry keys in canonical order; null when a new key made it stale. */
  private sortedKeys: string[] | null = null;
  /** The kept blocks' txs. */
  private readonly txs = new MemoryTxIndex();
  /** times[h - timesFirst] = timestamp of the header at h, for every stored header. */
  private times: number[] = [];
  private timesFirst = 1;
  /**
   * The product index (productIndex.ts): built from the state at open, then
   * fed by each block's changes. It is a function of the state, so it needs
   * no file of its own.
   */
  private product = this.newProductIndex();

  constructor(
    readonly dataDir: string,
    readonly options: ChainStoreOptions = {},
  ) {
    this.stateFile = path.join(dataDir, STATE_FILE);
    this.logFile = path.join(dataDir, BLOCK_LOG_FILE);
    this.headerFile = path.join(dataDir, HEADER_LOG_FILE);
  }

  private newProductIndex(): MemoryProductIndex {
    // Heights below the earliest header have no known time: taken as 0 (before any time window).
    return new MemoryProductIndex({ height: () => this.height, timeAt: (h) => this.times[h - this.timesFirst] ?? 0 });
  }

  /** Finishes or undoes an install a crash interrupted (see the module comment). */
  private recoverInstall(quiet = false): void {
    const aside = (f: string): string => `${f}${INSTALL}`;
    fs.rmSync(`${aside(this.stateFile)}.tmp`, { force: true });
    const logs = [this.headerFile, this.logFile].filter((f) => fs.existsSync(aside(f)));
    if (fs.existsSync(aside(this.stateFile))) {
      for (const f of [this.stateFile, ...logs]) fs.rmSync(aside(f), { force: true });
      fsyncDir(this.dataDir);
      this.warn(`${this.dataDir}: removed the files of a state install that a crash interrupted before it committed; the store holds its earlier content`);
      return;
    }
    if (logs.length === 0) return;
    for (const f of logs) fs.renameSync(aside(f), f);
    fsyncDir(this.dataDir);
    if (!quiet) this.warn(`${this.dataDir}: finished a state install that a crash interrupted after it committed (${logs.map((f) => path.basename(f)).join(', ')} moved into place)`);
  }

  private addHeaderTime(height: number, time: number): void {
    if (this.times.length === 0) this.timesFirst = height;
    // Heights between two kept checkpoints take the earlier one's time: coarse, but in order.
    const last = this.times.at(-1) ?? time;
    while (this.timesFirst + this.times.length < height) this.times.push(last);
    this.times.push(time);
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.options.onWarning?.(message);
  }

  open(): LoadedChain {
    assert(!this.opened, 'snapshot store is already open');
    fs.mkdirSync(this.dataDir, { recursive: true });
    // A left-over state.json.tmp is a replacement that never got renamed: not committed.
    fs.rmSync(`${this.stateFile}.tmp`, { force: true });
    this.recoverInstall();
    const snap = readStateFile(this.dataDir);
    if (snap === undefined) {
      if (fs.existsSync(this.logFile) && fs.statSync(this.logFile).size > 0) {
        throw corrupt(this.logFile, `holds blocks but ${this.stateFile} is missing`);
      }
      this.opened = true;
      return { genesisHash: null, height: 0, entries: [], accumulator: null, latest: null };
    }
    const entries: [string, StateValue][] = [];
    for (const [key, json] of snap.entries) {
      entries.push([key, orCorrupt(this.stateFile, `entry ${key}`, () => decodeStateValue(key, json))]);
    }
    let latest: FinalizedBlock | null = null;
    let firstPrevHash: string | null = null;
    const blocks: FinalizedBlock[] = [];
    try {
      this.log = BlockLog.open(
        this.logFile,
        snap.height,
        (fb) => {
          firstPrevHash ??= fb.block.header.prevHash;
          blocks.push(fb);
          latest = fb;
        },
        (m) => this.warn(m),
      );
      const first = this.log.first;
      this.txs.reset(first);
      let lastHeader: CertifiedHeader | null = null;
      this.headerLog = HeaderLog.open(
        this.headerFile,
        first,
        (h) => {
          this.addHeaderTime(h.header.height, h.header.timestamp);
          lastHeader = h;
        },
        (m) => this.warn(m),
      );
      const hl = this.headerLog;
      if (hl.count > 0 && hl.last >= first) throw corrupt(this.headerFile, `ends at height ${hl.last} but ${this.logFile} starts at height ${first}`);
      if (lastHeader !== null && firstPrevHash !== null && hl.last === first - 1 && (lastHeader as CertifiedHeader).hash !== firstPrevHash) {
        throw corrupt(this.logFile, `the prevHash of its first block ${first} does not match the last header of ${this.headerFile}`);
      }
      for (const fb of blocks) this.indexBlock(fb);
    } catch (e) {
      void this.close(); // drops the partly built index
      throw e;
    }
    for (const [key, json] of snap.entries) this.entries.set(key, json);
    this.product.apply(snap.entries);
    this.genesisHash = snap.genesisHash;
    this.accumulator = Buffer.from(snap.accumulator);
    this.height = snap.height;
    this.opened = true;
    return { genesisHash: snap.genesisHash, height: snap.height, entries, accumulator: Buffer.from(snap.accumulator), latest };
  }

  private indexBlock(fb: FinalizedBlock): void {
    this.txs.add(fb);
    this.addHeaderTime(fb.block.header.height, fb.block.header.timestamp);
  }

  private keysInOrder(): string[] {
    this.sortedKeys ??= [...this.entries.keys()].sort();
    return this.sortedKeys;
  }

  initGenesis(genesisHash: string, entries: ReadonlyMap<string, string>, accumulator: Buffer): void {
    assert(this.opened, 'snapshot store is not open');
    assert(this.genesisHash === null, 'store already has a genesis');
    for (const [key, value] of entries) assertCanonical(key, value);
    const log = BlockLog.create(this.logFile);
    this.headerLog ??= HeaderLog.open(this.headerFile, 1, () => undefined, (m) => this.warn(m));
    try {
      writeFileAtomic(this.dataDir, STATE_FILE, serializeState({ genesisHash, height: 0, accumulator, entries }));
    } catch (e) {
      log.close();
      throw e;
    }
    this.log = log;
    for (const [key, value] of entries) this.entries.set(key, value);
    this.product.apply(entries);
    this.sortedKeys = null;
    this.genesisHash = genesisHash;
    this.accumulator = Buffer.from(accumulator);
    this.height = 0;
  }

  async commitBlock(c: BlockCommit): Promise<void> {
    const log = this.log;
    assert(log !== null && this.genesisHash !== null, 'commitBlock before initGenesis (or on a closed store)');
    assert(this.failed === null, `an earlier commit failed (${this.failed}); reopen the store`);
    const fb = c.block;
    const height = fb.block.header.height;
    assert(height === this.height + 1, `commitBlock at height ${height} on top of ${this.height}`);
    assert(fb.results.length === fb.block.txs.length, 'one result per tx');
    for (const d of fb.block.txs) assert(!this.txs.has(d.id), `tx ${d.id} is already in the chain`);
    for (const [key, value] of c.changes) if (value !== null) assertCanonical(key, value);
    const json = finalizedBlockJson(fb);

    // Apply the changes in memory, remembering how to undo them.
    const undo = new Map<string, string | undefined>();
    for (const [key, value] of c.changes) {
      if (!undo.has(key)) undo.set(key, this.entries.get(key));
      if (value === null) {
        if (this.entries.delete(key)) this.sortedKeys = null;
        continue;
      }
      if (!this.entries.has(key)) this.sortedKeys = null;
      this.entries.set(key, value);
    }
    const text = serializeState({ genesisHash: this.genesisHash, height, accumulator: c.accumulator, entries: this.entries }, this.keysInOrder());

    const rollback = (): void => {
      for (const [key, old] of undo) {
        if (old === undefined) {
          this.entries.delete(key);
          this.sortedKeys = null;
        } else this.entries.set(key, old);
      }
    };
    try {
      log.append(json); // durable before the state that refers to it
    } catch (e) {
      rollback();
      throw e;
    }
    try {
      writeFileAtomic(this.dataDir, STATE_FILE, text); // the commit point
    } catch (e) {
      // The log holds the block and state.json is the old or (if the rename
      // happened) the new version: both are consistent for `open`, which drops
      // or keeps the block. This instance cannot tell which, so it stops.
      rollback();
      this.failed = describeError(e);
      throw e;
    }
    this.height = height;
    this.accumulator = Buffer.from(c.accumulator);
    this.indexBlock(fb);
    this.product.apply(c.changes);
    this.pruneIfDue();
  }

  /**
   * With `pruneKeepBlocks` = k: once the log holds k + max(k, 64) blocks,
   * their headers go to headers.log and the log is compacted to the newest k.
   * The block is committed already: a failure here stops further commits
   * (as a failed commit does); `open` repairs what it left.
   */
  private pruneIfDue(): void {
    // The block log also holds the header window (its blocks' headers are its lines); below it only checkpoints go to headers.log.
    const keep = Math.max(this.options.pruneKeepBlocks ?? 0, (this.options.pruneKeepBlocks ?? 0) > 0 ? (this.options.headerKeepBlocks ?? 0) : 0);
    const log = this.log!;
    if (keep <= 0 || log.count < keep + compactSlack(keep)) return;
    const first = this.height - keep + 1;
    const every = this.options.headerKeepBlocks !== undefined && this.options.headerKeepBlocks > 0 ? this.options.headerCheckpointEvery : 1;
    try {
      const headers: CertifiedHeader[] = [];
      for (let h = log.first; h < first; h++) if (isHeaderCheckpoint(h, every)) headers.push(this.headerAt(h)!);
      this.headerLog!.append(headers);
      log.compact(first);
    } catch (e) {
      this.failed = `pruning failed: ${describeError(e)}`;
      throw e;
    }
    this.txs.dropBelow(first);
  }

  /** The certified header at `height` from the header log or the block log. */
  private headerAt(height: number): CertifiedHeader | undefined {
    if (height > this.height || this.log === null) return undefined;
    if (height < this.log.first) return this.headerLog?.read(height);
    const wire = this.readBlockJson(height) as { header?: unknown; hash?: unknown; commit?: unknown } | undefined;
    if (wire === undefined) return undefined;
    return orCorrupt(this.logFile, `block ${height}`, () => {
      const fb = decodeFinalizedBlock(wire);
      return { header: fb.block.header, hash: fb.hash, commit: fb.commit };
    });
  }

  private readBlockJson(height: number): unknown {
    const json = this.log?.readJson(height);
    return json === undefined ? undefined : orCorrupt(this.logFile, `line ${height}`, () => JSON.parse(json) as unknown);
  }

  getBlock(height: number): FinalizedBlock | undefined {
    assert(this.opened, 'snapshot store is not open');
    if (height > this.height) return undefined;
    const wire = this.readBlockJson(height);
    return wire === undefined ? undefined : orCorrupt(this.logFile, `line ${height}`, () => decodeFinalizedBlock(wire));
  }

  getBlocks(from: number, limit: number): FinalizedBlock[] {
    const out: FinalizedBlock[] = [];
    if (Math.max(1, from) < this.earliestBlockHeight()) return out; // pruned
    for (let h = Math.max(1, from); h <= this.height && out.length < limit; h++) out.push(this.getBlock(h)!);
    return out;
  }

  getBlocksJson(from: number, limit: number, maxChars = Infinity): string[] {
    assert(this.opened, 'snapshot store is not open');
    const out: string[] = [];
    if (Math.max(1, from) < this.earliestBlockHeight()) return out; // pruned
    let chars = 0;
    for (let h = Math.max(1, from); h <= this.height && out.length < limit; h++) {
      const json = this.log!.readJson(h)!;
      if (out.length > 0 && chars + json.length > maxChars) break;
      out.push(json);
      chars += json.length;
    }
    return out;
  }

  private record(row: { readonly id: string; readonly height: number; readonly index: number }, cache?: Map<number, unknown>): FinalizedTxRecord {
    let wire = cache?.get(row.height);
    if (wire === undefined) {
      wire = this.readBlockJson(row.height);
      cache?.set(row.height, wire);
    }
    return orCorrupt(this.logFile, `line ${row.height}`, () => recordFromWireBlock(wire, row.id, row.height, row.index));
  }

  getTx(id: string): FinalizedTxRecord | undefined {
    assert(this.opened, 'snapshot store is not open');
    const row = this.txs.get(id);
    return row === undefined ? undefined : this.record(row);
  }

  queryTxs(q: TxQuery): { total: number; items: FinalizedTxRecord[] } {
    assert(this.opened, 'snapshot store is not open');
    checkQuery(q);
    const { total, page } = this.txs.query(q);
    const cache = new Map<number, unknown>();
    return { total, items: page.map((r) => this.record(r, cache)) };
  }

  committed(): { genesisHash: string | null; height: number; accumulator: Buffer | null } {
    assert(this.opened, 'snapshot store is not open');
    return { genesisHash: this.genesisHash, height: this.height, accumulator: this.accumulator === null ? null : Buffer.from(this.accumulator) };
  }

  earliestBlockHeight(): number {
    assert(this.opened, 'snapshot store is not open');
    return this.log === null || this.log.count === 0 ? this.height + 1 : this.log.first;
  }

  earliestHeaderHeight(): number {
    assert(this.opened, 'snapshot store is not open');
    const hl = this.headerLog;
    return hl !== null && hl.count > 0 ? hl.first : this.earliestBlockHeight();
  }

  getHeaders(from: number, limit: number): CertifiedHeader[] {
    assert(this.opened, 'snapshot store is not open');
    const out: CertifiedHeader[] = [];
    const start = Math.max(1, from);
    // The header log's heights (checkpoints may leave gaps), then every height of the block log.
    for (const h of this.headerLog?.heldHeights ?? []) {
      if (out.length >= limit) return out;
      if (h >= start) out.push(this.headerLog!.read(h)!);
    }
    for (let h = Math.max(start, this.earliestBlockHeight()); h <= this.height && out.length < limit; h++) out.push(this.headerAt(h)!);
    return out;
  }

  *stateEntries(): IterableIterator<[string, string]> {
    assert(this.opened, 'snapshot store is not open');
    // A copy of the key list: commits may change the map while the caller reads.
    for (const key of [...this.keysInOrder()]) {
      const value = this.entries.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  /**
   * Writes the new content aside, commits it by renaming state.json.install
   * over state.json, moves the logs into place and reopens (see the module
   * comment for what `open` does after a crash at any point).
   */
  async installState(s: StateInstall): Promise<void> {
    assert(this.opened, 'snapshot store is not open');
    const height = s.block.block.header.height;
    const entries = new Map<string, string>();
    for (const [key, value] of s.entries) {
      assertCanonical(key, value);
      entries.set(key, value);
    }
    const aside = (f: string): string => `${f}${INSTALL}`;
    try {
      writeFileAtomic(this.dataDir, STATE_FILE + INSTALL, serializeState({ genesisHash: s.genesisHash, height, accumulator: s.accumulator, entries }));
      let next = -1;
      const expect = (h: number, what: string): void => {
        if (next !== -1 && h !== next) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `installState: ${what} ${h} follows height ${next - 1}`);
        next = h + 1;
      };
      const headers = s.headers ?? [];
      writeLogFile(aside(this.headerFile), (function* () {
        // Headers ascend (kept checkpoints may leave gaps); the blocks then follow one another.
        for (const h of headers) {
          if (next !== -1 && h.header.height < next) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `installState: header ${h.header.height} follows height ${next - 1}`);
          next = h.header.height + 1;
          yield certifiedHeaderJson(h);
        }
      })());
      const blocks = s.blocks ?? [];
      let atFirst = true;
      writeLogFile(aside(this.logFile), (function* () {
        for (const b of blocks) {
          if (atFirst && next !== -1 && b.block.header.height >= next) next = b.block.header.height;
          atFirst = false;
          expect(b.block.header.height, 'block');
          yield finalizedBlockJson(b);
        }
        if (atFirst && next !== -1 && height >= next) next = height;
        expect(height, 'block');
        yield finalizedBlockJson(s.block);
      })());
      fsyncDir(this.dataDir);
    } catch (e) {
      for (const f of [this.stateFile, this.headerFile, this.logFile]) fs.rmSync(aside(f), { force: true });
      throw e;
    }
    await this.close();
    fs.renameSync(aside(this.stateFile), this.stateFile); // the commit point
    fsyncDir(this.dataDir);
    this.recoverInstall(true); // moves the logs into place
    this.open();
  }

  async backup(dir: string): Promise<void> {
    assert(this.opened, 'snapshot store is not open');
    prepareBackupDir(dir);
    if (this.log === null) return; // nothing recorded yet
    // Taken together synchronously, so no commit can fall between them: the
    // state file and the log length it refers to. The log only grows at its
    // end, so its first `length` bytes stay valid while the copy runs.
    const stateText = fs.readFileSync(this.stateFile);
    const length = this.log.byteLength;
    const headerLength = this.headerLog?.byteLength ?? 0;
    // Opened now, with the lengths: a compaction meanwhile renames a new log over the path, these read the
    // files as they were; headers.log only grows at its end.
    const logFd = fs.openSync(this.logFile, 'r');
    let headerFd = -1;
    try {
      if (headerLength > 0) headerFd = fs.openSync(this.headerFile, 'r');
    } catch (e) {
      fs.closeSync(logFd);
      throw e;
    }
    try {
      await copyPrefix(logFd, this.logFile, path.join(dir, BLOCK_LOG_FILE), length);
    } catch (e) {
      if (headerFd !== -1) fs.closeSync(headerFd);
      throw e;
    }
    if (headerFd !== -1) await copyPrefix(headerFd, this.headerFile, path.join(dir, HEADER_LOG_FILE), headerLength);
    writeFileAtomic(dir, STATE_FILE, stateText); // also makes the new blocks.log entry durable
  }

  async close(): Promise<void> {
    this.log?.close();
    this.log = null;
    this.headerLog?.close();
    this.headerLog = null;
    this.opened = false;
    this.failed = null;
    this.genesisHash = null;
    this.accumulator = null;
    this.height = 0;
    this.entries.clear();
    this.sortedKeys = null;
    this.txs.reset();
    this.times = [];
    this.timesFirst = 1;
    this.product = this.newProductIndex();
  }

  /** The product index's reads (checked pages; only while open). */
  readonly productReads = checkedProductReads(() => {
    assert(this.opened, 'snapshot store is not open');
    return this.product;
  });
}
