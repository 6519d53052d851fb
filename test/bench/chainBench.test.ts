/**
 * The chain scenario with tiny counts: the chain it commits is a real one
 * (the SQLite store reopens it, its state commitment and latest certificate
 * check out), the windows sit where they should, and a fixed seed gives the
 * same chain twice. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { runChainScenario, windowStarts } from '../../src/bench/chainBench.js';
import { verifyCommit } from '../../src/consensus/commit.js';
import { validatorSetForHeight } from '../../src/consensus/validatorSet.js';
import { DEFAULT_PARAMS } from '../../src/state/genesis.js';
import { WorldState } from '../../src/state/worldState.js';
import { createChainStore } from '../../src/storage/index.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-bench-chain-test-');
const BENCH = fileURLToPath(new URL('../../dist/bench/bench.js', import.meta.url));

describe('chain scenario', () => {
  test('default: window starts scale the reference heights 1,000, 10,000, 50,000, 100,000 and never overlap', () => {
    assert.deepEqual(windowStarts(100_000, 50), [1_000, 10_000, 50_000, 100_000]);
    assert.deepEqual(windowStarts(10_000, 50), [100, 1_000, 5_000, 10_000]);
    assert.deepEqual(windowStarts(200, 10), [2, 20, 100, 200]);
    // Overlapping windows are pushed back one after the other.
    assert.deepEqual(windowStarts(100, 10), [1, 11, 50, 100]);
  });

  test('behavior: --blocks 200 commits a real chain, reopened and checked from the store, the same for a fixed seed', async () => {
    const lines: string[] = [];
    const run = (dir: string, seed: string) =>
      runChainScenario({ blocks: 200, txsPerBlock: 20, window: 10, accounts: 2_000, seed, keep: false, dir, out: (l) => lines.push(l) });
    const dir = tmp();
    const report = await run(dir, '7');
    assert.equal(report.windows.length, 6);
    const chainWindows = report.windows.filter((w) => w.part === 'chain length');
    assert.deepEqual(chainWindows.map((w) => [w.from, w.to]), [[2, 11], [20, 29], [100, 109], [200, 209]]);
    for (const w of report.windows) assert.equal(w.txs, 200);
    const [empty, big] = report.windows.filter((w) => w.part === 'state size');
    // The big state holds the 2,000 extra accounts and the 20 senders; the empty one only what its warm-up blocks created.
    assert.ok(big!.stateEntries >= 2_020, String(big!.stateEntries));
    assert.ok(empty!.stateEntries < 200, String(empty!.stateEntries));
    assert.equal(report.stores[0]!.height, 209);

    for (const s of report.stores) {
      const store = createChainStore('sqlite', s.dir);
      try {
        const loaded = store.open();
        assert.equal(loaded.height, s.height);
        const state = WorldState.fromEntries(loaded.entries);
        assert.equal(state.stateRoot, s.stateRoot);
        assert.equal(loaded.latest!.block.header.stateRoot, s.stateRoot);
        const set = validatorSetForHeight(state, s.height, DEFAULT_PARAMS);
        verifyCommit({ chainId: loaded.latest!.block.header.chainId, set, commit: loaded.latest!.commit, height: s.height, blockHash: loaded.latest!.hash });
        // Every measured block of the chain-length store holds its transfers, every filler block none.
        if (s === report.stores[0]) {
          assert.equal(store.getBlock(2)!.block.txs.length, 20);
          assert.equal(store.getBlock(12)!.block.txs.length, 0);
          assert.equal(store.getBlock(209)!.block.txs.length, 20);
        }
      } finally {
        await store.close();
      }
    }
    assert.ok(lines.some((l) => l.startsWith('| chain length | 200–209 |')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('| state size |')));

    const again = await run(tmp(), '7');
    assert.deepEqual(again.stores.map((s) => s.stateRoot), report.stores.map((s) => s.stateRoot));
  });

  test('behavior: the command line runs the scenario and prints the table', () => {
    const r = spawnSync(process.execPath, [BENCH, '--scenario', 'chain', '--blocks', '50', '--window', '5', '--txs-per-block', '5', '--accounts', '0'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| chain length |'));
    assert.equal(rows.length, 4, r.stdout);
    assert.ok(!r.stdout.includes('| state size |'), '--accounts 0 runs no state-size part');
  });

  test('error: a zero window is refused', async () => {
    await assert.rejects(runChainScenario({ blocks: 10, txsPerBlock: 1, window: 0, accounts: 0, seed: '1', keep: false, dir: join(tmp(), 'x'), out: () => {} }), /--window/);
  });
});
