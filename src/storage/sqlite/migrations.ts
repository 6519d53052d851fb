/**
 * Schema of the SQLite store and the migration runner that brings a database
 * file to the current schema version. The version lives in
 * `meta(key = 'schema_version')`; migration i takes the schema from version i
 * to i + 1 and runs in its own transaction together with the version bump, so
 * an interrupted upgrade resumes where it stopped. To change the schema,
 * append a migration: never edit one that has shipped.
 * @module
 */
import type Database from 'better-sqlite3';
import { decodeTx } from '../../codec/tx.js';
import { validatorOf } from '../../mempool/txFilter.js';
import { applyProductChanges } from '../productIndex.js';
import { corrupt } from '../common.js';
import { PRODUCT_SCHEMA, productStateRows, SqliteProductSink } from './productSql.js';

type Migration = (db: Database.Database) => void;

/**
 * Version 1.
 *
 * `txs` is clustered on (height, idx), so inserts append at the end of the
 * table and "all txs in (height, index) order" and height ranges need no
 * index. The lookups by id, sender and recipient go through indexes on
 * integer keys (the first 52 bits of the hex value, see `hexKey`) rather than
 * on the 64- and 40-character strings: a block's txs land on random index
 * pages, and smaller entries mean fewer pages to rewrite per commit (measured:
 * 66 instead of 133 µs per tx for the three indexes). Queries match the key
 * and then the full value. Secondary indexes of a WITHOUT ROWID table end with
 * the primary key, so each is ordered by (key, height, idx) and serves its
 * filter in chain order. The tx wire JSON is kept in the row (it is also in
 * the block's `data`), so getTx / queryTxs read one row instead of parsing a
 * whole block per result.
 */
const V1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE txs (
  height INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  id TEXT NOT NULL,
  id_key INTEGER NOT NULL,
  sender TEXT NOT NULL,
  sender_key INTEGER NOT NULL,
  recipient TEXT,
  recipient_key INTEGER,
  kind TEXT NOT NULL,
  success INTEGER NOT NULL,
  error TEXT,
  tx TEXT NOT NULL,
  PRIMARY KEY (height, idx)
) WITHOUT ROWID;
CREATE INDEX txs_id ON txs (id_key);
CREATE INDEX txs_sender ON txs (sender_key);
CREATE INDEX txs_recipient ON txs (recipient_key);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

/** Integer index key of a hex string: its first 13 hex digits (52 bits, a safe integer). */
export function hexKey(hex: string): number {
  return parseInt(hex.slice(0, 13), 16);
}

/**
 * Sortable text of an amount (a decimal string without leading zeros): its
 * length in two digits, then the digits ("10" → "0210"), so that the text
 * order of two keys is the numeric order of the amounts (at most 39 digits).
 */
export function amountKey(amount: string | bigint): string {
  const digits = amount.toString();
  return `${digits.length.toString().padStart(2, '0')}${digits}`;
}

/**
 * Version 2: what the finalized-tx filters added with it (validatorId, fee
 * bounds, time window) read, and totals that need no count.
 *
 * - `txs.validator` (+ `validator_key`, as `hexKey`): the validator the tx
 *   concerns (`validatorOf` of mempool/txFilter.ts), NULL for kinds that name
 *   none; indexed where not NULL, so transfers cost the index nothing.
 * - `txs.fee_key`: the fee as `amountKey`, indexed: fee bounds are a range
 *   of that index.
 * - an index on `txs.kind`, and one on the positions of failed txs only
 *   (`success = 0`).
 * - `blocks.time`: the header's timestamp. Timestamps increase with height,
 *   so a time window is a height range, found by binary search over heights.
 * - `blocks.tx_end`: the number of txs in blocks 1..height. The number of txs
 *   in a height range, and the tx at a position (a page at any offset of an
 *   unfiltered list), come from it without counting or skipping rows.
 *
 * Existing rows are filled from the JSON they hold, in one pass over each
 * table (measured: 3.2 s for a million txs). The kind and fee indexes cost a
 * commit about 4 µs per tx (29 instead of 25 µs per tx on 500,000 stored txs,
 * fsync aside); their entries land at the end of their key's run, as heights
 * only grow.
 */
function v2(db: Database.Database): void {
  db.exec(`
ALTER TABLE txs ADD COLUMN validator TEXT;
ALTER TABLE txs ADD COLUMN validator_key INTEGER;
ALTER TABLE txs ADD COLUMN fee_key TEXT NOT NULL DEFAULT '';
ALTER TABLE blocks ADD COLUMN time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE blocks ADD COLUMN tx_end INTEGER NOT NULL DEFAULT 0;
`);
  db.function('fastpos_amount_key', { deterministic: true }, (fee: unknown) => amountKey(String(fee)));
  db.function('fastpos_validator_of', { deterministic: true }, (tx: unknown) => validatorOf(decodeTx(JSON.parse(String(tx))).tx));
  db.function('fastpos_hex_key', { deterministic: true }, (hex: unknown) => hexKey(String(hex)));
  db.exec(`
UPDATE txs SET fee_key = fastpos_amount_key(json_extract(tx, '$.fee'));
UPDATE txs SET validator = fastpos_validator_of(tx) WHERE kind <> 'transfer';
UPDATE txs SET validator_key = fastpos_hex_key(validator) WHERE validator IS NOT NULL;
UPDATE blocks SET time = json_extract(data, '$.header.timestamp'),
  tx_end = e.n FROM (SELECT height, SUM(json_extract(data, '$.header.txCount')) OVER (ORDER BY height) AS n FROM blocks) e
  WHERE e.height = blocks.height;
CREATE INDEX txs_validator ON txs (validator_key) WHERE validator_key IS NOT NULL;
CREATE INDEX txs_fee ON txs (fee_key);
CREATE INDEX txs_kind ON txs (kind);
CREATE INDEX txs_failed ON txs (height, idx) WHERE success = 0;
`);
}

/**
 * Version 3: the product index (productSql.ts), built here from the state's
 * product entries with the code that feeds it at each commit. Every row and
 * total of the index is a function of the state, so the index built from a
 * version-2 file equals the one a node that ran version 3 all along would
 * have.
 */
function v3(db: Database.Database): void {
  db.exec(PRODUCT_SCHEMA);
  // Read first: the sink writes to tables of the same connection.
  const rows = [...productStateRows(db)];
  applyProductChanges(new SqliteProductSink(db), rows);
}

/**
 * Version 4: pruning. Headers and certificates of every block are kept in a
 * table of their own, `headers` (height, hash, the header's timestamp, and
 * the JSON `{"commit","hash","header"}` of the certified header), so that the
 * bodies in `blocks` and `txs` can be deleted (`pruneKeepBlocks`) while light
 * clients and snapshot sync still find every height's header. Filled here
 * from the existing block rows.
 *
 * Pruning frees pages; for the file to shrink they must be handed back with
 * `PRAGMA incremental_vacuum`, which needs `auto_vacuum = INCREMENTAL`. That
 * mode is set when a new file is created (`migrate`, before any table), but
 * an existing file can only switch with a one-time `VACUUM`, which rewrites
 * the whole file (it needs as much free disk as the file, and takes about as
 * long as copying it) and cannot run inside a transaction: `migrate` runs it
 * right after this migration's transaction, and again at any later open that
 * finds the file not yet switched (a crash in between).
 */
function v4(db: Database.Database): void {
  db.exec(`
CREATE TABLE headers (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, time INTEGER NOT NULL, data TEXT NOT NULL);
INSERT INTO headers (height, hash, time, data)
  SELECT height, hash, time,
    json_object('commit', json(json_extract(data, '$.commit')), 'hash', hash, 'header', json(json_extract(data, '$.header')))
  FROM blocks ORDER BY height;
`);
}

const MIGRATIONS: readonly Migration[] = [(db) => db.exec(V1), v2, v3, v4];

/** `PRAGMA auto_vacuum` value of INCREMENTAL. */
const AUTO_VACUUM_INCREMENTAL = 2;

/** Schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function currentVersion(db: Database.Database, file: string): number {
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]).filter((n) => !n.startsWith('sqlite_'));
  if (!tables.includes('meta')) {
    if (tables.length > 0) throw corrupt(file, `not a fastpos database (has tables ${tables.join(', ')} but no meta table)`);
    return 0;
  }
  const v = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get();
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw corrupt(file, `meta.schema_version is missing or invalid (${String(v)})`);
  return v;
}

/** Brings the database to `SCHEMA_VERSION`; throws CORRUPT_DATA for a file it cannot understand. */
export function migrate(db: Database.Database, file: string): void {
  const from = currentVersion(db, file);
  if (from > SCHEMA_VERSION) throw corrupt(file, `schema version ${from} was written by a newer fastpos (this one supports up to ${SCHEMA_VERSION})`);
  // A new file: the vacuum mode takes effect when set before the first table.
  if (from === 0) db.pragma('auto_vacuum = INCREMENTAL');
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(v + 1);
    })();
  }
  // An existing file switches with a one-time VACUUM (see v4).
  if (db.pragma('auto_vacuum', { simple: true }) !== AUTO_VACUUM_INCREMENTAL) {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  }
}
