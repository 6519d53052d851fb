// SQLite backend specifics: what a commit writes, the schema bookkeeping and
// the migration to schema version 2, the writer thread (commits become
// visible and durable when their promise resolves; close waits for a commit
// in flight), damage detection on open (every case must be CORRUPT_DATA
// naming the file), and how SQLite plans the finalized-tx queries (through
// indexes, never a walk of the whole table for a filter an index serves).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { SCHEMA_VERSION, SqliteChainStore, createChainStore, type ChainStoreOptions } from '../../../src/storage/index.js';
import { amountKey } from '../../../src/storage/sqlite/migrations.js';
import { filteredTxSql, positionsPageSql } from '../../../src/storage/sqlite/txQuery.js';
import type { BlockCommit, TxQuery } from '../../../src/storage/types.js';
import { blockTime, buildChain, expectedQuery, recordOf, tempDir } from './fixtures.js';

const fixture = buildChain(4, 5);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A data dir holding the first `blocks` blocks of the fixture. */
async function storedChain(blocks = 4): Promise<string> {
  const dir = tempDir('sqlite');
  dirs.push(dir);
  const store = createChainStore('sqlite', dir);
  store.open();
  store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
  for (const c of fixture.commits.slice(0, blocks)) await store.commitBlock(c);
  await store.close();
  return dir;
}

const fileOf = (dir: string): string => path.join(dir, 'chain.sqlite');

/** Runs SQL on the store's file through a separate connection (as damage or a tool would). */
function tamper(dir: string, sql: string): void {
  const db = new Database(fileOf(dir));
  db.exec(sql);
  db.close();
}

async function assertCorrupt(dir: string, what?: RegExp): Promise<void> {
  const store = createChainStore('sqlite', dir);
  assert.throws(
    () => store.open(),
    (e: unknown) => {
      assert.ok(e instanceof FastposError, `not a FastposError: ${String(e)}`);
      assert.equal(e.code, ErrorCode.CORRUPT_DATA);
      assert.ok(e.message.includes(fileOf(dir)), `message names the file: ${e.message}`);
      if (what !== undefined) assert.match(e.message, what);
      return true;
    },
  );
  await store.close();
}

describe('SqliteChainStore', () => {
  it('writes only the changed state rows in a commit', async () => {
    const dir = await storedChain(1);
    // Record every write to the state table from now on.
    tamper(
      dir,
      `CREATE TABLE writes (key TEXT);
       CREATE TRIGGER state_ins AFTER INSERT ON state BEGIN INSERT INTO writes VALUES (new.key); END;
       CREATE TRIGGER state_upd AFTER UPDATE ON state BEGIN INSERT INTO writes VALUES (new.key); END;`,
    );
    const store = createChainStore('sqlite', dir);
    store.open();
    const c = fixture.commits[1]!;
    await store.commitBlock(c);
    await store.close();
    const db = new Database(fileOf(dir), { readonly: true });
    const written = (db.prepare('SELECT key FROM writes').pluck().all() as string[]).sort();
    assert.deepEqual(written, [...c.changes.keys()].sort());
    assert.ok(written.length < fixture.stateAt[2]!.size, 'some rows were left alone');
    assert.equal(db.prepare('SELECT COUNT(*) FROM state').pluck().get(), fixture.stateAt[2]!.size);
    assert.equal(db.prepare('SELECT COUNT(*) FROM txs').pluck().get(), fixture.txs.filter((t) => t.height <= 2).length);
    assert.equal(db.prepare('SELECT COUNT(*) FROM blocks').pluck().get(), 2);
    db.close();
  });

  it('records the schema version, WAL mode and the meta rows', async () => {
    const dir = await storedChain(2);
    const db = new Database(fileOf(dir), { readonly: true });
    const meta = new Map(db.prepare('SELECT key, value FROM meta').raw().all() as [string, unknown][]);
    assert.equal(meta.get('schema_version'), SCHEMA_VERSION);
    assert.equal(meta.get('genesis_hash'), fixture.genesisHash);
    assert.equal(meta.get('height'), 2);
    assert.ok((meta.get('accumulator') as Buffer).equals(fixture.commits[1]!.accumulator));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  /** The commit modes of the SQLite store: the writer thread (default) and inline commits. */
  const modes: readonly [string, ChainStoreOptions][] = [
    ['writer thread', {}],
    ['inline commits', { writerThread: false }],
  ];

  for (const [mode, options] of modes) {
    it(`a failing commit writes nothing and rejects; the next good commit works (${mode})`, async () => {
      const dir = await storedChain(1);
      const store = new SqliteChainStore(dir, options);
      store.open();
      // Block 2 with a state row without a key: NOT NULL fails after the block and tx rows were written, the transaction aborts.
      const good = fixture.commits[1]!;
      const bad: BlockCommit = { ...good, changes: new Map([...good.changes, [null as unknown as string, '{"balance":"1","nonce":0}']]) };
      await assert.rejects(store.commitBlock(bad), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INTERNAL);
      assert.equal(store.getBlock(2), undefined);
      assert.equal(store.queryTxs({ offset: 0, limit: 0, order: 'asc' }).total, fixture.txs.filter((t) => t.height <= 1).length);
      await store.commitBlock(good); // the height did not move
      assert.equal(store.getBlock(2)!.hash, good.block.hash);
      await store.close();
      const again = new SqliteChainStore(dir, options);
      const l = again.open();
      assert.equal(l.height, 2);
      assert.equal(l.latest!.hash, good.block.hash);
      assert.equal(l.entries.length, fixture.stateAt[2]!.size);
      await again.close();
    });
  }

  describe('writer thread', () => {
    it("a commit's rows are visible to reads as soon as its promise resolves", async () => {
      const dir = await storedChain(1);
      const store = new SqliteChainStore(dir);
      store.open();
      for (const c of fixture.commits.slice(1)) {
        const height = c.block.block.header.height;
        const committing = store.commitBlock(c);
        // The writer thread cannot have committed before this thread handed the block over.
        assert.equal(store.getBlock(height), undefined, `block ${height} is not there before the commit runs`);
        await committing;
        assert.equal(store.getBlock(height)!.hash, c.block.hash);
        for (const t of fixture.txs.filter((x) => x.height === height)) {
          assert.deepEqual({ ...store.getTx(t.id) }, recordOf(t));
        }
        const upTo = fixture.txs.filter((t) => t.height <= height);
        const got = store.queryTxs({ offset: 0, limit: 1000, order: 'asc' });
        assert.equal(got.total, upTo.length);
        assert.deepEqual(
          got.items.map((r) => r.id),
          upTo.map((t) => t.id),
        );
        assert.deepEqual(
          store.getBlocks(1, 100).map((b) => b.block.header.height),
          Array.from({ length: height }, (_, i) => i + 1),
        );
        // Durable in the file, as another connection sees it.
        const db = new Database(fileOf(dir), { readonly: true });
        assert.equal(db.prepare(`SELECT value FROM meta WHERE key = 'height'`).pluck().get(), height);
        assert.ok((db.prepare(`SELECT value FROM meta WHERE key = 'accumulator'`).pluck().get() as Buffer).equals(c.accumulator));
        db.close();
      }
      await store.close();
    });

    it('close waits for a commit in flight started right after open', async () => {
      const dir = await storedChain(1);
      const store = new SqliteChainStore(dir);
      store.open();
      const committing = store.commitBlock(fixture.commits[1]!);
      const closing = store.close(); // the commit is not awaited first
      await Promise.all([committing, closing]);
      const again = new SqliteChainStore(dir);
      const l = again.open();
      assert.equal(l.height, 2);
      assert.equal(l.latest!.hash, fixture.commits[1]!.block.hash);
      assert.equal(again.getBlock(2)!.hash, fixture.commits[1]!.block.hash);
      await again.close();
    });

    it('close waits for a commit in flight on a running writer thread', async () => {
      const dir = await storedChain(1);
      const store = new SqliteChainStore(dir);
      store.open();
      await store.commitBlock(fixture.commits[1]!); // the writer thread is up and has committed
      const committing = store.commitBlock(fixture.commits[2]!);
      const closing = store.close(); // the commit is not awaited first
      await Promise.all([committing, closing]);
      const again = new SqliteChainStore(dir);
      const l = again.open();
      assert.equal(l.height, 3);
      assert.equal(l.latest!.hash, fixture.commits[2]!.block.hash);
      assert.equal(again.getBlock(3)!.hash, fixture.commits[2]!.block.hash);
      await again.close();
    });
  });

  describe('damage on open is CORRUPT_DATA naming the file', () => {
    it('a file of garbage bytes', async () => {
      const dir = tempDir('sqlite');
      dirs.push(dir);
      fs.writeFileSync(fileOf(dir), randomBytes(10_000));
      await assertCorrupt(dir);
    });

    it('a store file overwritten with junk', async () => {
      const dir = await storedChain();
      const size = fs.statSync(fileOf(dir)).size;
      fs.writeFileSync(fileOf(dir), Buffer.alloc(size, 'junk'));
      await assertCorrupt(dir);
    });

    it('a damaged page inside the file', async () => {
      const dir = await storedChain();
      const fd = fs.openSync(fileOf(dir), 'r+');
      const size = fs.fstatSync(fd).size;
      assert.ok(size >= 4 * 4096, `file has several pages (${size} bytes)`);
      for (let page = 1; page * 4096 < size; page += 2) fs.writeSync(fd, randomBytes(512), 0, 512, page * 4096 + 8);
      fs.closeSync(fd);
      await assertCorrupt(dir);
    });

    it('the latest block row is not JSON', async () => {
      const dir = await storedChain();
      tamper(dir, `UPDATE blocks SET data = '{"header": tru' WHERE height = 4`);
      await assertCorrupt(dir, /block row 4/);
    });

    it('the latest block row holds another block', async () => {
      const dir = await storedChain();
      tamper(dir, `UPDATE blocks SET data = (SELECT data FROM blocks WHERE height = 3) WHERE height = 4`);
      await assertCorrupt(dir, /block row 4/);
    });

    it('meta height has no block row', async () => {
      const dir = await storedChain();
      tamper(dir, `DELETE FROM blocks WHERE height = 4`);
      await assertCorrupt(dir, /no block row/);
    });

    it('a block above meta height', async () => {
      const dir = await storedChain();
      tamper(dir, `UPDATE meta SET value = 3 WHERE key = 'height'`);
      await assertCorrupt(dir, /above meta height/);
    });

    it('a state row that does not decode', async () => {
      const dir = await storedChain();
      tamper(dir, `UPDATE state SET value = 'not json' WHERE key = (SELECT MIN(key) FROM state)`);
      await assertCorrupt(dir, /state row/);
    });

    it('a schema version from a newer node', async () => {
      const dir = await storedChain(1);
      tamper(dir, `UPDATE meta SET value = ${SCHEMA_VERSION + 1} WHERE key = 'schema_version'`);
      await assertCorrupt(dir, /newer/);
    });

    it('a SQLite database of something else', async () => {
      const dir = tempDir('sqlite');
      dirs.push(dir);
      tamper(dir, `CREATE TABLE people (name TEXT)`);
      await assertCorrupt(dir, /not a fastpos database/);
    });
  });

  it('a damaged block row below the tip is reported when read', async () => {
    const dir = await storedChain();
    tamper(dir, `UPDATE blocks SET data = 'garbage' WHERE height = 2`);
    const store = createChainStore('sqlite', dir);
    assert.equal(store.open().height, 4);
    assert.throws(
      () => store.getBlock(2),
      (e: unknown) => e instanceof FastposError && e.code === ErrorCode.CORRUPT_DATA && e.message.includes('chain.sqlite'),
    );
    await store.close();
  });
});

describe('SqliteChainStore: schema version 2 and the finalized-tx queries', () => {
  const V = fixture.validators;
  type Filter = Omit<TxQuery, 'offset' | 'limit' | 'order'>;
  const sample: Filter[] = [
    {},
    { validatorId: V.genesis },
    { validatorId: V.bonded },
    { validatorId: V.slashed },
    { minFee: 10n },
    { minFee: 9n, maxFee: 25n },
    { fromTime: blockTime(2), toTime: blockTime(3) },
    { success: true },
    { success: false, fromHeight: 2 },
    { address: fixture.senders[1]!, maxFee: 9n },
  ];
  const assertAnswers = (store: SqliteChainStore): void => {
    for (const f of sample) {
      for (const order of ['asc', 'desc'] as const) {
        for (const [offset, limit] of [[0, 100], [2, 3]] as const) {
          const q: TxQuery = { ...f, offset, limit, order };
          const want = expectedQuery(fixture.txs, q);
          const got = store.queryTxs(q);
          assert.equal(got.total, want.total, JSON.stringify(q, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
          assert.deepEqual(got.items.map((r) => r.id), want.ids);
        }
      }
    }
  };

  it('amountKey: text order is numeric order', () => {
    const amounts = [0n, 1n, 9n, 10n, 25n, 100n, 999n, 1000n, 10n ** 38n, 10n ** 39n - 1n];
    const keys = amounts.map(amountKey);
    assert.deepEqual([...keys].sort(), keys);
    assert.equal(amountKey(10n), '0210');
    assert.equal(amountKey('10'), '0210');
  });

  it('records per block its timestamp and running tx count, per tx its validator and fee key', async () => {
    const dir = await storedChain(4);
    const db = new Database(fileOf(dir), { readonly: true });
    const blocks = db.prepare('SELECT height, time, tx_end FROM blocks ORDER BY height').all() as { height: number; time: number; tx_end: number }[];
    assert.deepEqual(blocks, [1, 2, 3, 4].map((h) => ({ height: h, time: blockTime(h), tx_end: fixture.txs.filter((t) => t.height <= h).length })));
    const txs = db.prepare('SELECT id, validator, fee_key FROM txs ORDER BY height, idx').all() as { id: string; validator: string | null; fee_key: string }[];
    assert.deepEqual(txs, fixture.txs.filter((t) => t.height <= 4).map((t) => ({ id: t.id, validator: t.validator, fee_key: amountKey(t.fee) })));
    db.close();
  });

  it('migration: a version 1 file is brought to version 2 at open, its new columns filled from the stored JSON; commits and queries go on', async () => {
    const dir = await storedChain(3);
    // Back to the version 1 schema: what a file written by the previous release holds.
    tamper(
      dir,
      `DROP INDEX txs_validator; DROP INDEX txs_fee; DROP INDEX txs_kind; DROP INDEX txs_failed;
       ALTER TABLE txs DROP COLUMN validator; ALTER TABLE txs DROP COLUMN validator_key; ALTER TABLE txs DROP COLUMN fee_key;
       ALTER TABLE blocks DROP COLUMN time; ALTER TABLE blocks DROP COLUMN tx_end;
       DROP TABLE headers;
       UPDATE meta SET value = 1 WHERE key = 'schema_version';`,
    );
    const v1 = new Database(fileOf(dir), { readonly: true });
    assert.deepEqual((v1.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('blocks') as string[]), ['height', 'hash', 'data']);
    v1.close();

    const store = new SqliteChainStore(dir);
    assert.equal(store.open().height, 3);
    await store.commitBlock(fixture.commits[3]!);
    assertAnswers(store);
    await store.close();

    const db = new Database(fileOf(dir), { readonly: true });
    assert.equal(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), SCHEMA_VERSION);
    const blocks = db.prepare('SELECT height, time, tx_end FROM blocks ORDER BY height').all();
    assert.deepEqual(blocks, [1, 2, 3, 4].map((h) => ({ height: h, time: blockTime(h), tx_end: fixture.txs.filter((t) => t.height <= h).length })));
    const txs = db.prepare('SELECT id, validator, fee_key FROM txs ORDER BY height, idx').all();
    assert.deepEqual(txs, fixture.txs.filter((t) => t.height <= 4).map((t) => ({ id: t.id, validator: t.validator, fee_key: amountKey(t.fee) })));
    const indexes = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'txs' AND sql IS NOT NULL ORDER BY name`).pluck().all() as string[]);
    assert.deepEqual(indexes, ['txs_failed', 'txs_fee', 'txs_id', 'txs_kind', 'txs_recipient', 'txs_sender', 'txs_validator']);
    db.close();
  });

  it('query plans: each filter an index serves is a search of that index; no filter and height or time bounds search the primary key', async () => {
    const dir = await storedChain(4);
    const db = new Database(fileOf(dir), { readonly: true });
    const plan = (sql: string, params: Record<string, unknown>): string[] =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).filter((d) => / t /.test(` ${d} `) || d.startsWith('SCAN t') || d.startsWith('SEARCH t'));
    const cases: [Filter, RegExp, { lo: number; hi: number } | null][] = [
      [{ from: fixture.senders[0]! }, /USING INDEX txs_sender \(sender_key=\?\)/, null],
      [{ to: fixture.newcomer }, /USING INDEX txs_recipient \(recipient_key=\?\)/, null],
      [{ validatorId: V.genesis }, /USING INDEX txs_validator \(validator_key=\?\)/, null],
      [{ kind: 'validator_bond' }, /USING (COVERING )?INDEX txs_kind \(kind=\?\)/, null],
      [{ minFee: 10n }, /USING (COVERING )?INDEX txs_fee \(fee_key>\?\)/, null],
      [{ maxFee: 9n }, /USING (COVERING )?INDEX txs_fee \(fee_key<\?\)/, null],
      [{ minFee: 9n, maxFee: 25n }, /USING (COVERING )?INDEX txs_fee \(fee_key>\? AND fee_key<\?\)/, null],
      [{ success: false }, /USING (COVERING )?INDEX txs_failed/, null],
      [{ validatorId: V.genesis, minFee: 1n }, /USING INDEX txs_validator/, { lo: 2, hi: 3 }],
      [{ success: false, kind: 'transfer' }, /INDEX txs_(failed|kind)/, null],
    ];
    for (const [filter, index, bounds] of cases) {
      for (const order of ['asc', 'desc'] as const) {
        const { countSql, pageSql, params } = filteredTxSql({ ...filter, offset: 0, limit: 10, order }, bounds);
        for (const [what, lines] of [['count', plan(countSql, params)], ['page', plan(pageSql, { ...params, limit: 10, offset: 0 })]] as const) {
          assert.ok(lines.length > 0 && lines.every((l) => index.test(l)), `${what} of ${JSON.stringify(filter, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))} ${order}: ${lines.join(' | ')}`);
          // The failed-txs index is partial (failed txs only): walking it is reading the matches.
          assert.ok(lines.every((l) => !l.startsWith('SCAN t') || /txs_failed/.test(l)), `${what}: ${lines.join(' | ')}`);
        }
      }
    }
    // An address: both of its indexes, merged.
    const addr = filteredTxSql({ address: fixture.newcomer, offset: 0, limit: 10, order: 'desc' }, null);
    const addrPlan = plan(addr.countSql, addr.params).join(' | ');
    assert.match(addrPlan, /txs_sender/);
    assert.match(addrPlan, /txs_recipient/);
    // Heights (and times, which become heights): a range of the primary key.
    const range = filteredTxSql({ success: true, offset: 0, limit: 10, order: 'desc' }, { lo: 2, hi: 3 });
    assert.match(plan(range.countSql, range.params).join(), /SEARCH t USING PRIMARY KEY \(height>\? AND height<\?\)/);
    for (const order of ['asc', 'desc'] as const) {
      const lines = plan(positionsPageSql(order), order === 'asc' ? { h: 1, idx: 0, hi: 3, limit: 10 } : { h: 3, idx: 0, lo: 1, limit: 10 });
      assert.deepEqual(lines.map((l) => /^SEARCH t USING PRIMARY KEY/.test(l)), [true], lines.join(' | '));
    }
    db.close();
  });

  it('keeps at most 256 prepared query statements, the most recently used', async () => {
    const store = new SqliteChainStore(await storedChain(4));
    store.open();
    const queries = (store as unknown as { queries: Map<string, unknown> }).queries;
    let n = 0;
    for (const from of [undefined, fixture.senders[0]!]) {
      for (const kind of [undefined, 'transfer']) {
        for (const validatorId of [undefined, V.genesis]) {
          for (const minFee of [undefined, 1n]) {
            for (const maxFee of [undefined, 100n]) {
              for (const success of [undefined, true, false]) {
                for (const order of ['asc', 'desc'] as const) {
                  for (const fromHeight of [undefined, 2]) {
                    const f = Object.fromEntries(Object.entries({ from, kind, validatorId, minFee, maxFee, success, fromHeight }).filter(([, v]) => v !== undefined));
                    const q = { ...f, offset: 0, limit: 5, order } as TxQuery;
                    assert.equal(store.queryTxs(q).total, expectedQuery(fixture.txs.filter((t) => t.height <= 4), q).total);
                    n++;
                  }
                }
              }
            }
          }
        }
      }
    }
    assert.ok(n > 256);
    assert.ok(queries.size <= 256, `${queries.size} statements kept`);
    await store.close();
  });
});
