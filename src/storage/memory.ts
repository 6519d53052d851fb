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
 * Pruning (`pruneKeepBlocks`) drops the bodies of old blocks as blocks land,
 * a few per commit like the SQLite store; headers and certificates stay.
 * `installState` replaces the disk's content at once.
 *
 * Pure: no files, no clock, no randomness.
 * @module
 */
import { decodeFinalizedBlock, finalizedBlockJson } from '../codec/block.js';
import { decodeStateValue, type StateValue } from '../codec/state.js';
import { ErrorCode, FastposError, assert } from '../errors.js';
import type { FinalizedBlock, TxResult } from '../types/index.js';
import { MemoryProductIndex, checkedProductReads } from './productIndex.js';
import { MemoryTxIndex, type TxIndexRow } from './txIndex.js';
import type { BlockCommit, CertifiedHeader, ChainStore, FinalizedTxRecord, LoadedChain, StateInstall, TxQuery } from './types.js';
import type { EpochRewards, ProductChallenge, ProductProof, Settlement } from '../types/index.js';

/** Most block bodies pruned per commit, so that a backlog drains without a long pause. */
export const PRUNE_PER_COMMIT = 4;

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
  /** Wire JSON of the kept whole blocks, by height. */
  private readonly blocks = new Map<number, string>();
  /** Decoded blocks, filled on first read (blocks never change once written). */
  private readonly decoded = new Map<number, FinalizedBlock>();
  /** Lowest height whose whole block is kept. */
  private firstBlock = 1;
  /** Header and certificate of every height from `firstHeader` up (headers[h - firstHeader]). */
  private headers: CertifiedHeader[] = [];
  private firstHeader = 1;
  /** The kept blocks' txs. */
  private readonly txs = new MemoryTxIndex();
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
    // Heights below the earliest header have no known time: taken as 0 (before any time window).
    return new MemoryProductIndex({ height: () => this.heightValue, timeAt: (h) => this.headers[h - this.firstHeader]?.header.timestamp ?? 0 });
  }

  /** Lowest height whose whole block is stored (height + 1 when none is). */
  get earliestBlockHeight(): number {
    return this.blocks.size === 0 ? this.heightValue + 1 : this.firstBlock;
  }

  /** Lowest height whose header is stored. */
  get earliestHeaderHeight(): number {
    return this.firstHeader;
  }

  /** Stored headers from `from` upward, at most `limit`. */
  headersFrom(from: number, limit: number): CertifiedHeader[] {
    if (limit <= 0) return [];
    const start = Math.max(1, from, this.firstHeader) - this.firstHeader;
    return this.headers.slice(start, start + limit);
  }

  /** Wire JSON of the stored block at `height`. */
  blockJson(height: number): string | undefined {
    return this.blocks.get(height);
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

  /** Genesis hash, height and accumulator as stored. */
  committed(): { genesisHash: string | null; height: number; accumulator: Buffer | null } {
    return { genesisHash: this.genesis, height: this.heightValue, accumulator: this.accumulator === null ? null : Buffer.from(this.accumulator) };
  }

  hasTx(id: string): boolean {
    return this.txs.has(id);
  }

  /** State entries in ascending key order (UTF-16 code units). */
  *sortedEntries(): IterableIterator<[string, string]> {
    const keys = [...this.entries.keys()].sort();
    for (const k of keys) yield [k, this.entries.get(k)!];
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

  /**
   * @internal Writes one block and everything it changed, at once; with
   * `pruneKeepBlocks` > 0, drops the bodies of up to PRUNE_PER_COMMIT blocks
   * older than the newest `pruneKeepBlocks`.
   */
  writeBlock(fb: FinalizedBlock, json: string, changes: ReadonlyMap<string, string | null>, accumulator: Buffer, pruneKeepBlocks = 0): void {
    const height = fb.block.header.height;
    for (const [key, value] of changes) {
      if (value === null) this.entries.delete(key);
      else this.entries.set(key, value);
    }
    this.accumulator = Buffer.from(accumulator);
    this.storeBlock(fb, json);
    this.product.apply(changes);
    this.heightValue = height;
    this.commits++;
    if (pruneKeepBlocks > 0) this.prune(Math.min(height - pruneKeepBlocks + 1, this.firstBlock + PRUNE_PER_COMMIT));
  }

  private storeBlock(fb: FinalizedBlock, json: string): void {
    const height = fb.block.header.height;
    if (this.blocks.size === 0) {
      this.firstBlock = height;
      this.txs.reset(height);
    }
    this.blocks.set(height, json);
    this.txs.add(fb);
    if (this.headers.length === 0) this.firstHeader = height;
    this.headers.push({ header: fb.block.header, hash: fb.hash, commit: fb.commit });
  }

  /** Drops the bodies of the stored blocks below `height` (the latest block is always kept). */
  private prune(height: number): void {
    const to = Math.min(height, this.heightValue);
    while (this.firstBlock < to) {
      this.blocks.delete(this.firstBlock);
      this.decoded.delete(this.firstBlock);
      this.firstBlock++;
    }
    this.txs.dropBelow(to);
  }

  /** @internal Replaces the whole content by `s` (see `StateInstall`). */
  install(s: StateInstall): void {
    const height = s.block.block.header.height;
    const entries = new Map<string, string>();
    for (const [k, v] of s.entries) entries.set(k, v);
    const headers: CertifiedHeader[] = [];
    for (const h of s.headers ?? []) headers.push({ header: h.header, hash: h.hash, commit: h.commit });
    const blocks = [...(s.blocks ?? []), s.block];
    const start = (headers[0]?.header.height ?? blocks[0]!.block.header.height);
    let expect = start;
    for (const h of headers) assert(h.header.height === expect++, `installState: header ${h.header.height} is not at height ${expect - 1}`);
    for (const b of blocks) assert(b.block.header.height === expect++, `installState: block ${b.block.header.height} is not at height ${expect - 1}`);
    assert(expect === height + 1, 'installState: the block comes last');
    this.writeGenesis(s.genesisHash, entries, s.accumulator);
    this.blocks.clear();
    this.decoded.clear();
    this.txs.reset(height);
    this.headers = headers;
    this.firstHeader = start;
    for (const b of blocks) this.storeBlock(b, finalizedBlockJson(b));
    this.heightValue = height;
  }

  /** @internal Answers a finalized-tx query from the index: the total and the page's rows. */
  queryRows(q: TxQuery): { total: number; rows: TxIndexRow[] } {
    const { total, page } = this.txs.query(q);
    return { total, rows: page };
  }

  /** @internal */
  txRow(id: string): TxIndexRow | undefined {
    return this.txs.get(id);
  }

  /** A copy of everything stored (a backup). */
  copy(): MemoryDisk {
    const d = new MemoryDisk();
    if (this.genesis === null) return d;
    d.writeGenesis(this.genesis, this.entries, this.accumulator ?? Buffer.alloc(0));
    d.headers = [...this.headers];
    d.firstHeader = this.firstHeader;
    if (this.blocks.size > 0) {
      d.firstBlock = this.firstBlock;
      d.txs.reset(this.firstBlock);
      for (let h = this.firstBlock; h <= this.heightValue; h++) {
        d.blocks.set(h, this.blocks.get(h)!);
        d.txs.add(this.block(h)!);
      }
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
  /** As `ChainStoreOptions.pruneKeepBlocks` (0 or unset: keep every block). */
  readonly pruneKeepBlocks?: number;
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
    this.disk.writeBlock(fb, json, c.changes, c.accumulator, this.options.pruneKeepBlocks ?? 0);
  }

  getBlock(height: number): FinalizedBlock | undefined {
    this.usable('getBlock');
    return this.disk.block(height);
  }

  getBlocks(from: number, limit: number): FinalizedBlock[] {
    this.usable('getBlocks');
    const out: FinalizedBlock[] = [];
    if (Math.max(1, from) < this.disk.earliestBlockHeight) return out; // pruned
    for (let h = Math.max(1, from); h <= this.disk.height && out.length < limit; h++) out.push(this.disk.block(h)!);
    return out;
  }

  getBlocksJson(from: number, limit: number, maxChars = Infinity): string[] {
    this.usable('getBlocksJson');
    const out: string[] = [];
    let chars = 0;
    if (Math.max(1, from) < this.disk.earliestBlockHeight) return out; // pruned
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

  earliestBlockHeight(): number {
    this.usable('earliestBlockHeight');
    return this.disk.earliestBlockHeight;
  }

  earliestHeaderHeight(): number {
    this.usable('earliestHeaderHeight');
    return this.disk.earliestHeaderHeight;
  }

  getHeaders(from: number, limit: number): CertifiedHeader[] {
    this.usable('getHeaders');
    return this.disk.headersFrom(from, limit);
  }

  stateEntries(): IterableIterator<[string, string]> {
    this.usable('stateEntries');
    return this.disk.sortedEntries();
  }

  committed(): { genesisHash: string | null; height: number; accumulator: Buffer | null } {
    this.usable('committed');
    return this.disk.committed();
  }

  async installState(s: StateInstall): Promise<void> {
    this.usable('installState');
    assert(this.inFlight === null, 'installState while a commit is in flight');
    this.disk.install(s);
    this.failed = null;
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
