// Behaviour every ChainStore backend must share: the same suite runs over
// SQLite (with its writer thread, the default, and with inline commits) and
// snapshot files, on real files in temp dirs; the finalized-tx queries also
// over the in-memory store the simulation runs, all against one model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeFinalizedBlock } from '../../../src/codec/block.js';
import { encodeStateValue } from '../../../src/codec/state.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { createChainStore, type ChainStore, type ChainStoreOptions, type LoadedChain, type StorageBackend, type TxQuery } from '../../../src/storage/index.js';
import { MemoryChainStore, MemoryDisk } from '../../../src/storage/memory.js';
import type { FinalizedBlock } from '../../../src/types/index.js';
import { blockTime, buildChain, expectedQuery, recordOf, tempDir, type ChainFixture } from './fixtures.js';

/** Each configuration the suite runs over: a backend and the options it is created with. */
const CONFIGS: readonly { readonly name: string; readonly backend: StorageBackend; readonly options: ChainStoreOptions }[] = [
  { name: 'sqlite, writer thread', backend: 'sqlite', options: {} },
  { name: 'sqlite, inline commits', backend: 'sqlite', options: { writerThread: false } },
  { name: 'snapshot', backend: 'snapshot', options: {} },
];
const BLOCKS = 6;
const TXS_PER_BLOCK = 7;

const wire = (fb: FinalizedBlock | null | undefined): unknown => (fb == null ? fb : encodeFinalizedBlock(fb));

/** Entries of a LoadedChain re-encoded to canonical JSON, sorted, for comparison with the model. */
function encodedEntries(l: LoadedChain): [string, string][] {
  return l.entries.map(([k, v]): [string, string] => [k, encodeStateValue(k, v)]).sort(([a], [b]) => (a < b ? -1 : 1));
}
const sortedModel = (m: Map<string, string>): [string, string][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

function assertLoaded(l: LoadedChain, f: ChainFixture, height: number): void {
  assert.equal(l.genesisHash, f.genesisHash);
  assert.equal(l.height, height);
  assert.deepEqual(encodedEntries(l), sortedModel(f.stateAt[height]!));
  assert.ok(l.accumulator !== null);
  assert.ok(l.accumulator.equals(height === 0 ? f.genesisAccumulator : f.commits[height - 1]!.accumulator));
  if (height === 0) assert.equal(l.latest, null);
  else assert.deepEqual(wire(l.latest), wire(f.commits[height - 1]!.block));
}

async function writeChain(store: ChainStore, f: ChainFixture, upTo = f.commits.length): Promise<void> {
  store.initGenesis(f.genesisHash, f.genesisEntries, f.genesisAccumulator);
  for (const c of f.commits.slice(0, upTo)) await store.commitBlock(c);
}

const fixture = buildChain(BLOCKS, TXS_PER_BLOCK);

type Filter = Omit<TxQuery, 'offset' | 'limit' | 'order'>;
const [a, b] = fixture.senders;
const V = fixture.validators;
const T = blockTime;
/** Every filter and combination the stores must answer like the model, by name. */
const QUERIES: [string, Filter][] = [
  ['no filter', {}],
  ['from', { from: a! }],
  ['to', { to: fixture.newcomer }],
  ['to (a sender that also receives)', { to: b! }],
  ['address', { address: b! }],
  ['address of a receive-only account', { address: fixture.newcomer }],
  ['kind transfer', { kind: 'transfer' }],
  ['kind validator_bond', { kind: 'validator_bond' }],
  ['kind without txs', { kind: 'validator_jail' }],
  ['success true', { success: true }],
  ['success false', { success: false }],
  ['fromHeight', { fromHeight: 3 }],
  ['toHeight', { toHeight: 2 }],
  ['height range', { fromHeight: 2, toHeight: 4 }],
  ['empty height range', { fromHeight: 5, toHeight: 4 }],
  ['heights beyond the chain', { fromHeight: 0, toHeight: 1000 }],
  ['fromHeight beyond the chain', { fromHeight: BLOCKS + 1 }],
  ['combined', { from: a!, success: true, fromHeight: 2 }],
  ['from and to', { from: a!, to: b! }],
  ['unknown address', { address: 'f'.repeat(40) }],
  ['validatorId: the genesis validator (a delegation, an unjail)', { validatorId: V.genesis }],
  ['validatorId: a bonded key', { validatorId: V.bonded }],
  ['validatorId: named by slash evidence', { validatorId: V.slashed }],
  ['validatorId of an account that only gets transfers', { validatorId: b! }],
  ['validatorId and kind', { validatorId: V.genesis, kind: 'validator_unjail' }],
  ['validatorId and from', { validatorId: V.genesis, from: fixture.senders[2]! }],
  ['minFee', { minFee: 10n }],
  ['maxFee', { maxFee: 9n }],
  ['fee range', { minFee: 9n, maxFee: 25n }],
  ['fee range compared as numbers (25 < 100, "25" > "100")', { minFee: 25n, maxFee: 100n }],
  ['minFee 0', { minFee: 0n }],
  ['empty fee range', { minFee: 11n, maxFee: 10n }],
  ['minFee above every fee', { minFee: 10n ** 38n }],
  ['fee and from', { from: a!, minFee: 10n }],
  ['fee and address', { address: b!, maxFee: 9n }],
  ['fee and failed', { success: false, minFee: 10n }],
  ['fee and validator', { validatorId: V.genesis, minFee: 10n }],
  ['fromTime', { fromTime: T(3) }],
  ['toTime', { toTime: T(2) }],
  ['time window of one block', { fromTime: T(3), toTime: T(3) }],
  ['time window between timestamps', { fromTime: T(2) + 1, toTime: T(4) - 1 }],
  ['time window with no block in it', { fromTime: T(2) + 1, toTime: T(3) - 1 }],
  ['time before the chain', { toTime: T(1) - 1 }],
  ['time after the chain', { fromTime: T(BLOCKS) + 1 }],
  ['time window around the chain', { fromTime: 0, toTime: T(BLOCKS) + 1_000_000 }],
  ['time and heights', { fromTime: T(2), toHeight: 4 }],
  ['time and heights that do not meet', { fromTime: T(4), toHeight: 3 }],
  ['time, fee and address', { address: b!, minFee: 10n, fromTime: T(2) }],
];
/** [offset, limit] pairs every query is paged with. */
const PAGES = [
  [0, 1000],
  [0, 5],
  [5, 5],
  [3, 2],
  [0, 0],
  [1, 1],
  [1000, 10],
] as const;

/** Asserts that `store` answers every query like the model, in both orders and on every page. */
function assertQueryAnswers(store: ChainStore, filter: Filter): void {
  for (const order of ['asc', 'desc'] as const) {
    const total = expectedQuery(fixture.txs, { ...filter, offset: 0, limit: 0, order }).total;
    for (const [offset, limit] of [...PAGES, [Math.max(0, total - 1), 5], [total, 5], [Math.max(0, total - 3), 2]] as const) {
      const q: TxQuery = { ...filter, offset, limit, order };
      const want = expectedQuery(fixture.txs, q);
      const got = store.queryTxs(q);
      assert.equal(got.total, want.total, `total of ${show(q)}`);
      assert.deepEqual(
        got.items.map((r) => r.id),
        want.ids,
        `items of ${show(q)}`,
      );
    }
  }
}
const show = (q: TxQuery): string => JSON.stringify(q, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

for (const { name, backend, options } of CONFIGS) {
  /** A store of this configuration's backend and options. */
  const create = (dir: string): ChainStore => createChainStore(backend, dir, options);

  describe(`ChainStore (${name})`, () => {
    const dirs: string[] = [];
    const newDir = (): string => {
      const d = tempDir(backend);
      dirs.push(d);
      return d;
    };
    after(() => {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    it('opens a new, empty store (and creates the data dir)', async () => {
      const dir = path.join(newDir(), 'nested', 'data');
      const store = create(dir);
      assert.equal(store.backend, backend);
      const l = store.open();
      assert.deepEqual(l, { genesisHash: null, height: 0, entries: [], accumulator: null, latest: null });
      assert.equal(store.getBlock(1), undefined);
      assert.deepEqual(store.getBlocks(1, 10), []);
      assert.deepEqual(store.queryTxs({ offset: 0, limit: 10, order: 'desc' }), { total: 0, items: [] });
      await store.close();
      // Still empty after a reopen.
      const again = create(dir);
      assert.equal(again.open().genesisHash, null);
      await again.close();
    });

    it('records genesis and reopens at height 0', async () => {
      const dir = newDir();
      const store = create(dir);
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      await store.close();
      const reopened = create(dir);
      assertLoaded(reopened.open(), fixture, 0);
      await reopened.close();
    });

    it('commits blocks and reopens at the same height, block, state and accumulator', async () => {
      const dir = newDir();
      const store = create(dir);
      store.open();
      await writeChain(store, fixture, BLOCKS - 1);
      await store.close();

      const second = create(dir);
      assertLoaded(second.open(), fixture, BLOCKS - 1);
      // Commits go on after a reopen.
      await second.commitBlock(fixture.commits[BLOCKS - 1]!);
      await second.close();

      const third = create(dir);
      assertLoaded(third.open(), fixture, BLOCKS);
      await third.close();
    });

    it('rejects a block that does not extend the stored height', async () => {
      const store = create(newDir());
      store.open();
      store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
      await assert.rejects(store.commitBlock(fixture.commits[1]!), /height 2 on top of 0/);
      await store.close();
    });

    describe('reads', () => {
      let dir: string;
      let store: ChainStore;
      before(async () => {
        dir = newDir();
        const w = create(dir);
        w.open();
        await writeChain(w, fixture);
        await w.close();
        store = create(dir);
        store.open();
      });
      after(() => store.close());

      it('getBlock returns each block, undefined outside the chain', () => {
        for (const c of fixture.commits) assert.deepEqual(wire(store.getBlock(c.block.block.header.height)), wire(c.block));
        assert.equal(store.getBlock(0), undefined);
        assert.equal(store.getBlock(BLOCKS + 1), undefined);
      });

      it('getBlocks pages upward from a height', () => {
        const heights = (bs: FinalizedBlock[]): number[] => bs.map((b) => b.block.header.height);
        assert.deepEqual(heights(store.getBlocks(2, 3)), [2, 3, 4]);
        assert.deepEqual(heights(store.getBlocks(BLOCKS - 1, 10)), [BLOCKS - 1, BLOCKS]);
        assert.deepEqual(heights(store.getBlocks(0, 2)), [1, 2]);
        assert.deepEqual(store.getBlocks(1, 0), []);
        assert.deepEqual(store.getBlocks(BLOCKS + 1, 5), []);
        assert.deepEqual(wire(store.getBlocks(3, 1)[0]), wire(fixture.commits[2]!.block));
      });

      it('getBlocksJson pages upward, bounded in characters (the first block always included)', () => {
        const heights = (rows: string[]): number[] => rows.map((r) => (JSON.parse(r) as { header: { height: number } }).header.height);
        const all = store.getBlocksJson(1, BLOCKS);
        assert.deepEqual(heights(all), Array.from({ length: BLOCKS }, (_, i) => i + 1));
        const two = all[0]!.length + all[1]!.length;
        assert.deepEqual(heights(store.getBlocksJson(1, BLOCKS, two)), [1, 2]);
        assert.deepEqual(heights(store.getBlocksJson(1, BLOCKS, two - 1)), [1]);
        assert.deepEqual(heights(store.getBlocksJson(2, BLOCKS, 1)), [2], 'one block even when it alone is over the bound');
      });

      it('getTx returns the wire tx, its position, block hash and result', () => {
        for (const t of fixture.txs) assert.deepEqual({ ...store.getTx(t.id) }, recordOf(t));
        const failed = fixture.txs.find((t) => !t.result.success)!;
        assert.deepEqual(store.getTx(failed.id)!.result, { success: false, error: 'INSUFFICIENT_FUNDS' });
        assert.equal(store.getTx('0'.repeat(64)), undefined);
      });

      for (const [name, filter] of QUERIES) {
        it(`queryTxs: ${name}, both orders, paged`, () => assertQueryAnswers(store, filter));
      }

      it('queryTxs items are full records', () => {
        const got = store.queryTxs({ address: fixture.newcomer, offset: 1, limit: 4, order: 'desc' });
        const byId = new Map(fixture.txs.map((t) => [t.id, t]));
        assert.equal(got.items.length, 4);
        for (const r of got.items) assert.deepEqual({ ...r }, recordOf(byId.get(r.id)!));
      });

      it('the model has the variety the filters need', () => {
        const count = (f: Filter): number => expectedQuery(fixture.txs, { ...f, offset: 0, limit: 0, order: 'asc' }).total;
        assert.ok(count({ success: false }) > 0);
        assert.ok(count({ to: fixture.newcomer }) > 5);
        for (const v of Object.values(V)) assert.ok(count({ validatorId: v }) > 0, v);
        assert.ok(count({ validatorId: V.genesis }) > count({ validatorId: V.genesis, kind: 'delegation_delegate' }));
        assert.ok(count({ minFee: 25n, maxFee: 100n }) > 0 && count({ minFee: 25n, maxFee: 100n }) < count({}));
        assert.ok(count({ fromTime: T(3), toTime: T(3) }) > 0);
      });

      it('backs up into an empty dir; the backup opens with the same chain', async () => {
        const target = path.join(newDir(), 'backup');
        await store.backup(target);
        const copy = create(target);
        assertLoaded(copy.open(), fixture, BLOCKS);
        assert.deepEqual(wire(copy.getBlock(2)), wire(fixture.commits[1]!.block));
        assert.deepEqual({ ...copy.getTx(fixture.txs[3]!.id) }, recordOf(fixture.txs[3]!));
        await copy.close();
      });

      it('refuses to back up into a non-empty dir', async () => {
        const target = newDir();
        fs.writeFileSync(path.join(target, 'something'), 'x');
        await assert.rejects(store.backup(target), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INVALID_REQUEST);
      });
    });

    it('a backup taken while blocks are committed is consistent', async () => {
      const dir = newDir();
      const store = create(dir);
      store.open();
      await writeChain(store, fixture, 3);
      const target = path.join(newDir(), 'backup');
      const pending = store.backup(target);
      const committed = store.commitBlock(fixture.commits[3]!); // during the backup
      await Promise.all([pending, committed]);
      await store.close();
      const copy = create(target);
      const l = copy.open();
      // SQLite's backup restarts on writes and may include the new block; the
      // snapshot copy is taken before it. Either way: a consistent height.
      assert.ok(l.height === 3 || l.height === 4, `height ${l.height}`);
      assertLoaded(l, fixture, l.height);
      await copy.close();
    });
  });
}

describe('MemoryChainStore: the same queries as the file backends', () => {
  const store = new MemoryChainStore(new MemoryDisk());
  before(async () => {
    store.open();
    await writeChain(store, fixture);
  });
  after(() => store.close());

  for (const [name, filter] of QUERIES) {
    it(`queryTxs: ${name}, both orders, paged`, () => assertQueryAnswers(store, filter));
  }

  it('queryTxs items are full records', () => {
    const byId = new Map(fixture.txs.map((t) => [t.id, t]));
    for (const r of store.queryTxs({ validatorId: V.genesis, offset: 0, limit: 100, order: 'asc' }).items) assert.deepEqual({ ...r }, recordOf(byId.get(r.id)!));
  });

  it('a copy (backup) of the disk answers the same', async () => {
    await store.backup('copy');
    const copy = new MemoryChainStore(store.disk.backups.get('copy')!);
    copy.open();
    for (const [, filter] of QUERIES.slice(0, 30)) assertQueryAnswers(copy, filter);
    await copy.close();
  });
});
