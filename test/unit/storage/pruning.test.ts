// Pruning, kept headers and state installs, over every store: SQLite (writer
// thread and inline commits), snapshot files and the in-memory store, on real
// files in temp dirs, against the fixture chain's model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { encodeFinalizedBlock } from '../../../src/codec/block.js';
import { ErrorCode, isFastposError } from '../../../src/errors.js';
import { createChainStore, SCHEMA_VERSION, SQLITE_FILE, type ChainStore, type ChainStoreOptions, type StateInstall, type TxQuery } from '../../../src/storage/index.js';
import { MemoryChainStore, MemoryDisk } from '../../../src/storage/memory.js';
import { blockTime, buildChain, expectedQuery, tempDir, type ChainFixture } from './fixtures.js';

const BLOCKS = 100;
const KEEP = 10;
const fixture = buildChain(BLOCKS, 3);

interface Config {
  readonly name: string;
  /** A new handle on the same data (the same dir, or the same memory disk). */
  readonly handle: (options: ChainStoreOptions) => ChainStore;
}

function configs(): { name: string; make: () => Config }[] {
  const fileConfig = (name: string, backend: 'sqlite' | 'snapshot', extra: ChainStoreOptions) => ({
    name,
    make: (): Config => {
      const dir = tempDir(`prune-${backend}`);
      return { name, handle: (o) => createChainStore(backend, dir, { ...extra, ...o }) };
    },
  });
  return [
    fileConfig('sqlite, writer thread', 'sqlite', {}),
    fileConfig('sqlite, inline commits', 'sqlite', { writerThread: false }),
    fileConfig('snapshot', 'snapshot', {}),
    {
      name: 'memory',
      make: (): Config => {
        const disk = new MemoryDisk();
        return { name: 'memory', handle: (o) => new MemoryChainStore(disk, { pruneKeepBlocks: o.pruneKeepBlocks ?? 0 }) };
      },
    },
  ];
}

const wire = (x: unknown): unknown => (x === undefined ? x : encodeFinalizedBlock(x as Parameters<typeof encodeFinalizedBlock>[0]));
const sorted = (m: Map<string, string>): [string, string][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

async function commitRange(store: ChainStore, f: ChainFixture, from: number, to: number): Promise<void> {
  for (let h = from; h <= to; h++) await store.commitBlock(f.commits[h - 1]!);
}

const QUERIES: Omit<TxQuery, 'offset' | 'limit' | 'order'>[] = [
  {},
  { fromHeight: 1 },
  { fromHeight: 2, toHeight: 95 },
  { from: fixture.senders[0]! },
  { address: fixture.newcomer },
  { success: true },
  { success: false },
  { kind: 'transfer', fromHeight: 1 },
  { fromTime: blockTime(3), toTime: blockTime(97) },
];

/** The tx queries answer like the model restricted to heights from `earliest` (pruned txs are not counted). */
function assertQueries(store: ChainStore, earliest: number, height: number): void {
  const kept = fixture.txs.filter((t) => t.height >= earliest && t.height <= height);
  for (const f of QUERIES) {
    for (const order of ['asc', 'desc'] as const) {
      for (const [offset, limit] of [[0, 5], [7, 30], [0, 1000]] as const) {
        const q: TxQuery = { ...f, order, offset, limit };
        const want = expectedQuery(kept, q);
        const got = store.queryTxs(q);
        assert.equal(got.total, want.total, `total of ${JSON.stringify(f)} ${order}`);
        assert.deepEqual(got.items.map((r) => r.id), want.ids, `page of ${JSON.stringify(f)} ${order} ${offset}`);
      }
    }
  }
}

/** What a store pruned to `earliest` must answer at `height`. */
function assertPruned(store: ChainStore, earliest: number, height: number): void {
  assert.ok(earliest > 1, 'something was pruned');
  assert.ok(earliest <= height - KEEP + 1, `the newest ${KEEP} blocks are kept (earliest ${earliest})`);
  assert.equal(store.earliestBlockHeight(), earliest);
  assert.equal(store.earliestHeaderHeight(), 1);
  assert.equal(store.getBlock(earliest - 1), undefined);
  assert.deepEqual(wire(store.getBlock(earliest)), wire(fixture.commits[earliest - 1]!.block));
  assert.deepEqual(store.getBlocks(1, 5), []);
  assert.deepEqual(store.getBlocksJson(earliest - 1, 3), []);
  assert.equal(store.getBlocks(earliest, 3).length, 3);
  assert.equal(store.getBlocksJson(earliest, 1000).length, height - earliest + 1);
  // Headers of every height, pruned or not.
  const headers = store.getHeaders(1, 1000);
  assert.equal(headers.length, height);
  headers.forEach((h, i) => {
    const fb = fixture.commits[i]!.block;
    assert.equal(h.header.height, i + 1);
    assert.equal(h.hash, fb.hash);
    assert.deepEqual(h.header, fb.block.header);
    assert.deepEqual(h.commit, fb.commit);
  });
  assert.equal(store.getHeaders(5, 2)[1]!.header.height, 6);
  // Txs of pruned blocks are gone, kept ones found.
  const prunedTx = fixture.txs.find((t) => t.height === earliest - 1)!;
  const keptTx = fixture.txs.find((t) => t.height === earliest)!;
  assert.equal(store.getTx(prunedTx.id), undefined);
  assert.equal(store.getTx(keptTx.id)?.height, earliest);
  assertQueries(store, earliest, height);
}

for (const c of configs()) {
  describe(`pruning and installs (${c.name})`, () => {
    it('pruning: keeps every header and certificate, drops old bodies, moves the earliest height, clamps queries; the same after a reopen, and commits go on', async () => {
      const cfg = c.make();
      const store = cfg.handle({ pruneKeepBlocks: KEEP });
      store.open();
      assert.equal(store.earliestBlockHeight(), 1, 'a new chain: height + 1');
      assert.equal(store.earliestHeaderHeight(), 1);
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      await commitRange(store, fixture, 1, 90);
      const earliest = store.earliestBlockHeight();
      assertPruned(store, earliest, 90);
      await store.close();

      const again = cfg.handle({ pruneKeepBlocks: KEEP });
      const loaded = again.open();
      assert.equal(loaded.height, 90);
      assert.deepEqual(wire(loaded.latest), wire(fixture.commits[89]!.block));
      assert.equal(again.earliestBlockHeight(), earliest);
      assertPruned(again, earliest, 90);
      await commitRange(again, fixture, 91, BLOCKS);
      assertPruned(again, again.earliestBlockHeight(), BLOCKS);
      assert.deepEqual([...again.stateEntries()], sorted(fixture.stateAt[BLOCKS]!));
      await again.close();
    });

    it('without pruneKeepBlocks every block is kept', async () => {
      const cfg = c.make();
      const store = cfg.handle({});
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      await commitRange(store, fixture, 1, 30);
      assert.equal(store.earliestBlockHeight(), 1);
      assert.equal(store.getHeaders(1, 100).length, 30);
      assertQueries(store, 1, 30);
      await store.close();
    });

    it('stateEntries: ascending key order (UTF-16 code units), canonical JSON, at the committed height', async () => {
      const cfg = c.make();
      const store = cfg.handle({});
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      await commitRange(store, fixture, 1, 12);
      const entries = [...store.stateEntries()];
      assert.deepEqual(entries, sorted(fixture.stateAt[12]!));
      for (let i = 1; i < entries.length; i++) assert.ok(entries[i - 1]![0] < entries[i]![0]);
      await store.close();
    });

    it('installState: replaces the content (state, block, no earlier data), commits go on top, a reopen loads the installed state', async () => {
      const cfg = c.make();
      const store = cfg.handle({});
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      await commitRange(store, fixture, 1, 20); // old content, replaced below
      const at = 50;
      let read = 0;
      const lazy = function* (): Generator<readonly [string, string]> {
        for (const e of fixture.stateAt[at]!) {
          read++;
          yield e;
        }
      };
      await store.installState({ genesisHash: fixture.genesisHash, block: fixture.commits[at - 1]!.block, entries: lazy(), accumulator: fixture.commits[at - 1]!.accumulator });
      assert.equal(read, fixture.stateAt[at]!.size);
      assert.equal(store.earliestBlockHeight(), at);
      assert.equal(store.earliestHeaderHeight(), at);
      assert.equal(store.getBlock(at - 1), undefined);
      assert.equal(store.getTx(fixture.txs[0]!.id), undefined, 'the old content is gone');
      assert.deepEqual(wire(store.getBlock(at)), wire(fixture.commits[at - 1]!.block));
      assert.deepEqual([...store.stateEntries()], sorted(fixture.stateAt[at]!));
      assert.deepEqual(store.getHeaders(1, 10).map((h) => h.header.height), [at], 'no header below the installed height: a read from 1 starts at it');
      assert.equal(store.getHeaders(at, 10).length, 1);
      await commitRange(store, fixture, at + 1, 60);
      assertQueries(store, at, 60);
      await store.close();

      const again = cfg.handle({});
      const loaded = again.open();
      assert.equal(loaded.genesisHash, fixture.genesisHash);
      assert.equal(loaded.height, 60);
      assert.ok(loaded.accumulator!.equals(fixture.commits[59]!.accumulator));
      assert.deepEqual(wire(loaded.latest), wire(fixture.commits[59]!.block));
      assert.equal(loaded.entries.length, fixture.stateAt[60]!.size);
      assert.equal(again.earliestBlockHeight(), at);
      assert.equal(again.earliestHeaderHeight(), at);
      assert.equal(again.getHeaders(at, 100).length, 60 - at + 1);
      assertQueries(again, at, 60);
      await commitRange(again, fixture, 61, 62);
      assert.equal(again.committed().height, 62);
      await again.close();
    });

    it('installState with earlier headers and whole blocks (a migration): every header, the given blocks, tx queries over them', async () => {
      const cfg = c.make();
      const store = cfg.handle({});
      store.open();
      const at = 40;
      const install: StateInstall = {
        genesisHash: fixture.genesisHash,
        block: fixture.commits[at - 1]!.block,
        entries: fixture.stateAt[at]!,
        accumulator: fixture.commits[at - 1]!.accumulator,
        headers: fixture.commits.slice(0, 29).map((x) => ({ header: x.block.block.header, hash: x.block.hash, commit: x.block.commit })),
        blocks: fixture.commits.slice(29, at - 1).map((x) => x.block),
      };
      await store.installState(install);
      assert.equal(store.earliestHeaderHeight(), 1);
      assert.equal(store.earliestBlockHeight(), 30);
      assert.equal(store.getHeaders(1, 100).length, at);
      assertQueries(store, 30, at);
      await commitRange(store, fixture, at + 1, 45);
      await store.close();
      const again = cfg.handle({});
      assert.equal(again.open().height, 45);
      assert.equal(again.getHeaders(1, 100).length, 45);
      assertQueries(again, 30, 45);
      await again.close();
    });

    it('installState that fails part-way (the entries cannot be read to the end) leaves the old content', async () => {
      const cfg = c.make();
      const store = cfg.handle({});
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      await commitRange(store, fixture, 1, 8);
      const failing = function* (): Generator<readonly [string, string]> {
        let n = 0;
        for (const e of fixture.stateAt[50]!) {
          if (++n > 3) throw new Error('source went away');
          yield e;
        }
      };
      await assert.rejects(store.installState({ genesisHash: fixture.genesisHash, block: fixture.commits[49]!.block, entries: failing(), accumulator: fixture.commits[49]!.accumulator }));
      assert.equal(store.committed().height, 8);
      assert.deepEqual([...store.stateEntries()], sorted(fixture.stateAt[8]!));
      await store.close();
      const again = cfg.handle({});
      assert.equal(again.open().height, 8);
      assert.equal(again.earliestBlockHeight(), 1);
      assertQueries(again, 1, 8);
      await again.close();
    });
  });
}

describe('snapshot store: an install a crash interrupted', () => {
  /** The files of a finished install at height 50 (with headers from 1 and blocks from 30), from a dir of their own. */
  async function installedFiles(): Promise<Record<string, Buffer>> {
    const dir = tempDir('prune-installed');
    const s = createChainStore('snapshot', dir);
    s.open();
    await s.installState({
      genesisHash: fixture.genesisHash,
      block: fixture.commits[49]!.block,
      entries: fixture.stateAt[50]!,
      accumulator: fixture.commits[49]!.accumulator,
      headers: fixture.commits.slice(0, 29).map((x) => ({ header: x.block.block.header, hash: x.block.hash, commit: x.block.commit })),
      blocks: fixture.commits.slice(29, 49).map((x) => x.block),
    });
    await s.close();
    return Object.fromEntries(['state.json', 'blocks.log', 'headers.log'].map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  }

  async function oldStore(): Promise<string> {
    const dir = tempDir('prune-old');
    const s = createChainStore('snapshot', dir);
    s.open();
    s.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
    await commitRange(s, fixture, 1, 7);
    await s.close();
    return dir;
  }

  it('before the commit point (state.json.install still there): the old content, the aside files removed', async () => {
    const files = await installedFiles();
    const dir = await oldStore();
    fs.writeFileSync(path.join(dir, 'state.json.install'), files['state.json']!);
    fs.writeFileSync(path.join(dir, 'headers.log.install'), files['headers.log']!);
    fs.writeFileSync(path.join(dir, 'blocks.log.install'), files['blocks.log']!.subarray(0, 100)); // half written
    const warnings: string[] = [];
    const s = createChainStore('snapshot', dir, { onWarning: (m) => warnings.push(m) });
    const loaded = s.open();
    assert.equal(loaded.height, 7);
    assert.equal(s.earliestBlockHeight(), 1);
    assert.ok(warnings.some((w) => w.includes('before it committed')));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['blocks.log', 'state.json']);
    await commitRange(s, fixture, 8, 9);
    await s.close();
  });

  it('after the commit point (state.json replaced, logs not yet moved): the new content, the logs moved into place', async () => {
    const files = await installedFiles();
    const dir = await oldStore();
    fs.writeFileSync(path.join(dir, 'state.json'), files['state.json']!);
    fs.writeFileSync(path.join(dir, 'headers.log.install'), files['headers.log']!);
    fs.writeFileSync(path.join(dir, 'blocks.log.install'), files['blocks.log']!);
    const warnings: string[] = [];
    const s = createChainStore('snapshot', dir, { onWarning: (m) => warnings.push(m) });
    const loaded = s.open();
    assert.equal(loaded.height, 50);
    assert.deepEqual(wire(loaded.latest), wire(fixture.commits[49]!.block));
    assert.equal(s.earliestBlockHeight(), 30);
    assert.equal(s.earliestHeaderHeight(), 1);
    assert.ok(warnings.some((w) => w.includes('after it committed')));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['blocks.log', 'headers.log', 'state.json']);
    await s.close();
  });

  it('a compaction a crash interrupted (headers appended, the log not replaced) is cut back on open; damage names the file', async () => {
    const dir = tempDir('prune-compact');
    const s = createChainStore('snapshot', dir, { pruneKeepBlocks: KEEP });
    s.open();
    s.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
    await commitRange(s, fixture, 1, 80); // one compaction (at 74 blocks)
    const earliest = s.earliestBlockHeight();
    await s.close();
    // What a crash after the header append and before the rename leaves: headers of heights the log still holds.
    const extra = fixture.commits.slice(earliest - 1, earliest + 2).map((x) => ({ header: x.block.block.header, hash: x.block.hash, commit: x.block.commit }));
    const { logLine } = await import('../../../src/storage/snapshot/blockLog.js');
    const { certifiedHeaderJson } = await import('../../../src/storage/snapshot/headerLog.js');
    fs.appendFileSync(path.join(dir, 'headers.log'), Buffer.concat(extra.map((h) => logLine(certifiedHeaderJson(h)))));
    fs.writeFileSync(path.join(dir, 'blocks.log.tmp'), 'partial copy');
    const warnings: string[] = [];
    const again = createChainStore('snapshot', dir, { pruneKeepBlocks: KEEP, onWarning: (m) => warnings.push(m) });
    assert.equal(again.open().height, 80);
    assert.ok(warnings.some((w) => w.includes('interrupted a compaction')));
    assert.equal(fs.existsSync(path.join(dir, 'blocks.log.tmp')), false);
    assertPruned(again, earliest, 80);
    await again.close();
    // A damaged header line is CORRUPT_DATA naming headers.log.
    const file = path.join(dir, 'headers.log');
    const buf = fs.readFileSync(file);
    buf[200] = buf[200] === 0x61 ? 0x62 : 0x61;
    fs.writeFileSync(file, buf);
    const damaged = createChainStore('snapshot', dir, { pruneKeepBlocks: KEEP });
    assert.throws(() => damaged.open(), (e: unknown) => isFastposError(e) && e.code === ErrorCode.CORRUPT_DATA && e.message.startsWith(file));
  });
});

describe('SQLite store: schema version 4', () => {
  it('migration: a version 3 file gets its headers table from the block rows and is switched to incremental auto-vacuum; pruning works on it', async () => {
    const dir = tempDir('prune-v3');
    const s = createChainStore('sqlite', dir, { writerThread: false });
    s.open();
    s.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
    await commitRange(s, fixture, 1, 20);
    await s.close();
    // Back to version 3: no headers table, and a file made without auto-vacuum (as version 3 made them).
    const db = new Database(path.join(dir, SQLITE_FILE));
    db.exec(`DROP TABLE headers; UPDATE meta SET value = 3 WHERE key = 'schema_version';`);
    db.pragma('auto_vacuum = NONE');
    db.exec('VACUUM');
    assert.equal(db.pragma('auto_vacuum', { simple: true }), 0);
    db.close();

    const up = createChainStore('sqlite', dir, { writerThread: false, pruneKeepBlocks: KEEP });
    assert.equal(up.open().height, 20);
    const check = new Database(path.join(dir, SQLITE_FILE), { readonly: true });
    assert.equal(check.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), SCHEMA_VERSION);
    assert.equal(SCHEMA_VERSION, 4);
    assert.equal(check.pragma('auto_vacuum', { simple: true }), 2);
    check.close();
    const headers = up.getHeaders(1, 100);
    assert.deepEqual(headers.map((h) => h.hash), fixture.commits.slice(0, 20).map((x) => x.block.hash));
    assert.deepEqual(headers.map((h) => h.commit), fixture.commits.slice(0, 20).map((x) => x.block.commit));
    await commitRange(up, fixture, 21, 90);
    assertPruned(up, up.earliestBlockHeight(), 90);
    await up.close();
  });

  it('a new file is created with incremental auto-vacuum', async () => {
    const dir = tempDir('prune-new');
    const s = createChainStore('sqlite', dir);
    s.open();
    await s.close();
    const db = new Database(path.join(dir, SQLITE_FILE), { readonly: true });
    assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
    db.close();
  });
});
