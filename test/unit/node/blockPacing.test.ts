/**
 * Block pacing: blocks are sized by time and bytes. A full pool proposes at
 * once; otherwise the interval's floor (solo or network) applies, stretched
 * by the arrival rate up to its cap; an empty pool waits the idle interval.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blockInterval, nextArrivalRate, proposalInterval, type PacingOptions } from '../../../src/node/blockPacing.js';

const opts: PacingOptions = { minBlockIntervalMs: 75, idleBlockIntervalMs: 1000, soloBlockIntervalMs: 5, blockIntervalPerKtps: 8, maxBlockIntervalMs: 60 };
const limits = { maxBlockTxs: 2000, maxBlockBytes: 1_048_576 };

describe('block pacing', () => {
  it('default: an empty pool waits the idle interval; a pool holding a full block (txs or bytes) proposes at once', () => {
    assert.equal(proposalInterval(opts, { txs: 0, bytes: 0 }, limits, false, 5), 1000);
    assert.equal(proposalInterval(opts, { txs: 2000, bytes: 800_000 }, limits, false, 5), 0);
    assert.equal(proposalInterval(opts, { txs: 10, bytes: 1_048_576 }, limits, true, 0), 0);
  });

  it('default: the floor is soloBlockIntervalMs when this node alone holds a quorum, else minBlockIntervalMs', () => {
    assert.equal(blockInterval(opts, true, 0), 5);
    assert.equal(blockInterval(opts, false, 0), 75);
    assert.equal(blockInterval({ minBlockIntervalMs: 75, idleBlockIntervalMs: 1000 }, true, 0), 75, 'no solo floor: the network floor');
  });

  it('behavior: the interval grows with the arrival rate (8 ms per 1,000 tx/s) up to maxBlockIntervalMs; a longer floor still applies', () => {
    assert.equal(blockInterval(opts, true, 0.5), 5, '500 tx/s: 4 ms is under the floor');
    assert.equal(blockInterval(opts, true, 2.5), 20, '2,500 tx/s');
    assert.equal(blockInterval(opts, true, 5), 40, '5,000 tx/s');
    assert.equal(blockInterval(opts, true, 20), 60, 'capped');
    assert.equal(blockInterval(opts, false, 5), 75, 'the network floor (75) is above the load interval');
    assert.equal(blockInterval({ ...opts, blockIntervalPerKtps: 0 }, true, 20), 5, 'off');
  });

  it('property: the interval lies between its floor and max(floor, cap), and never shrinks as the rate grows', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), (solo, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const floor = solo ? 5 : 75;
        const x = blockInterval(opts, solo, lo);
        const y = blockInterval(opts, solo, hi);
        assert.ok(x >= floor && x <= Math.max(floor, 60));
        assert.ok(y >= x);
      }),
      { seed: 16, numRuns: 500 },
    );
  });

  it('behavior: the arrival rate starts at the first height\'s rate and then moves 30% of the way to each new one', () => {
    let r = nextArrivalRate(0, 100, 50);
    assert.equal(r, 2);
    r = nextArrivalRate(r, 0, 100);
    assert.ok(Math.abs(r - 1.4) < 1e-9);
    assert.equal(nextArrivalRate(r, 5, 0), r, 'no time elapsed: unchanged');
  });
});
