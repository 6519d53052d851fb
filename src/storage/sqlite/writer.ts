/**
 * The write path of the SQLite store, usable on any thread: one transaction
 * per finalized block with the block row, one row per tx, the changed state
 * rows, the height and the accumulator. `CommitMessage` is what crosses to the
 * writer thread: a few strings and one buffer, cheap to hand over.
 */
import type Database from 'better-sqlite3';
import { hexKey } from './migrations.js';

export interface CommitMessage {
  readonly height: number;
  readonly hash: string;
  /** JSON of encodeFinalizedBlock (the block row's `data`). */
  readonly data: string;
  /** Tx ids in block order (codec derived them once already). */
  readonly ids: readonly string[];
  /** Changed state rows: key, canonical JSON of the new value. */
  readonly changes: readonly (readonly [string, string | null])[];
  readonly accumulator: Uint8Array;
}

interface WireTx {
  from: string;
  kind: string;
  payload?: { to?: unknown };
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
    const insertBlock = db.prepare('INSERT INTO blocks (height, hash, data) VALUES (?, ?, ?)');
    const insertTx = db.prepare(
      'INSERT INTO txs (height, idx, id, id_key, sender, sender_key, recipient, recipient_key, kind, success, error, tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const upsertState = db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    const deleteState = db.prepare('DELETE FROM state WHERE key = ?');
    this.commitTx = db.transaction((m: CommitMessage) => {
      insertBlock.run(m.height, m.hash, m.data);
      const wire = JSON.parse(m.data) as { txs: WireTx[]; results: { success: boolean; error?: string }[] };
      wire.txs.forEach((tx, i) => {
        const r = wire.results[i]!;
        const to = tx.kind === 'transfer' && typeof tx.payload?.to === 'string' ? tx.payload.to : null;
        const id = m.ids[i]!;
        insertTx.run(m.height, i, id, hexKey(id), tx.from, hexKey(tx.from), to, to === null ? null : hexKey(to), tx.kind, r.success ? 1 : 0, r.error ?? null, JSON.stringify(tx));
      });
      for (const [key, value] of m.changes) {
        if (value === null) deleteState.run(key);
        else upsertState.run(key, value);
      }
      setMeta.run('height', m.height);
      setMeta.run('accumulator', Buffer.from(m.accumulator.buffer, m.accumulator.byteOffset, m.accumulator.byteLength));
    });
  }

  commit(m: CommitMessage): void {
    this.commitTx(m);
  }
}
