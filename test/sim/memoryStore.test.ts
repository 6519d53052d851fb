/**
 * The in-memory ChainStore the simulation runs its nodes on: the same
 * behaviour as the file backends (test/unit/storage/chainStore.test.ts, with
 * the same fixture chain), atomic commits, and the injected faults (a failed
 * write, a crash before the block is durable).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFinalizedBlock } from '../../src/codec/block.js';
import { encodeStateValue } from '../../src/codec/state.js';
import { MemoryChainStore, MemoryDisk } from '../../src/storage/memory.js';
import type { ChainStore, LoadedChain, TxQuery } from '../../src/storage/types.js';
import type { FinalizedBlock } from '../../src/types/index.js';
import { buildChain, expectedQuery, recordOf, type ChainFixture } from '../unit/storage/fixtures.js';

const fixture = buildChain(6, 7);
const wire = (fb: FinalizedBlock | null | undefined): unknown => (fb == null ? fb : encodeFinalizedBlock(fb));
const sorted = (m: Map<string, string>): [string, string][] => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
const encoded = (l: LoadedChain): [string, string][] => l.entries.map(([k, v]): [string, string] => [k, encodeStateValue(k, v)]).sort(([a], [b]) => (a < b ? -1 : 1));

function assertLoaded(l: LoadedChain, f: ChainFixture, height: number): void {
  assert.equal(l.genesisHash, f.genesisHash);
  assert.equal(l.height, height);
  assert.deepEqual(encoded(l), sorted(f.stateAt[height]!));
  assert.ok(l.accumulator!.equals(height === 0 ? f.genesisAccumulator : f.commits[height - 1]!.accumulator));
  assert.deepEqual(wire(l.latest), height === 0 ? null : wire(f.commits[height - 1]!.block));
}

async function written(disk = new MemoryDisk(), upTo = fixture.commits.length): Promise<MemoryDisk> {
  const s = new MemoryChainStore(disk);
  s.open();
  s.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
  for (const c of fixture.commits.slice(0, upTo)) await s.commitBlock(c);
  await s.close();
  return disk;
}

function reopened(disk: MemoryDisk): { store: ChainStore; loaded: LoadedChain } {
  const store = new MemoryChainStore(disk);
  return { store, loaded: store.open() };
}

describe('MemoryChainStore', () => {
  it('default: a new disk opens empty; genesis and blocks survive the handle (a restart)', async () => {
    const { loaded } = reopened(new MemoryDisk());
    assert.deepEqual(loaded, { genesisHash: null, height: 0, entries: [], accumulator: null, latest: null });
    const disk = await written(new MemoryDisk(), 0);
    assertLoaded(reopened(disk).loaded, fixture, 0);
    const second = reopened(disk).store;
    assert.throws(() => second.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator), /already has a genesis/);
    const all = await written();
    assertLoaded(reopened(all).loaded, fixture, 6);
  });

  it('reads: blocks, wire JSON, txs and every query as the file backends answer them', async () => {
    const { store } = reopened(await written());
    for (const c of fixture.commits) assert.deepEqual(wire(store.getBlock(c.block.block.header.height)), wire(c.block));
    assert.equal(store.getBlock(0), undefined);
    assert.equal(store.getBlock(7), undefined);
    assert.deepEqual(store.getBlocks(2, 3).map((b) => b.block.header.height), [2, 3, 4]);
    assert.deepEqual(store.getBlocks(0, 2).map((b) => b.block.header.height), [1, 2]);
    assert.deepEqual(store.getBlocksJson(5, 10).map((j) => (JSON.parse(j) as { header: { height: number } }).header.height), [5, 6]);
    for (const t of fixture.txs) assert.deepEqual({ ...store.getTx(t.id) }, recordOf(t));
    assert.equal(store.getTx('0'.repeat(64)), undefined);
    const [a, b] = fixture.senders;
    const filters: Omit<TxQuery, 'offset' | 'limit' | 'order'>[] = [
      {},
      { from: a! },
      { to: fixture.newcomer },
      { address: b! },
      { kind: 'transfer' },
      { kind: 'validator_bond' },
      { success: false },
      { fromHeight: 2, toHeight: 4 },
      { from: a!, success: true, fromHeight: 2 },
    ];
    for (const f of filters) {
      for (const order of ['asc', 'desc'] as const) {
        for (const [offset, limit] of [[0, 1000], [3, 2], [0, 0], [1000, 10]] as const) {
          const q: TxQuery = { ...f, offset, limit, order };
          const want = expectedQuery(fixture.txs, q);
          const got = store.queryTxs(q);
          assert.equal(got.total, want.total, JSON.stringify(q));
          assert.deepEqual(got.items.map((r) => r.id), want.ids, JSON.stringify(q));
        }
      }
    }
    assert.throws(() => store.queryTxs({ offset: -1, limit: 1, order: 'asc' }), { code: 'INVALID_REQUEST' });
  });

  it('error: a block that does not extend the stored height is refused', async () => {
    const disk = await written(new MemoryDisk(), 2);
    const { store } = reopened(disk);
    await assert.rejects(store.commitBlock(fixture.commits[4]!));
    assert.equal(disk.height, 2);
  });

  it('behavior: a failed write stores nothing and the handle refuses further commits until the disk is opened again', async () => {
    const disk = await written(new MemoryDisk(), 2);
    let fail = true;
    const store = new MemoryChainStore(disk, { beforeDurable: () => (fail ? Promise.reject(new Error('disk full')) : undefined) });
    store.open();
    await assert.rejects(store.commitBlock(fixture.commits[2]!), /disk full/);
    fail = false;
    await assert.rejects(store.commitBlock(fixture.commits[2]!), /earlier commit failed/);
    assertLoaded(reopened(disk).loaded, fixture, 2);
    const again = new MemoryChainStore(disk);
    again.open();
    await again.commitBlock(fixture.commits[2]!);
    assertLoaded(reopened(disk).loaded, fixture, 3);
  });

  it('behavior: a crash while a block waits to become durable loses the block (a torn write), never half of it', async () => {
    const disk = await written(new MemoryDisk(), 3);
    let land: () => void = () => undefined;
    const store = new MemoryChainStore(disk, { beforeDurable: () => new Promise<void>((r) => (land = r)) });
    store.open();
    const p = store.commitBlock(fixture.commits[3]!);
    store.crash();
    land();
    await assert.rejects(p, /crashed/);
    assertLoaded(reopened(disk).loaded, fixture, 3);
    assert.throws(() => store.getBlock(1), /crashed/);
  });

  it('behavior: one commit at a time; close waits for the one in flight', async () => {
    const disk = await written(new MemoryDisk(), 1);
    let land: () => void = () => undefined;
    const store = new MemoryChainStore(disk, { beforeDurable: () => new Promise<void>((r) => (land = r)) });
    store.open();
    const first = store.commitBlock(fixture.commits[1]!);
    await assert.rejects(store.commitBlock(fixture.commits[2]!), /one commit at a time/);
    const closed = store.close();
    land();
    await first;
    await closed;
    assert.equal(disk.height, 2);
  });

  it('backup copies the disk as it is; a second backup into the same name is refused', async () => {
    const disk = await written();
    const { store } = reopened(disk);
    await store.backup('b1');
    assertLoaded(reopened(disk.backups.get('b1')!).loaded, fixture, 6);
    await assert.rejects(store.backup('b1'), { code: 'INVALID_REQUEST' });
  });
});
