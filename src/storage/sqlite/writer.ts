/**
 * The write path of the SQLite store, usable on any thread: one transaction
 * per finalized block with the block row, one row per tx, the changed state
 * rows, the product index rows those changes make (productSql.ts), the height
 * and the accumulator. `CommitMessage` is what crosses to the
 * writer thread: a few strings and one buffer, cheap to hand over.
 */
import type Database from 'better-sqlite3';
import { applyProductChanges } from '../productIndex.js';
import { hexKey } from './migrations.js';
import { SqliteProductSink } from './productSql.js';

export interface CommitMessage {
  readonly height: number;
  readonly hash: string;
  /** JSON of encodeFinalizedBlock (the block row's `data`). */
  readonly data: string;
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
  // 64 MiB of page cache keeps the tx-id and address indexes hot.
  db.pragma('cache_size = -65536');
}

export class BlockWriter {
  private readonly commitTx: (m: CommitMessage) => void;

  constructor(db: Database.Database) {
    const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    // tx_end: the previous block's count plus this block's txs (0 before height 1).
    const insertBlock = db.prepare(
      'INSERT INTO blocks (height, hash, data, time, tx_end) VALUES (@height, @hash, @data, @time, COALESCE((SELECT tx_end FROM blocks WHERE height = @height - 1), 0) + @txs)',
    );
    const insertTx = db.prepare(
      'INSERT INTO txs (height, idx, id, id_key, sender, sender_key, recipient, recipient_key, kind, validator, validator_key, fee_key, success, error, tx)' +
        ' VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const upsertState = db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    const deleteState = db.prepare('DELETE FROM state WHERE key = ?');
    const product = new SqliteProductSink(db);
    this.commitTx = db.transaction((m: CommitMessage) => {
      insertBlock.run({ height: m.height, hash: m.hash, data: m.data, time: m.time, txs: m.ids.length });
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
      for (const [key, value] of m.changes) {
        if (value === null) deleteState.run(key);
        else upsertState.run(key, value);
      }
      applyProductChanges(product, m.changes);
      setMeta.run('height', m.height);
      setMeta.run('accumulator', Buffer.from(m.accumulator.buffer, m.accumulator.byteOffset, m.accumulator.byteLength));
    });
  }

  commit(m: CommitMessage): void {
    this.commitTx(m);
  }
}
