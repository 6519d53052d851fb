// SQLite backend specifics: what a commit writes, the schema bookkeeping, and
// damage detection on open (every case must be CORRUPT_DATA naming the file).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { SCHEMA_VERSION, SqliteChainStore, createChainStore } from '../../../src/storage/index.js';
import type { BlockCommit } from '../../../src/storage/types.js';
import { buildChain, tempDir } from './fixtures.js';

const fixture = buildChain(4, 5);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A data dir holding the first `blocks` blocks of the fixture. */
function storedChain(blocks = 4): string {
  const dir = tempDir('sqlite');
  dirs.push(dir);
  const store = createChainStore('sqlite', dir);
  store.open();
  store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
  for (const c of fixture.commits.slice(0, blocks)) store.commitBlock(c);
  store.close();
  return dir;
}

const fileOf = (dir: string): string => path.join(dir, 'chain.sqlite');

/** Runs SQL on the store's file through a separate connection (as damage or a tool would). */
function tamper(dir: string, sql: string): void {
  const db = new Database(fileOf(dir));
  db.exec(sql);
  db.close();
}

function assertCorrupt(dir: string, what?: RegExp): void {
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
  store.close();
}

describe('SqliteChainStore', () => {
  it('writes only the changed state rows in a commit', () => {
    const dir = storedChain(1);
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
    store.commitBlock(c);
    store.close();
    const db = new Database(fileOf(dir), { readonly: true });
    const written = (db.prepare('SELECT key FROM writes').pluck().all() as string[]).sort();
    assert.deepEqual(written, [...c.changes.keys()].sort());
    assert.ok(written.length < fixture.stateAt[2]!.size, 'some rows were left alone');
    assert.equal(db.prepare('SELECT COUNT(*) FROM state').pluck().get(), fixture.stateAt[2]!.size);
    assert.equal(db.prepare('SELECT COUNT(*) FROM txs').pluck().get(), fixture.txs.filter((t) => t.height <= 2).length);
    assert.equal(db.prepare('SELECT COUNT(*) FROM blocks').pluck().get(), 2);
    db.close();
  });

  it('records the schema version, WAL mode and the meta rows', () => {
    const dir = storedChain(2);
    const db = new Database(fileOf(dir), { readonly: true });
    const meta = new Map(db.prepare('SELECT key, value FROM meta').raw().all() as [string, unknown][]);
    assert.equal(meta.get('schema_version'), SCHEMA_VERSION);
    assert.equal(meta.get('genesis_hash'), fixture.genesisHash);
    assert.equal(meta.get('height'), 2);
    assert.ok((meta.get('accumulator') as Buffer).equals(fixture.commits[1]!.accumulator));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('a failing commit writes nothing', () => {
    const dir = storedChain(1);
    const store = new SqliteChainStore(dir);
    store.open();
    // Block 2 carrying block 1's txs again: the tx ids collide, the transaction aborts.
    const good = fixture.commits[1]!;
    const dup = fixture.commits[0]!.block;
    const bad: BlockCommit = { ...good, block: { ...good.block, block: { ...good.block.block, txs: dup.block.txs }, results: dup.results } };
    assert.throws(() => store.commitBlock(bad), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INTERNAL);
    assert.equal(store.getBlock(2), undefined);
    store.commitBlock(good); // the height did not move
    store.close();
    const again = new SqliteChainStore(dir);
    const l = again.open();
    assert.equal(l.height, 2);
    assert.equal(l.entries.length, fixture.stateAt[2]!.size);
    again.close();
  });

  describe('damage on open is CORRUPT_DATA naming the file', () => {
    it('a file of garbage bytes', () => {
      const dir = tempDir('sqlite');
      dirs.push(dir);
      fs.writeFileSync(fileOf(dir), randomBytes(10_000));
      assertCorrupt(dir);
    });

    it('a store file overwritten with junk', () => {
      const dir = storedChain();
      const size = fs.statSync(fileOf(dir)).size;
      fs.writeFileSync(fileOf(dir), Buffer.alloc(size, 'junk'));
      assertCorrupt(dir);
    });

    it('a damaged page inside the file', () => {
      const dir = storedChain();
      const fd = fs.openSync(fileOf(dir), 'r+');
      const size = fs.fstatSync(fd).size;
      assert.ok(size >= 4 * 4096, `file has several pages (${size} bytes)`);
      for (let page = 1; page * 4096 < size; page += 2) fs.writeSync(fd, randomBytes(512), 0, 512, page * 4096 + 8);
      fs.closeSync(fd);
      assertCorrupt(dir);
    });

    it('the latest block row is not JSON', () => {
      const dir = storedChain();
      tamper(dir, `UPDATE blocks SET data = '{"header": tru' WHERE height = 4`);
      assertCorrupt(dir, /block row 4/);
    });

    it('the latest block row holds another block', () => {
      const dir = storedChain();
      tamper(dir, `UPDATE blocks SET data = (SELECT data FROM blocks WHERE height = 3) WHERE height = 4`);
      assertCorrupt(dir, /block row 4/);
    });

    it('meta height has no block row', () => {
      const dir = storedChain();
      tamper(dir, `DELETE FROM blocks WHERE height = 4`);
      assertCorrupt(dir, /no block row/);
    });

    it('a block above meta height', () => {
      const dir = storedChain();
      tamper(dir, `UPDATE meta SET value = 3 WHERE key = 'height'`);
      assertCorrupt(dir, /above meta height/);
    });

    it('a state row that does not decode', () => {
      const dir = storedChain();
      tamper(dir, `UPDATE state SET value = 'not json' WHERE key = (SELECT MIN(key) FROM state)`);
      assertCorrupt(dir, /state row/);
    });

    it('a schema version from a newer node', () => {
      const dir = storedChain(1);
      tamper(dir, `UPDATE meta SET value = ${SCHEMA_VERSION + 1} WHERE key = 'schema_version'`);
      assertCorrupt(dir, /newer/);
    });

    it('a SQLite database of something else', () => {
      const dir = tempDir('sqlite');
      dirs.push(dir);
      tamper(dir, `CREATE TABLE people (name TEXT)`);
      assertCorrupt(dir, /not a fastpos database/);
    });
  });

  it('a damaged block row below the tip is reported when read', () => {
    const dir = storedChain();
    tamper(dir, `UPDATE blocks SET data = 'garbage' WHERE height = 2`);
    const store = createChainStore('sqlite', dir);
    assert.equal(store.open().height, 4);
    assert.throws(
      () => store.getBlock(2),
      (e: unknown) => e instanceof FastposError && e.code === ErrorCode.CORRUPT_DATA && e.message.includes('chain.sqlite'),
    );
    store.close();
  });
});
