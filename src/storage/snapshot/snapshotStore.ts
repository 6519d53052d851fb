/**
 * The snapshot backend of `ChainStore`, for small chains and backups: two
 * plain files in the data dir,
 *
 * - `state.json` (stateFile.ts): the whole state at the committed height,
 *   rewritten atomically after every block;
 * - `blocks.log` (blockLog.ts): every block, one checksummed line each.
 *
 * A commit appends and fsyncs the block line FIRST and replaces state.json
 * SECOND; state.json's height is the commit point. `open` therefore treats a
 * log line beyond that height as an interrupted, unreported commit and drops
 * it (see `BlockLog.open`). Lookups use an in-memory index built on open
 * (tx id -> position, per-tx filter fields, per-height byte offsets), so
 * memory grows with the number of txs: this backend is not for big chains.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../codec/canonical.js';
import { decodeFinalizedBlock, finalizedBlockJson } from '../../codec/block.js';
import { decodeStateValue, type StateValue } from '../../codec/state.js';
import { assert } from '../../errors.js';
import type { FinalizedBlock } from '../../types/index.js';
import { checkQuery, corrupt, describeError, orCorrupt, prepareBackupDir, recordFromWireBlock, writeFileAtomic, type ChainStoreOptions } from '../common.js';
import { MemoryProductIndex, checkedProductReads } from '../productIndex.js';
import { queryTxIndex, txIndexRows, type TxIndexRow } from '../txIndex.js';
import type { BlockCommit, ChainStore, FinalizedTxRecord, LoadedChain, TxQuery } from '../types.js';
import type { EpochRewards, ProductChallenge, ProductProof, Settlement } from '../../types/index.js';
import { ErrorCode, FastposError } from '../../errors.js';
import { BLOCK_LOG_FILE, BlockLog } from './blockLog.js';
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

/** Copies the first `length` bytes of `from` into a new file `to` and fsyncs it. */
async function copyPrefix(from: string, to: string, length: number): Promise<void> {
  const src = await fs.promises.open(from, 'r');
  const dst = await fs.promises.open(to, 'wx');
  try {
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    while (pos < length) {
      const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, length - pos), pos);
      if (bytesRead === 0) throw new Error(`${from} ended at ${pos} of ${length} bytes`);
      await dst.write(buf, 0, bytesRead);
      pos += bytesRead;
    }
    await dst.sync();
  } finally {
    await src.close();
    await dst.close();
  }
}

export class SnapshotChainStore implements ChainStore {
  readonly backend = 'snapshot' as const;
  readonly stateFile: string;
  readonly logFile: string;
  /** Recoveries performed by `open` (also passed to `options.onWarning`). */
  readonly warnings: string[] = [];
  private opened = false;
  /** Null until a genesis exists. */
  private log: BlockLog | null = null;
  /** Set when a commit failed half-way: the store refuses further commits until reopened. */
  private failed: string | null = null;
  private genesisHash: string | null = null;
  private height = 0;
  /** key -> canonical JSON of the value, at `height`. */
  private readonly entries = new Map<string, string>();
  /** Entry keys in canonical order; null when a new key made it stale. */
  private sortedKeys: string[] | null = null;
  /** Every finalized tx in (height, index) order. */
  private readonly txs: TxIndexRow[] = [];
  private readonly txById = new Map<string, number>();
  /** txEnd[h] = number of txs in blocks 1..h, so block h's txs are txs[txEnd[h-1] .. txEnd[h]). */
  private readonly txEnd: number[] = [0];
  /** times[h] = timestamp of block h (times[0] is unused). */
  private readonly times: number[] = [0];
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
  }

  private newProductIndex(): MemoryProductIndex {
    return new MemoryProductIndex({ height: () => this.height, timeAt: (h) => this.times[h]! });
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
    try {
      this.log = BlockLog.open(
        this.logFile,
        snap.height,
        (fb) => {
          this.indexBlock(fb);
          latest = fb;
        },
        (m) => this.warn(m),
      );
    } catch (e) {
      void this.close(); // drops the partly built index
      throw e;
    }
    for (const [key, json] of snap.entries) this.entries.set(key, json);
    this.product.apply(snap.entries);
    this.genesisHash = snap.genesisHash;
    this.height = snap.height;
    this.opened = true;
    return { genesisHash: snap.genesisHash, height: snap.height, entries, accumulator: Buffer.from(snap.accumulator), latest };
  }

  private indexBlock(fb: FinalizedBlock): void {
    for (const row of txIndexRows(fb)) {
      this.txById.set(row.id, this.txs.length);
      this.txs.push(row);
    }
    this.txEnd.push(this.txs.length);
    this.times.push(fb.block.header.timestamp);
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
    for (const d of fb.block.txs) assert(!this.txById.has(d.id), `tx ${d.id} is already in the chain`);
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
    this.indexBlock(fb);
    this.product.apply(c.changes);
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
    for (let h = Math.max(1, from); h <= this.height && out.length < limit; h++) out.push(this.getBlock(h)!);
    return out;
  }

  getBlocksJson(from: number, limit: number, maxChars = Infinity): string[] {
    assert(this.opened, 'snapshot store is not open');
    const out: string[] = [];
    let chars = 0;
    for (let h = Math.max(1, from); h <= this.height && out.length < limit; h++) {
      const json = this.log!.readJson(h)!;
      if (out.length > 0 && chars + json.length > maxChars) break;
      out.push(json);
      chars += json.length;
    }
    return out;
  }

  private record(i: number, cache?: Map<number, unknown>): FinalizedTxRecord {
    const row = this.txs[i]!;
    let wire = cache?.get(row.height);
    if (wire === undefined) {
      wire = this.readBlockJson(row.height);
      cache?.set(row.height, wire);
    }
    return orCorrupt(this.logFile, `line ${row.height}`, () => recordFromWireBlock(wire, row.id, row.height, row.index));
  }

  getTx(id: string): FinalizedTxRecord | undefined {
    assert(this.opened, 'snapshot store is not open');
    const i = this.txById.get(id);
    return i === undefined ? undefined : this.record(i);
  }

  queryTxs(q: TxQuery): { total: number; items: FinalizedTxRecord[] } {
    assert(this.opened, 'snapshot store is not open');
    checkQuery(q);
    const { total, page } = queryTxIndex({ rows: this.txs, txEnd: this.txEnd, times: this.times, height: this.height }, q);
    const cache = new Map<number, unknown>();
    return { total, items: page.map((i) => this.record(i, cache)) };
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
    await copyPrefix(this.logFile, path.join(dir, BLOCK_LOG_FILE), length);
    writeFileAtomic(dir, STATE_FILE, stateText); // also makes the new blocks.log entry durable
  }

  async close(): Promise<void> {
    this.log?.close();
    this.log = null;
    this.opened = false;
    this.failed = null;
    this.genesisHash = null;
    this.height = 0;
    this.entries.clear();
    this.sortedKeys = null;
    this.txs.length = 0;
    this.txById.clear();
    this.txEnd.length = 1;
    this.times.length = 1;
    this.product = this.newProductIndex();
  }

  /** The product index's reads (checked pages; only while open). */
  readonly productReads = checkedProductReads(() => {
    assert(this.opened, 'snapshot store is not open');
    return this.product;
  });
}
