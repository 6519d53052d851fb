/**
 * The write path of the SQLite store, usable on any thread: one transaction
 * per finalized block with the block row, its header row, one row per tx, the
 * changed state rows, the product index rows those changes make
 * (productSql.ts), the height and the accumulator; with `pruneKeepBlocks`,
 * the same transaction deletes the bodies of up to PRUNE_PER_COMMIT old
 * blocks, and every so often the freed pages go back to the file system
 * (`incremental_vacuum`) and the WAL is checkpointed and truncated, so the
 * files stay the same size under steady load. `CommitMessage` is what crosses
 * to the writer thread: a few strings and one buffer, cheap to hand over.
 */
import type Database from 'better-sqlite3';
import { applyProductChanges } from '../productIndex.js';
import { hexKey } from './migrations.js';
import { SqliteProductSink } from './productSql.js';

/** The rows of one block: its block row, header row and tx rows. */
export interface BlockRows {
  readonly height: number;
  readonly hash: string;
  /** JSON of encodeFinalizedBlock (the block row's `data`). */
  readonly data: string;
  /** Canonical JSON of the certified header `{commit, hash, header}` (the header row's `data`). */
  readonly headerData: string;
  /** The header's timestamp. */
  readonly time: number;
  /**
   * Per tx, in block order: id, canonical wire JSON, sender, recipient
   * (transfers), kind, the validator it concerns (or null), fee as
   * `amountKey`, error code of a failed tx.
   */
  readonly ids: readonly string[];
  readonly txJson: readonly string[];
  readonly senders: readonly string[];
  readonly recipients: readonly (string | null)[];
  readonly kinds: readonly string[];
  readonly validators: readonly (string | null)[];
  readonly feeKeys: readonly string[];
  /** 1 = success, 0 = failed (its code in `errors`). */
  readonly success: Uint8Array;
  readonly errors: readonly (string | null)[];
}

export interface CommitMessage extends BlockRows {
  /** Changed state rows: key, canonical JSON of the new value. */
  readonly changes: readonly (readonly [string, string | null])[];
  readonly accumulator: Uint8Array;
}

/** Pragmas of every connection to the store file. */
export function configureConnection(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // Durable at commit: a finalized block survives power loss, not only a crash.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  // 16 MiB of page cache per connection (the main thread's reader and the writer thread each have one) bounds
  // the store's share of the node's memory; index pages beyond it come from the operating system's file cache.
  db.pragma('cache_size = -16384');
}

/** Most block bodies pruned per commit, so that a backlog drains without a long pause. */
export const PRUNE_PER_COMMIT = 4;
/** Most heights whose headers are looked at for pruning per commit. */
const HEADER_PRUNE_PER_COMMIT = 8;
/** Commits between two `incremental_vacuum`s while pruning. */
const VACUUM_EVERY = 16;
/** Commits between two WAL checkpoints with truncation while pruning. */
const CHECKPOINT_EVERY = 256;

export interface BlockWriterOptions {
  /** As `ChainStoreOptions.pruneKeepBlocks` (0: keep every block). */
  readonly pruneKeepBlocks?: number;
  /** As `ChainStoreOptions.headerKeepBlocks` (0: keep every header). */
  readonly headerKeepBlocks?: number;
  /** As `ChainStoreOptions.headerCheckpointEvery`. */
  readonly headerCheckpointEvery?: number;
}

export class BlockWriter {
  private readonly commitTx: (m: CommitMessage) => boolean;
  /** Inserts the rows of one block (within the caller's transaction). */
  readonly insertRows: (m: BlockRows) => void;
  private readonly keep: number;
  private readonly headerKeep: number;
  private commits = 0;

  constructor(
    private readonly db: Database.Database,
    options: BlockWriterOptions = {},
  ) {
    this.keep = options.pruneKeepBlocks ?? 0;
    const headerKeep = options.headerKeepBlocks ?? 0;
    this.headerKeep = headerKeep;
    const every = Math.max(1, options.headerCheckpointEvery ?? 1);
    const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    // tx_end: the previous block's count plus this block's txs (0 before height 1).
    const insertBlock = db.prepare(
      'INSERT INTO blocks (height, hash, data, time, tx_end) VALUES (@height, @hash, @data, @time, COALESCE((SELECT tx_end FROM blocks WHERE height = @height - 1), 0) + @txs)',
    );
    const insertTx = db.prepare(
      'INSERT INTO txs (height, idx, id, id_key, sender, sender_key, recipient, recipient_key, kind, validator, validator_key, fee_key, success, error, tx)' +
        ' VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertHeader = db.prepare('INSERT INTO headers (height, hash, time, data) VALUES (?, ?, ?, ?)');
    const firstBlock = db.prepare('SELECT MIN(height) FROM blocks').pluck();
    const deleteTxs = db.prepare('DELETE FROM txs WHERE height >= ? AND height < ?');
    const deleteBlocks = db.prepare('DELETE FROM blocks WHERE height >= ? AND height < ?');
    // Headers below the header window go, a few heights per commit, but for the checkpoints (each epoch's first).
    const deleteHeaders = db.prepare('DELETE FROM headers WHERE height >= ? AND height < ? AND (height - 1) % ? != 0');
    const firstPrunableHeader = db.prepare('SELECT MIN(height) FROM headers WHERE (height - 1) % ? != 0').pluck();
    let headerCursor = headerKeep > 0 ? ((firstPrunableHeader.get(every) as number | null) ?? Infinity) : Infinity;
    const upsertState = db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    const deleteState = db.prepare('DELETE FROM state WHERE key = ?');
    const product = new SqliteProductSink(db);
    this.insertRows = (m: BlockRows): void => {
      insertBlock.run({ height: m.height, hash: m.hash, data: m.data, time: m.time, txs: m.ids.length });
      insertHeader.run(m.height, m.hash, m.time, m.headerData);
      for (let i = 0; i < m.ids.length; i++) {
        const id = m.ids[i]!;
        const from = m.senders[i]!;
        const to = m.recipients[i]!;
        const v = m.validators[i]!;
        insertTx.run(
          m.height, i, id, hexKey(id), from, hexKey(from), to, to === null ? null : hexKey(to),
          m.kinds[i]!, v, v === null ? null : hexKey(v), m.feeKeys[i]!, m.success[i]!, m.errors[i]!, m.txJson[i]!,
        );
      }
    };
    const keep = this.keep;
    this.commitTx = db.transaction((m: CommitMessage): boolean => {
      this.insertRows(m);
      for (const [key, value] of m.changes) {
        if (value === null) deleteState.run(key);
        else upsertState.run(key, value);
      }
      applyProductChanges(product, m.changes);
      setMeta.run('height', m.height);
      setMeta.run('accumulator', Buffer.from(m.accumulator.buffer, m.accumulator.byteOffset, m.accumulator.byteLength));
      if (headerKeep > 0) {
        // From the lowest header that is not a checkpoint (found once at start): a bounded step per commit.
        if (headerCursor === Infinity) headerCursor = m.height;
        const to = Math.min(m.height - headerKeep + 1, headerCursor + HEADER_PRUNE_PER_COMMIT);
        if (to > headerCursor) {
          deleteHeaders.run(headerCursor, to, every);
          headerCursor = to;
        }
      }
      if (keep <= 0) return false;
      // Bodies below the newest `keep` blocks go, a few per commit.
      const first = firstBlock.get() as number;
      const to = Math.min(m.height - keep + 1, first + PRUNE_PER_COMMIT);
      if (to <= first) return false;
      deleteTxs.run(first, to);
      deleteBlocks.run(first, to);
      return true;
    });
  }

  commit(m: CommitMessage): void {
    this.commitTx(m);
    if (this.keep <= 0 && this.headerKeep <= 0) return;
    this.commits++;
    // Pages freed by pruning go back to the file system; the WAL, which grows to the
    // largest amount written between two checkpoints, is cut back to nothing.
    // Housekeeping only: the block is durable already, so a failure here (a reader holding the
    // WAL past the busy timeout) fails nothing and the next round tries again.
    try {
      if (this.commits % VACUUM_EVERY === 0) this.db.pragma('incremental_vacuum');
      if (this.commits % CHECKPOINT_EVERY === 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Retried at the next round.
    }
  }
}
