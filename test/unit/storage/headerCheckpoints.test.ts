// Header checkpoints of the SQLite store: with pruning, headers below the
// kept header window go too, but for each epoch's first; the rest of the
// store (getHeaders, reopen) works over the gaps (copies: migrate.test.ts), and the
// file does not keep a header per block.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createChainStore, type ChainStore } from '../../../src/storage/index.js';
import { buildChain, tempDir } from './fixtures.js';

const BLOCKS = 300;
const fixture = buildChain(BLOCKS, 1);
const OPTIONS = { pruneKeepBlocks: 50, headerKeepBlocks: 80, headerCheckpointEvery: 10 } as const;

async function filled(writerThread: boolean): Promise<{ store: ChainStore; dir: string }> {
  const dir = tempDir('checkpoints');
  const store = createChainStore('sqlite', dir, { ...OPTIONS, writerThread });
  store.open();
  store.initGenesis(fixture.genesisHash, fixture.genesisEntries, fixture.genesisAccumulator);
  for (const c of fixture.commits) await store.commitBlock(c);
  return { store, dir };
}

const heights = (store: ChainStore, from: number, limit: number): number[] => store.getHeaders(from, limit).map((h) => h.header.height);

for (const writerThread of [false, true]) {
  describe(`header checkpoints (sqlite, ${writerThread ? 'writer thread' : 'inline commits'})`, () => {
    it('behavior: below the header window only each epoch\'s first header is kept; within it every header; bodies as pruneKeepBlocks', async () => {
      const { store, dir } = await filled(writerThread);
      try {
        assert.equal(store.earliestBlockHeight(), BLOCKS - OPTIONS.pruneKeepBlocks + 1);
        assert.equal(store.earliestHeaderHeight(), 1);
        const all = heights(store, 1, 1000);
        const windowStart = BLOCKS - OPTIONS.headerKeepBlocks + 1;
        for (const h of all.filter((x) => x < windowStart)) assert.equal((h - 1) % OPTIONS.headerCheckpointEvery, 0, `header ${h} below the window is a checkpoint`);
        // The pruning of headers goes a bounded number of heights per commit: it has caught up after 300 commits.
        assert.deepEqual(all.filter((x) => x < windowStart), Array.from({ length: Math.ceil((windowStart - 1) / 10) }, (_, i) => 1 + 10 * i));
        assert.deepEqual(all.filter((x) => x >= windowStart), Array.from({ length: BLOCKS - windowStart + 1 }, (_, i) => windowStart + i));
        // A read from a gap starts at the next kept header.
        assert.deepEqual(heights(store, 2, 2), [11, 21]);
        await store.close();
        // Reopened: the same headers.
        const again = createChainStore('sqlite', dir, { ...OPTIONS, writerThread });
        again.open();
        assert.deepEqual(heights(again, 1, 1000), all);
        await again.close();
      } finally {
        await store.close().catch(() => undefined);
      }
    });
  });
}
