/**
 * The SQLite backend of `ChainStore`: one file `<dataDir>/chain.sqlite`
 * (better-sqlite3, WAL journal, synchronous=FULL). Owns that file: its
 * schema (see migrations.ts), the durable commit of a block with its txs, the
 * changed state rows, height and accumulator in one transaction, the damage
 * checks on open, the read queries and online backups.
 *
 * meta keys: schema_version (integer), genesis_hash (text), height (integer),
 * accumulator (blob). Block `data` is the JSON of `encodeFinalizedBlock`.
 *
 * Pruning (`pruneKeepBlocks`, done by the writer: writer.ts) deletes block
 * and tx rows of old heights; every height keeps its `headers` row. The
 * lowest block row is the earliest whole block. Reads that take several
 * statements run in one read transaction, so a prune committed meanwhile by
 * the writer thread cannot split them.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeCertifiedHeader, decodeFinalizedBlock } from '../../codec/block.js';
import { decodeStateValue, type StateValue } from '../../codec/state.js';
import { LtHash, ltElement } from '../../state/ltHash.js';
import { assert, ErrorCode, FastposError, isFastposError } from '../../errors.js';
import type { FinalizedBlock } from '../../types/index.js';
import { checkQuery, corrupt, orCorrupt, prepareBackupDir, type ChainStoreOptions } from '../common.js';
import { filtersRows, heightBounds } from '../txIndex.js';
import type { BlockCommit, CertifiedHeader, ChainStore, DiskState, FinalizedTxRecord, LoadedChain, StateInstall, StateWalk, TxQuery } from '../types.js';
import { SqliteStateSource, STATE_CACHE_ENTRIES, walkStateRows } from './stateSource.js';
import { hexKey, migrate } from './migrations.js';
import { FAILED_COUNT_SQL, filteredTxSql, positionsPageSql, TX_COLUMNS } from './txQuery.js';
import { ProductSqlReader } from './productSql.js';
import { checkedProductReads } from '../productIndex.js';
import { BlockWriter, configureConnection, type BlockWriterOptions, type CommitMessage } from './writer.js';
import { blockRows, installRows } from './install.js';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../worker.js';

export const SQLITE_FILE = 'chain.sqlite';

/** The statements of the hot and read paths, prepared once per open. */
interface Statements {
  readonly setMeta: Database.Statement;
  readonly upsertState: Database.Statement;
  readonly blockAt: Database.Statement;
  readonly blocksFrom: Database.Statement;
  readonly txById: Database.Statement;
  /** `time` and `tx_end` of the block at a height. */
  readonly blockIndexAt: Database.Statement;
  /** Number of tx rows at a height. */
  readonly txCountAt: Database.Statement;
  readonly firstBlock: Database.Statement;
  readonly firstHeader: Database.Statement;
  readonly headersFrom: Database.Statement;
  readonly headerTimeAt: Database.Statement;
}

/** Most prepared query statements kept (one per combination of filters used; the least recently used goes first). */
const MAX_QUERY_STATEMENTS = 256;

interface TxRow {
  readonly id: string;
  readonly height: number;
  readonly idx: number;
  readonly success: number;
  readonly error: string | null;
  readonly tx: string;
  readonly hash: string;
}


export class SqliteChainStore implements ChainStore, DiskState {
  readonly backend = 'sqlite' as const;
  /** This backend keeps the state on disk: a node reads it through `stateSource()`. */
  readonly diskState: DiskState = this;
  /** The state source handed out after open (pinned by commits, reset by installs). */
  private source: SqliteStateSource | null = null;
  /** Path of the database file (named in every CORRUPT_DATA message). */
  readonly file: string;
  /** Recoveries performed by `open` (none for this backend so far; SQLite recovers its WAL itself). */
  readonly warnings: string[] = [];
  private db: Database.Database | null = null;
  private st: Statements | null = null;
  /** Inline writer (writerThread: false) or the writer thread. */
  private writer: BlockWriter | null = null;
  private worker: Worker | null = null;
  private workerReady: Promise<void> | null = null;
  private pendingCommit: { height: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  /** The commit being made durable (one at a time); close() waits for it. */
  private inFlight: Promise<void> | null = null;
  private workerExited = false;
  private readonly queries = new Map<string, Database.Statement>();
  /** Reads of the product index (productSql.ts) on this connection. */
  private readonly product = new ProductSqlReader((sql) => this.query(sql), { height: () => this.height, timeAt: (h) => this.headerTime(h) });
  private genesisHash: string | null = null;
  private height = 0;

  constructor(
    readonly dataDir: string,
    readonly options: ChainStoreOptions = {},
  ) {
    this.file = path.join(dataDir, SQLITE_FILE);
  }

  open(): LoadedChain {
    return this.openStore(true);
  }

  /**
   * Opens without reading the state into memory: `entries` is empty, and the
   * damage check hashes the rows as they stream by (the stored accumulator
   * must equal the LtHash of the rows). Read the state through `stateSource()`.
   */
  openWithoutEntries(): LoadedChain {
    return this.openStore(false);
  }

  private openStore(withEntries: boolean): LoadedChain {
    assert(this.db === null, 'sqlite store is already open');
    fs.mkdirSync(this.dataDir, { recursive: true });
    let db: Database.Database | undefined;
    try {
      db = new Database(this.file);
      // Before anything writes: a damaged file must be reported, not modified.
      const check = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
      const problems = check.map((r) => r.quick_check).filter((m) => m !== 'ok');
      if (problems.length > 0) throw corrupt(this.file, `integrity check failed: ${problems.slice(0, 5).join('; ')}`);
      configureConnection(db);
      migrate(db, this.file);
      const loaded = this.load(db, withEntries);
      this.prepare(db);
      this.db = db;
      if (this.options.writerThread === false) this.writer = new BlockWriter(db, this.writerOptions());
      else this.startWriterThread();
      return loaded;
    } catch (e) {
      try {
        db?.close();
      } catch {
        // The open failed already; a failing close adds nothing.
      }
      throw this.translate(e, 'cannot open');
    }
  }

  /** Maps SQLite errors to FastposErrors that name the file; FastposErrors pass through. */
  private translate(e: unknown, doing: string): Error {
    if (isFastposError(e)) return e;
    if (e instanceof Database.SqliteError) {
      if (e.code === 'SQLITE_NOTADB' || e.code.startsWith('SQLITE_CORRUPT')) {
        return corrupt(this.file, `not a readable SQLite database (${e.code}: ${e.message})`);
      }
      return new FastposError(ErrorCode.INTERNAL, `${this.file}: ${doing}: ${e.code}: ${e.message}`, { file: this.file });
    }
    return e instanceof Error ? e : new Error(String(e));
  }

  /** Reads meta, the latest block and the whole state (or only hashes it); checks they agree. */
  private load(db: Database.Database, withEntries: boolean): LoadedChain {
    const file = this.file;
    const meta = new Map<string, unknown>((db.prepare('SELECT key, value FROM meta').raw().all() as [string, unknown][]).map(([k, v]) => [k, v]));
    const genesisHash = meta.get('genesis_hash');
    if (genesisHash === undefined) {
      const any = db.prepare('SELECT (SELECT COUNT(*) FROM blocks) + (SELECT COUNT(*) FROM state)').pluck().get() as number;
      if (any > 0) throw corrupt(file, 'has blocks or state rows but no genesis_hash in meta');
      this.genesisHash = null;
      this.height = 0;
      return { genesisHash: null, height: 0, entries: [], accumulator: null, latest: null };
    }
    if (typeof genesisHash !== 'string') throw corrupt(file, 'meta.genesis_hash is not text');
    const height = meta.get('height');
    if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 0) throw corrupt(file, `meta.height is invalid (${String(height)})`);
    const accumulator = meta.get('accumulator');
    if (!Buffer.isBuffer(accumulator)) throw corrupt(file, 'meta.accumulator is missing or not a blob');
    const maxHeight = (db.prepare('SELECT MAX(height) FROM blocks').pluck().get() as number | null) ?? 0;
    if (maxHeight > height) throw corrupt(file, `has a block at height ${maxHeight} above meta height ${height}`);

    let latest: FinalizedBlock | null = null;
    if (height > 0) {
      const row = db.prepare('SELECT hash, data FROM blocks WHERE height = ?').get(height) as { hash: string; data: string } | undefined;
      if (row === undefined) throw corrupt(file, `meta height is ${height} but there is no block row at that height`);
      latest = this.decodeBlockRow(height, row);
    }
    const entries: [string, StateValue][] = [];
    const sum = new LtHash();
    for (const [key, value] of db.prepare('SELECT key, value FROM state').raw().iterate() as IterableIterator<[string, string]>) {
      const decoded = orCorrupt(file, `state row ${key}`, () => decodeStateValue(key, value));
      if (withEntries) entries.push([key, decoded]);
      // Rows are written as canonical JSON: a row changed in any way no longer hashes to its element.
      else sum.add(ltElement(key, value));
    }
    if (!withEntries && !sum.toBytes().equals(accumulator)) throw corrupt(file, 'the stored state commitment does not match the stored state rows');
    this.genesisHash = genesisHash;
    this.height = height;
    return { genesisHash, height, entries, accumulator: Buffer.from(accumulator), latest };
  }

  private decodeBlockRow(height: number, row: { hash: string; data: string }): FinalizedBlock {
    const fb = orCorrupt(this.file, `block row ${height}`, () => decodeFinalizedBlock(JSON.parse(row.data)));
    if (fb.block.header.height !== height || fb.hash !== row.hash) {
      throw corrupt(this.file, `block row ${height} holds block ${fb.block.header.height} with hash ${fb.hash} (row says ${row.hash})`);
    }
    return fb;
  }

  private prepare(db: Database.Database): void {
    const st: Statements = {
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      upsertState: db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      blockAt: db.prepare('SELECT hash, data FROM blocks WHERE height = ?'),
      blocksFrom: db.prepare('SELECT height, hash, data FROM blocks WHERE height >= ? ORDER BY height LIMIT ?'),
      txById: db.prepare(`SELECT ${TX_COLUMNS} FROM txs t JOIN blocks b ON b.height = t.height WHERE t.id_key = ? AND t.id = ?`),
      blockIndexAt: db.prepare('SELECT time, tx_end FROM blocks WHERE height = ?'),
      txCountAt: db.prepare('SELECT COUNT(*) FROM txs WHERE height = ?').pluck(),
      firstBlock: db.prepare('SELECT MIN(height) FROM blocks').pluck(),
      firstHeader: db.prepare('SELECT MIN(height) FROM headers').pluck(),
      headersFrom: db.prepare('SELECT height, data FROM headers WHERE height >= ? ORDER BY height LIMIT ?'),
      // The nearest kept header at or below: below the header window only checkpoints are kept, so old times are coarse but in order.
      headerTimeAt: db.prepare('SELECT time FROM headers WHERE height <= ? ORDER BY height DESC LIMIT 1').pluck(),
    };
    this.st = st;
  }

  private get statements(): Statements {
    assert(this.st !== null, 'sqlite store is not open');
    return this.st;
  }

  initGenesis(genesisHash: string, entries: ReadonlyMap<string, string>, accumulator: Buffer): void {
    this.initGenesisRows(genesisHash, entries, accumulator);
  }

  /**
   * `initGenesis` from rows read once, as they come (one transaction; nothing
   * is kept). `accumulator` may be a function, called once the rows are
   * written: the caller can then hash the rows as they pass.
   */
  initGenesisRows(genesisHash: string, entries: Iterable<readonly [string, string]>, accumulator: Buffer | (() => Buffer)): void {
    const st = this.statements;
    assert(this.genesisHash === null, 'store already has a genesis');
    this.db!.transaction(() => {
      for (const [key, value] of entries) st.upsertState.run(key, value);
      st.setMeta.run('genesis_hash', genesisHash);
      st.setMeta.run('height', 0);
      st.setMeta.run('accumulator', typeof accumulator === 'function' ? accumulator() : accumulator);
    })();
    this.genesisHash = genesisHash;
    this.height = 0;
  }

  /**
   * Makes a block durable. With the writer thread (the default) the commit and
   * its fsync run off the event loop; the promise resolves once the block is on
   * disk. One commit at a time.
   */
  async commitBlock(c: BlockCommit): Promise<void> {
    assert(this.db !== null, 'sqlite store is not open');
    assert(this.genesisHash !== null, 'commitBlock before initGenesis');
    const height = c.block.block.header.height;
    assert(height === this.height + 1, `commitBlock at height ${height} on top of ${this.height}`);
    assert(c.block.results.length === c.block.block.txs.length, 'one result per tx');
    assert(this.inFlight === null, 'one commit at a time');
    const m: CommitMessage = { ...blockRows(c.block), changes: [...c.changes], accumulator: c.accumulator };
    // Reads through the head must give the previous height's values until the node applies this block.
    this.source?.pin(c.changes.keys());
    if (this.writer !== null) {
      try {
        this.writer.commit(m);
      } catch (e) {
        this.source?.unpinLatest();
        throw this.translate(e, `commit of block ${height} failed`);
      }
      this.height = height;
      return;
    }
    const worker = this.worker;
    const ready = this.workerReady;
    assert(worker !== null && ready !== null, 'sqlite writer is not running');
    const p = (async () => {
      await ready;
      await new Promise<void>((resolve, reject) => {
        this.pendingCommit = { height, resolve, reject };
        worker.postMessage(m);
      });
      this.height = height;
    })();
    this.inFlight = p;
    try {
      await p;
    } catch (e) {
      // Not durable: the rows are still those the pinned values came from.
      this.source?.unpinLatest();
      throw e;
    } finally {
      this.inFlight = null;
    }
  }

  private startWriterThread(): void {
    // A store closed and opened again starts a new thread: the old one's exit says nothing about it.
    this.workerExited = false;
    const worker = startWorker(import.meta.url, 'writerWorker', { workerData: { file: this.file, options: this.writerOptions() } });
    this.worker = worker;
    worker.once('exit', () => {
      this.workerExited = true;
    });
    this.workerReady = new Promise((resolve, reject) => {
      worker.once('error', reject);
      const onMessage = (msg: { ready?: boolean; closed?: boolean; height?: number; error?: { code: string; message: string } }): void => {
        if (msg.ready) {
          resolve();
          return;
        }
        const p = this.pendingCommit;
        if (msg.height === undefined || p === null || p.height !== msg.height) return;
        this.pendingCommit = null;
        if (msg.error === undefined) p.resolve();
        else p.reject(this.translate(new Database.SqliteError(msg.error.message, msg.error.code), `commit of block ${p.height} failed`));
      };
      worker.on('message', onMessage);
    });
    this.workerReady.catch(() => undefined);
    worker.on('error', (e) => {
      const p = this.pendingCommit;
      this.pendingCommit = null;
      p?.reject(new FastposError(ErrorCode.INTERNAL, `${this.file}: writer thread failed: ${e.message}`));
    });
  }

  getBlock(height: number): FinalizedBlock | undefined {
    const row = this.statements.blockAt.get(height) as { hash: string; data: string } | undefined;
    return row === undefined ? undefined : this.decodeBlockRow(height, row);
  }

  getBlocks(from: number, limit: number): FinalizedBlock[] {
    if (limit <= 0) return [];
    const start = Math.max(1, from);
    const rows = this.statements.blocksFrom.all(start, limit) as { height: number; hash: string; data: string }[];
    // A pruned `from`: nothing (the rows found start at a later height).
    if (rows.length > 0 && rows[0]!.height !== start) return [];
    return rows.map((r) => this.decodeBlockRow(r.height, r));
  }

  getBlocksJson(from: number, limit: number, maxChars = Infinity): string[] {
    if (limit <= 0) return [];
    const start = Math.max(1, from);
    const out: string[] = [];
    let chars = 0;
    // Row by row, so that a byte bound stops the read itself (the iterator is closed on break).
    for (const r of this.statements.blocksFrom.iterate(start, limit) as IterableIterator<{ height: number; data: string }>) {
      if (out.length === 0 && r.height !== start) break; // a pruned `from`: nothing
      if (out.length > 0 && chars + r.data.length > maxChars) break;
      out.push(r.data);
      chars += r.data.length;
    }
    return out;
  }

  private record(r: TxRow): FinalizedTxRecord {
    const tx = orCorrupt(this.file, `tx row ${r.id}`, () => JSON.parse(r.tx) as Record<string, unknown>);
    const result = r.error === null ? { success: r.success === 1 } : { success: r.success === 1, error: r.error };
    return { id: r.id, height: r.height, index: r.idx, blockHash: r.hash, result, tx };
  }

  getTx(id: string): FinalizedTxRecord | undefined {
    const row = this.statements.txById.get(hexKey(id), id) as TxRow | undefined;
    return row === undefined ? undefined : this.record(row);
  }

  /**
   * A statement for one combination of filters, prepared on first use and
   * kept (the MAX_QUERY_STATEMENTS most recently used ones).
   */
  private query(sql: string): Database.Statement {
    let s = this.queries.get(sql);
    if (s === undefined) {
      assert(this.db !== null, 'sqlite store is not open');
      s = this.db.prepare(sql);
      if (this.queries.size >= MAX_QUERY_STATEMENTS) this.queries.delete(this.queries.keys().next().value!);
    } else {
      this.queries.delete(sql);
    }
    this.queries.set(sql, s);
    return s;
  }

  /** `time` and `tx_end` of the stored block at `height` (1..height). */
  private blockIndex(height: number): { time: number; tx_end: number } {
    const row = this.statements.blockIndexAt.get(height) as { time: number; tx_end: number } | undefined;
    if (row === undefined) throw corrupt(this.file, `no block row at height ${height} (height is ${this.height})`);
    return row;
  }

  /** Running tx count at the end of the stored block h. */
  private txEnd(h: number): number {
    return this.blockIndex(h).tx_end;
  }

  /** Running tx count before the stored block h (its predecessor may be pruned). */
  private txStart(h: number): number {
    return this.blockIndex(h).tx_end - (this.statements.txCountAt.get(h) as number);
  }

  /** Timestamp of the header at `h`; 0 (before any time window) below the earliest header. */
  private headerTime(h: number): number {
    return (this.statements.headerTimeAt.get(h) as number | undefined) ?? 0;
  }

  committed(): { genesisHash: string | null; height: number; accumulator: Buffer | null } {
    const acc = this.query(`SELECT value FROM meta WHERE key = 'accumulator'`).pluck().get() as Buffer | undefined;
    return { genesisHash: this.genesisHash, height: this.height, accumulator: acc === undefined ? null : Buffer.from(acc) };
  }

  earliestBlockHeight(): number {
    return (this.statements.firstBlock.get() as number | null) ?? this.height + 1;
  }

  earliestHeaderHeight(): number {
    return (this.statements.firstHeader.get() as number | null) ?? this.height + 1;
  }

  /** The pruning options of the writer (one place for both the inline writer and the thread). */
  private writerOptions(): BlockWriterOptions {
    return { pruneKeepBlocks: this.options.pruneKeepBlocks ?? 0, headerKeepBlocks: this.options.headerKeepBlocks ?? 0, headerCheckpointEvery: this.options.headerCheckpointEvery ?? 1 };
  }

  getHeaders(from: number, limit: number): CertifiedHeader[] {
    if (limit <= 0) return [];
    const rows = this.statements.headersFrom.all(Math.max(1, from), limit) as { height: number; data: string }[];
    return rows.map((r) => {
      const h = orCorrupt(this.file, `header row ${r.height}`, () => decodeCertifiedHeader(JSON.parse(r.data)));
      if (h.header.height !== r.height) throw corrupt(this.file, `header row ${r.height} holds height ${h.header.height}`);
      return h;
    });
  }

  /**
   * The state rows in key order. SQLite's BINARY collation compares the
   * UTF-8 bytes, which orders like UTF-16 code units for every key without
   * characters above U+FFFF next to U+E000..U+FFFF; state keys are ASCII.
   * The order is checked as the rows are read. The connection is busy until
   * the iteration ends: read it through before using the store again.
   */
  *stateEntries(): IterableIterator<[string, string]> {
    let prev: string | null = null;
    for (const row of this.query('SELECT key, value FROM state ORDER BY key').raw().iterate() as IterableIterator<[string, string]>) {
      if (prev !== null && !(prev < row[0])) throw corrupt(this.file, `state keys out of order: ${JSON.stringify(prev)} before ${JSON.stringify(row[0])}`);
      prev = row[0];
      yield row;
    }
  }

  /**
   * The state source over the `state` rows (one per open store): decoded
   * values in a bounded cache (`cacheEntries`, taken at the first call),
   * commits pinned until applied (stateSource.ts).
   */
  stateSource(cacheEntries = STATE_CACHE_ENTRIES): SqliteStateSource {
    const db = this.db;
    assert(db !== null, 'sqlite store is not open');
    this.source ??= new SqliteStateSource(
      this.file,
      {
        valueOf: db.prepare('SELECT value FROM state WHERE key = ?').pluck(),
        count: db.prepare('SELECT COUNT(*) FROM state').pluck(),
        all: db.prepare('SELECT key, value FROM state ORDER BY key').raw(),
      },
      cacheEntries,
    );
    return this.source;
  }

  /**
   * The state rows at the committed height in key order, on a connection of
   * their own holding one read transaction until `close` (commits made
   * meanwhile by the writer thread are not seen): a walk that may span many
   * turns of the event loop without keeping the state in memory.
   */
  walkState(): StateWalk {
    assert(this.db !== null, 'sqlite store is not open');
    try {
      return walkStateRows(this.file);
    } catch (e) {
      throw this.translate(e, 'cannot read the state');
    }
  }

  /**
   * Replaces the content in one transaction on this connection (the writer
   * thread is idle: no commit may be in flight): every table is emptied,
   * then the state, the product index built from it, the headers, the blocks
   * and the meta rows are inserted. `entries` is read once, in batches.
   */
  async installState(s: StateInstall): Promise<void> {
    const db = this.db;
    assert(db !== null, 'sqlite store is not open');
    assert(this.inFlight === null, 'installState while a commit is in flight');
    const height = s.block.block.header.height;
    try {
      installRows(db, s);
    } catch (e) {
      throw this.translate(e, `install of the state at height ${height} failed`);
    } finally {
      this.source?.reset();
    }
    this.genesisHash = s.genesisHash;
    this.height = height;
  }

  /**
   * Finalized txs matching `q`. Height bounds and the time window become one
   * height range first (binary search over the blocks' timestamps). Without
   * other filters the total and the page's first position come from the
   * blocks' running tx counts (`tx_end`), so neither a count nor an offset
   * walks rows. With filters, each filter is a term of one statement and
   * SQLite reads through the index of the most selective one: sender,
   * recipient, validator, kind, fee, failed txs; an address is the union of
   * the sender and recipient indexes.
   */
  queryTxs(q: TxQuery): { total: number; items: FinalizedTxRecord[] } {
    checkQuery(q);
    assert(this.db !== null, 'sqlite store is not open');
    // One read transaction: a prune by the writer thread cannot fall between the statements.
    return this.db.transaction(() => this.queryTxsIn(q))();
  }

  /**
   * `queryTxs` within a read transaction. Heights are clamped to the kept
   * blocks (pruned txs are not counted); the running counts are read at kept
   * heights only.
   */
  private queryTxsIn(q: TxQuery): { total: number; items: FinalizedTxRecord[] } {
    const bounded = q.fromHeight !== undefined || q.toHeight !== undefined || q.fromTime !== undefined || q.toTime !== undefined;
    const { lo, hi } = heightBounds(q, this.height, (h) => this.blockIndex(h).time, this.earliestBlockHeight());
    if (lo > hi) return { total: 0, items: [] };
    if (!filtersRows(q)) return this.queryPositions(q, lo, hi);
    const { countSql, pageSql, params } = filteredTxSql(q, bounded ? { lo, hi } : null);
    // Successful txs alone are most txs: counted as all txs of the range less the failed ones (both from indexes).
    const { success, ...others } = q;
    const onlySucceeded = success === true && !filtersRows(others);
    const total = onlySucceeded
      ? this.txEnd(hi) - this.txStart(lo) - (this.query(FAILED_COUNT_SQL).pluck().get({ lo, hi }) as number)
      : (this.query(countSql).pluck().get(params) as number);
    if (q.limit === 0 || q.offset >= total) return { total, items: [] };
    const rows = this.query(pageSql).all({ ...params, limit: q.limit, offset: q.offset }) as TxRow[];
    return { total, items: rows.map((r) => this.record(r)) };
  }

  /**
   * Every tx of heights lo..hi, paged by position: the txs of blocks 1..h
   * are positions 0 .. tx_end(h) - 1, so the total is a difference of two
   * running counts and the page starts at a known (height, idx), found by
   * binary search over heights.
   */
  private queryPositions(q: TxQuery, lo: number, hi: number): { total: number; items: FinalizedTxRecord[] } {
    const start = this.txStart(lo);
    const end = this.txEnd(hi);
    const total = end - start;
    if (q.limit === 0 || q.offset >= total) return { total, items: [] };
    const asc = q.order === 'asc';
    const p = asc ? start + q.offset : end - 1 - q.offset;
    // The block holding position p: the first height whose running count passes p.
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = a + Math.floor((b - a) / 2);
      if (this.txEnd(mid) > p) b = mid;
      else a = mid + 1;
    }
    const idx = p - this.txStart(a);
    const rows = this.query(positionsPageSql(q.order)).all(asc ? { h: a, idx, hi, limit: q.limit } : { h: a, idx, lo, limit: q.limit }) as TxRow[];
    return { total, items: rows.map((r) => this.record(r)) };
  }

  /** The product index's reads (checked pages; only while open). */
  readonly productReads = checkedProductReads(() => {
    assert(this.db !== null, 'sqlite store is not open');
    return this.product;
  });

  async backup(dir: string): Promise<void> {
    assert(this.db !== null, 'sqlite store is not open');
    prepareBackupDir(dir);
    const target = path.join(dir, SQLITE_FILE);
    try {
      // SQLite's online backup: a consistent copy even while blocks are committed.
      await this.db.backup(target);
    } catch (e) {
      throw this.translate(e, `backup to ${target} failed`);
    }
  }

  async close(): Promise<void> {
    if (this.inFlight !== null) await this.inFlight.catch(() => undefined);
    if (this.db === null) return;
    const worker = this.worker;
    this.worker = null;
    this.workerReady = null;
    if (worker !== null && !this.workerExited) {
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.on('message', (m: { closed?: boolean }) => {
          if (m.closed) void worker.terminate();
        });
        worker.postMessage('close');
      });
    }
    this.db.close();
    this.db = null;
    this.st = null;
    this.source = null;
    this.writer = null;
    this.queries.clear();
  }
}
