// copyChain: a real chain (executed blocks, LtHash state, certificates) copied
// SQLite → snapshot → SQLite, from a pruned source; the copies hold the same
// state root, headers and tx answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFinalizedBlock } from '../../../src/codec/block.js';
import { genesisEntries } from '../../../src/state/genesis.js';
import { WorldState } from '../../../src/state/worldState.js';
import { encodeStateValue } from '../../../src/codec/state.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { copyChain, createChainStore, type ChainStore, type ChainStoreOptions, type TxQuery } from '../../../src/storage/index.js';
import { TestChain } from '../../helpers/chain.js';
import { transfer } from '../../helpers/fixtures.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import { tempDir } from './fixtures.js';

const BLOCKS = 140;
const KEEP = 100;

async function sourceChain(options: ChainStoreOptions = { pruneKeepBlocks: KEEP }): Promise<{ store: ChainStore; chain: TestChain }> {
  const g = defaultDevnetGenesis();
  const genesis = { ...g, params: { ...g.params, epochLengthBlocks: 10 } };
  const chain = new TestChain(genesis);
  const store = createChainStore('sqlite', tempDir('copy-src'), options);
  store.open();
  const world = WorldState.fromEntries(genesisEntries(genesis));
  store.initGenesis(chain.tip.hash, new Map([...world.allEntries()].map(([k, v]) => [k, encodeStateValue(k, v)])), world.accumulatorBytes);
  const nonces = [0, 0, 0];
  for (let h = 1; h <= BLOCKS; h++) {
    const txs = [0, 1, 2].filter((i) => (h + i) % 2 === 0).map((i) => transfer({ from: i, to: devAccount((i + 1) % 3).address, amount: BigInt(h), nonce: nonces[i]!++ }));
    const b = chain.build(txs);
    const fb = chain.append(b, chain.certify(b.hash));
    await store.commitBlock({ block: fb, changes: b.diff.encoded, accumulator: b.diff.accumulator.toBytes() });
  }
  return { store, chain };
}

const QUERIES: TxQuery[] = [
  { order: 'asc', offset: 0, limit: 1000 },
  { order: 'desc', offset: 3, limit: 10 },
  { from: devAccount(1).address, order: 'asc', offset: 0, limit: 1000 },
  { fromHeight: 1, toHeight: 120, order: 'desc', offset: 0, limit: 1000 },
];

function assertSame(a: ChainStore, b: ChainStore): void {
  assert.equal(b.committed().height, a.committed().height);
  assert.ok(b.committed().accumulator!.equals(a.committed().accumulator!));
  assert.equal(b.earliestBlockHeight(), a.earliestBlockHeight());
  assert.equal(b.earliestHeaderHeight(), a.earliestHeaderHeight());
  assert.deepEqual(b.getHeaders(1, 1000), a.getHeaders(1, 1000));
  assert.deepEqual([...b.stateEntries()], [...a.stateEntries()]);
  for (const q of QUERIES) assert.deepEqual(b.queryTxs(q), a.queryTxs(q));
  const h = a.committed().height;
  assert.deepEqual(encodeFinalizedBlock(b.getBlock(h)!), encodeFinalizedBlock(a.getBlock(h)!));
}

describe('copyChain', () => {
  it('copies sqlite → snapshot → sqlite: equal state roots, headers, kept blocks and tx queries', async () => {
    const { store: src, chain } = await sourceChain();
    assert.ok(src.earliestBlockHeight() > 1, 'the source is pruned');
    const snap = createChainStore('snapshot', tempDir('copy-snap'));
    snap.open();
    const progress: string[] = [];
    const first = await copyChain(src, snap, (p) => progress.push(p.phase));
    assert.equal(first.result.height, BLOCKS);
    assert.equal(first.result.stateRoot, chain.state.stateRoot);
    assert.equal(WorldState.fromEntries(first.reopened.entries).stateRoot, chain.state.stateRoot);
    assert.equal(first.result.headers, src.earliestBlockHeight() - 1);
    assertSame(src, snap);

    const back = createChainStore('sqlite', tempDir('copy-back'));
    back.open();
    const second = await copyChain(snap, back);
    assert.equal(WorldState.fromEntries(second.reopened.entries).stateRoot, chain.state.stateRoot);
    assertSame(src, back);
    // The copy goes on like the source would.
    const b = chain.build([transfer({ from: 5, to: devAccount(6).address, amount: 1n, nonce: 0 })]);
    const fb = chain.append(b, chain.certify(b.hash));
    await back.commitBlock({ block: fb, changes: b.diff.encoded, accumulator: b.diff.accumulator.toBytes() });
    assert.equal(back.committed().height, BLOCKS + 1);
    for (const s of [src, snap, back]) await s.close();
  });

  it('copies a source whose old headers are checkpoints only (each epoch\'s first) to snapshot files and back: the same sparse headers, state and blocks', async () => {
    const { store: src } = await sourceChain({ pruneKeepBlocks: 20, headerKeepBlocks: 30, headerCheckpointEvery: 10 });
    const held = src.getHeaders(1, 1000).map((h) => h.header.height);
    assert.ok(held.includes(1) && held.includes(101) && !held.includes(2), `sparse headers below the window (${held.slice(0, 12).join(',')}…)`);
    const snapDir = tempDir('copy-sparse-snap');
    const snap = createChainStore('snapshot', snapDir);
    snap.open();
    await copyChain(src, snap);
    assertSame(src, snap);
    await snap.close();
    const back = createChainStore('sqlite', tempDir('copy-sparse-back'));
    back.open();
    // Reopened: the header log with its gaps reads back.
    const snapAgain = createChainStore('snapshot', snapDir);
    snapAgain.open();
    assertSame(src, snapAgain);
    await copyChain(snapAgain, back);
    assertSame(src, back);
    await Promise.all([src.close(), snapAgain.close(), back.close()]);
  });

  it('error: a source without blocks is refused', async () => {
    const src = createChainStore('sqlite', tempDir('copy-empty'));
    src.open();
    const dst = createChainStore('snapshot', tempDir('copy-empty-dst'));
    dst.open();
    await assert.rejects(copyChain(src, dst), (e: unknown) => (e as { code?: string }).code === 'INVALID_REQUEST');
    await src.close();
    await dst.close();
  });
});
