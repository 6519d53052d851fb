/**
 * The SQLite store's rows of a finalized block (as the writer inserts them)
 * and the install of a whole state (snapshot sync, migration): in one
 * transaction every table is emptied, then the state, the product index
 * built from it, the headers, the blocks and the meta rows are inserted;
 * `entries` is read once, in batches.
 * @module
 */
import type Database from 'better-sqlite3';
import { finalizedBlockJson } from '../../codec/block.js';
import { canonicalJson } from '../../codec/canonical.js';
import { ErrorCode, FastposError } from '../../errors.js';
import { recipientOf, validatorOf } from '../../mempool/txFilter.js';
import type { FinalizedBlock } from '../../types/index.js';
import { applyProductChanges } from '../productIndex.js';
import type { StateInstall } from '../types.js';
import { amountKey } from './migrations.js';
import { productStateRows, SqliteProductSink } from './productSql.js';
import { BlockWriter, type BlockRows } from './writer.js';

/** The rows of a block as the writer inserts them. */
export function blockRows(fb: FinalizedBlock): BlockRows {
  const txs = fb.block.txs;
  return {
    height: fb.block.header.height,
    hash: fb.hash,
    data: finalizedBlockJson(fb),
    headerData: canonicalJson({ commit: fb.commit, hash: fb.hash, header: fb.block.header }),
    time: fb.block.header.timestamp,
    ids: txs.map((d) => d.id),
    txJson: txs.map((d) => d.json),
    senders: txs.map((d) => d.tx.from),
    recipients: txs.map((d) => recipientOf(d.tx)),
    kinds: txs.map((d) => d.tx.kind),
    validators: txs.map((d) => validatorOf(d.tx)),
    feeKeys: txs.map((d) => amountKey(d.tx.fee)),
    success: Uint8Array.from(fb.results, (r) => (r.success ? 1 : 0)),
    errors: fb.results.map((r) => r.error ?? null),
  };
}

/** Entries per INSERT batch of `installState` (the iterable is read lazily). */
const INSTALL_BATCH = 4096;

/** Replaces the whole content of the store file by `s` in one transaction (no commit may be in flight). */
export function installRows(db: Database.Database, s: StateInstall): void {
  const height = s.block.block.header.height;
  const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const writer = new BlockWriter(db);
  const insertHeader = db.prepare('INSERT INTO headers (height, hash, time, data) VALUES (?, ?, ?, ?)');
  const insertState = db.prepare('INSERT INTO state (key, value) VALUES (?, ?)');
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'product\_%' ESCAPE '\\' OR name IN ('blocks', 'txs', 'state', 'headers'))`).pluck().all() as string[]);
  db.transaction(() => {
    for (const t of tables) db.exec(`DELETE FROM "${t}"`);
    let batch: (readonly [string, string])[] = [];
    const flush = (): void => {
      for (const [k, v] of batch) insertState.run(k, v);
      batch = [];
    };
    for (const e of s.entries) {
      batch.push(e);
      if (batch.length >= INSTALL_BATCH) flush();
    }
    flush();
    applyProductChanges(new SqliteProductSink(db), [...productStateRows(db)]);
    let next = -1;
    const expect = (h: number, what: string): void => {
      if (next !== -1 && h !== next) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `installState: ${what} ${h} follows height ${next - 1}`);
      next = h + 1;
    };
    // Headers ascend (kept checkpoints may leave gaps between them); blocks follow one another up to `s.block`.
    for (const h of s.headers ?? []) {
      if (next !== -1 && h.header.height < next) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `installState: header ${h.header.height} follows height ${next - 1}`);
      next = h.header.height + 1;
      insertHeader.run(h.header.height, h.hash, h.header.timestamp, canonicalJson({ commit: h.commit, hash: h.hash, header: h.header }));
    }
    let first = true;
    for (const b of s.blocks ?? []) {
      if (first && next !== -1 && b.block.header.height >= next) next = b.block.header.height;
      first = false;
      expect(b.block.header.height, 'block');
      writer.insertRows(blockRows(b));
    }
    if (first && next !== -1 && height >= next) next = height;
    expect(height, 'block');
    writer.insertRows(blockRows(s.block));
    setMeta.run('genesis_hash', s.genesisHash);
    setMeta.run('height', height);
    setMeta.run('accumulator', s.accumulator);
  })();
}
