/**
 * An in-memory `ChainStore`, for the deterministic simulation and for tests.
 *
 * What a data dir holds on disk lives in a `MemoryDisk`; a `MemoryChainStore`
 * is one process's open handle on it. The disk outlives the handle, as files
 * outlive a crashed process: a simulated node that restarts opens a new
 * handle on the same disk and finds every block that became durable.
 *
 * A commit is atomic: the block (kept as its canonical wire JSON, the form
 * the other backends store and serve), its txs with their results, the
 * changed state rows and the accumulator land together or not at all. Faults
 * are injected through `beforeDurable`, which sees each commit before it
 * lands: a rejection fails the commit (nothing is written, and the handle
 * refuses further commits until the disk is opened again, as the snapshot
 * backend does), and a handle that `crash()`es while it waits never writes
 * the block (a torn write: the process died before the block was durable).
 *
 * Pure: no files, no clock, no randomness.
 * @module
 */
import { decodeFinalizedBlock, finalizedBlockJson } from '../codec/block.js';
import { decodeStateValue, type StateValue } from '../codec/state.js';
import { ErrorCode, FastposError, assert } from '../errors.js';
import type { FinalizedBlock, TxResult } from '../types/index.js';
import { MemoryProductIndex, checkedProductReads } from './productIndex.js';
import { queryTxIndex, txIndexRows, type TxIndexRow } from './txIndex.js';
import type { BlockCommit, ChainStore, FinalizedTxRecord, LoadedChain, TxQuery } from './types.js';
import type { EpochRewards, ProductChallenge, ProductProof, Settlement } from '../types/index.js';

function copyResult(r: TxResult): TxResult {
  return r.error === undefined ? { success: r.success } : { success: r.success, error: r.error };
}

/** The durable contents of one data dir. */
export class MemoryDisk {
  private genesis: string | null = null;
  private heightValue = 0;
  /** key -> canonical JSON of the value at `height`. */
  private readonly entries = new Map<string, string>();
  private accumulator: Buffer | null = null;
  /** Wire JSON of block h at index h - 1. */
  private readonly blocks: string[] = [];
  /** Decoded blocks, filled on first read (blocks never change once written). */
  private readonly decoded = new Map<number, FinalizedBlock>();
  private readonly txs: TxIndexRow[] = [];
  private readonly txById = new Map<string, number>();
  /** txEnd[h] = number of txs in blocks 1..h. */
  private readonly txEnd: number[] = [0];
  /** times[h] = timestamp of block h. */
  private readonly times: number[] = [0];
  /** The product index (productIndex.ts), fed by each block's state changes. */
  product = this.newProductIndex();
  /** Copies made by `MemoryChainStore.backup`, by directory name. */
  readonly backups = new Map<string, MemoryDisk>();
  /** Number of blocks made durable (commits that landed). */
  commits = 0;

  get genesisHash(): string | null {
    return this.genesis;
  }
  get height(): number {
    return this.heightValue;
  }

  private newProductIndex(): MemoryProductIndex {
    return new MemoryProductIndex({ height: () => this.heightValue, timeAt: (h) => this.times[h]! });
  }

  /** Wire JSON of the stored block at `height`. */
  blockJson(height: number): string | undefined {
    return height >= 1 ? this.blocks[height - 1] : undefined;
  }

  /** The stored block at `height`, decoded from its wire JSON. */
  block(height: number): FinalizedBlock | undefined {
    const json = this.blockJson(height);
    if (json === undefined) return undefined;
    let fb = this.decoded.get(height);
    if (fb === undefined) {
      fb = decodeFinalizedBlock(JSON.parse(json));
      this.decoded.set(height, fb);
    }
    return fb;
  }

  /** Canonical JSON of a state entry as stored. */
  entry(key: string): string | undefined {
    return this.entries.get(key);
  }

  hasTx(id: string): boolean {
    return this.txById.has(id);
  }

  /** @internal Used by `MemoryChainStore`. */
  load(): LoadedChain {
    if (this.genesis === null) return { genesisHash: null, height: 0, entries: [], accumulator: null, latest: null };
    const entries: [string, StateValue][] = [...this.entries].map(([k, json]) => [k, decodeStateValue(k, json)]);
    return {
      genesisHash: this.genesis,
      height: this.heightValue,
      entries,
      accumulator: this.accumulator === null ? null : Buffer.from(this.accumulator),
      latest: this.heightValue === 0 ? null : this.block(this.heightValue)!,
    };
  }

  /** @internal */
  writeGenesis(genesisHash: string, entries: ReadonlyMap<string, string>, accumulator: Buffer): void {
    this.genesis = genesisHash;
    this.heightValue = 0;
    this.entries.clear();
    for (const [k, v] of entries) this.entries.set(k, v);
    // A copy starts from the current state: its product index is built from it.
    this.product = this.newProductIndex();
    this.product.apply(entries);
    this.accumulator = Buffer.from(accumulator);
  }

  /** @internal Writes one block and everything it changed, at once. */
  writeBlock(fb: FinalizedBlock, json: string, changes: ReadonlyMap<string, string | null>, accumulator: Buffer): void {
    const height = fb.block.header.height;
    for (const [key, value] of changes) {
      if (value === null) this.entries.delete(key);
      else this.entries.set(key, value);
    }
    this.accumulator = Buffer.from(accumulator);
    this.blocks.push(json);
    this.indexBlock(fb);
    this.product.apply(changes);
    this.heightValue = height;
    this.commits++;
  }

  private indexBlock(fb: FinalizedBlock): void {
    for (const row of txIndexRows(fb)) {
      this.txById.set(row.id, this.txs.length);
      this.txs.push(row);
    }
    this.txEnd.push(this.txs.length);
    this.times.push(fb.block.header.timestamp);
  }

  /** @internal Answers a finalized-tx query from the index: the total and the page's rows. */
  queryRows(q: TxQuery): { total: number; rows: TxIndexRow[] } {
    const { total, page } = queryTxIndex({ rows: this.txs, txEnd: this.txEnd, times: this.times, height: this.heightValue }, q);
    return { total, rows: page.map((i) => this.txs[i]!) };
  }

  /** @internal */
  txRow(id: string): TxIndexRow | undefined {
    const i = this.txById.get(id);
    return i === undefined ? undefined : this.txs[i];
  }

  /** A copy of everything stored (a backup). */
  copy(): MemoryDisk {
    const d = new MemoryDisk();
    if (this.genesis === null) return d;
    d.writeGenesis(this.genesis, this.entries, this.accumulator ?? Buffer.alloc(0));
    for (let h = 1; h <= this.heightValue; h++) {
      const json = this.blocks[h - 1]!;
      const fb = this.block(h)!;
      d.blocks.push(json);
      d.indexBlock(fb);
    }
    d.heightValue = this.heightValue;
    d.commits = this.commits;
    return d;
  }
}

export interface MemoryChainStoreOptions {
  /**
   * Sees each commit before it becomes durable; the block lands when this
   * returns or its promise resolves. A throw or rejection fails the commit
   * (nothing is written).
   */
  readonly beforeDurable?: (c: BlockCommit) => void | Promise<void>;
}

/** One open handle on a `MemoryDisk`. */
export class MemoryChainStore implements ChainStore {
  /**
   * The interface names the file backends only; this one keeps what the
   * snapshot backend keeps (the whole state and the list of blocks, the
   * state being the commit point).
   */
  readonly backend: ChainStore['backend'] = 'snapshot';
  private opened = false;
  private closed = false;
  private crashed = false;
  private failed: string | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    readonly disk: MemoryDisk = new MemoryDisk(),
    private readonly options: MemoryChainStoreOptions = {},
  ) {}

  /**
   * The process holding this handle died: a commit waiting to become durable
   * never lands (its promise rejects), and the handle refuses everything.
   */
  crash(): void {
    this.crashed = true;
  }

  private usable(what: string): void {
    assert(!this.crashed, `${what} on a store whose process crashed`);
    assert(this.opened && !this.closed, `${what} on a store that is not open`);
  }

  open(): LoadedChain {
    assert(!this.crashed && !this.opened, 'memory store opened twice');
    this.opened = true;
    return this.disk.load();
  }

  initGenesis(genesisHash: string, entries: ReadonlyMap<string, string>, accumulator: Buffer): void {
    this.usable('initGenesis');
    assert(this.disk.genesisHash === null, 'store already has a genesis');
    this.disk.writeGenesis(genesisHash, entries, accumulator);
  }

  commitBlock(c: BlockCommit): Promise<void> {
    const busy = this.inFlight !== null;
    const p = this.commit(c, busy);
    if (busy) return p;
    const tracked = p.finally(() => {
      this.inFlight = null;
    });
    this.inFlight = tracked.catch(() => undefined);
    return tracked;
  }

  private async commit(c: BlockCommit, busy: boolean): Promise<void> {
    this.usable('commitBlock');
    assert(this.disk.genesisHash !== null, 'commitBlock before initGenesis');
    assert(!busy, 'one commit at a time');
    assert(this.failed === null, `an earlier commit failed (${this.failed}); open the store again`);
    const fb = c.block;
    const height = fb.block.header.height;
    assert(height === this.disk.height + 1, `commitBlock at height ${height} on top of ${this.disk.height}`);
    assert(fb.results.length === fb.block.txs.length, 'one result per tx');
    for (const d of fb.block.txs) assert(!this.disk.hasTx(d.id), `tx ${d.id} is already in the chain`);
    const json = finalizedBlockJson(fb);
    try {
      await this.options.beforeDurable?.(c);
    } catch (e) {
      this.failed = e instanceof Error ? e.message : String(e);
      throw e;
    }
    if (this.crashed) throw new FastposError(ErrorCode.INTERNAL, `block ${height} was not made durable: the process crashed first`);
    assert(this.disk.height + 1 === height, `another handle wrote block ${this.disk.height} meanwhile`);
    this.disk.writeBlock(fb, json, c.changes, c.accumulator);
  }

  getBlock(height: number): FinalizedBlock | undefined {
    this.usable('getBlock');
    return this.disk.block(height);
  }

  getBlocks(from: number, limit: number): FinalizedBlock[] {
    this.usable('getBlocks');
    const out: FinalizedBlock[] = [];
    for (let h = Math.max(1, from); h <= this.disk.height && out.length < limit; h++) out.push(this.disk.block(h)!);
    return out;
  }

  getBlocksJson(from: number, limit: number, maxChars = Infinity): string[] {
    this.usable('getBlocksJson');
    const out: string[] = [];
    let chars = 0;
    for (let h = Math.max(1, from); h <= this.disk.height && out.length < limit; h++) {
      const json = this.disk.blockJson(h)!;
      if (out.length > 0 && chars + json.length > maxChars) break;
      out.push(json);
      chars += json.length;
    }
    return out;
  }

  private record(r: TxIndexRow): FinalizedTxRecord {
    const fb = this.disk.block(r.height)!;
    const d = fb.block.txs[r.index]!;
    return { id: r.id, height: r.height, index: r.index, blockHash: fb.hash, result: copyResult(fb.results[r.index]!), tx: JSON.parse(d.json) as Record<string, unknown> };
  }

  getTx(id: string): FinalizedTxRecord | undefined {
    this.usable('getTx');
    const r = this.disk.txRow(id);
    return r === undefined ? undefined : this.record(r);
  }

  queryTxs(q: TxQuery): { total: number; items: FinalizedTxRecord[] } {
    this.usable('queryTxs');
    if (!Number.isSafeInteger(q.offset) || q.offset < 0 || !Number.isSafeInteger(q.limit) || q.limit < 0) {
      throw new FastposError(ErrorCode.INVALID_REQUEST, 'offset and limit must be non-negative integers');
    }
    const { total, rows } = this.disk.queryRows(q);
    return { total, items: rows.map((r) => this.record(r)) };
  }

  /** The product index's reads (checked pages; refused while the store is unusable). */
  readonly productReads = checkedProductReads((what) => {
    this.usable(what);
    return this.disk.product;
  });

  /** Copies the disk as it is now into `disk.backups` under `dir`, which must not hold a backup yet. */
  async backup(dir: string): Promise<void> {
    this.usable('backup');
    if (this.disk.backups.has(dir)) throw new FastposError(ErrorCode.INVALID_REQUEST, `backup directory ${dir} is not empty`);
    this.disk.backups.set(dir, this.disk.copy());
  }

  async close(): Promise<void> {
    if (this.inFlight !== null) await this.inFlight;
    this.closed = true;
  }
}
