/**
 * What the overload scenario sends next (src/bench/overloadFeed.ts): one tx
 * out per sender, fresh txs round-robin in nonce order, a tx refused with
 * MEMPOOL_FULL sent again after its backoff and at most `retries` times, a
 * sender stopped once the client gives up on one of its txs. The time is
 * passed in: no clock is read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Body } from '../../../src/bench/benchNodes.js';
import { backoffMs, OverloadFeed, POOL_FULL } from '../../../src/bench/overloadFeed.js';

/** `senders` senders with `per` txs each, keys `s<i>/<nonce>`. */
function bodies(senders: number, per: number): Body[][] {
  return Array.from({ length: senders }, (_, s) => Array.from({ length: per }, (_, n) => ({ key: `s${s}/${n}`, sender: s, json: '{}' })));
}
const keys = (d: readonly { body: Body }[]): string[] => d.map((x) => x.body.key);

describe('overload feed', () => {
  it('default: fresh txs go round-robin over the senders, one out per sender, the next nonce once the last was admitted', () => {
    const feed = new OverloadFeed(bodies(3, 2), 5);
    const first = feed.draw(10, 0);
    assert.deepEqual(keys(first), ['s0/0', 's1/0', 's2/0']);
    // Every sender has a tx out: nothing more to send.
    assert.deepEqual(feed.draw(10, 0), []);
    feed.settle(first[1]!, null, 1);
    assert.deepEqual(keys(feed.draw(10, 1)), ['s1/1']);
    assert.equal(feed.counts.admitted, 1);
    assert.equal(feed.counts.sends, 4);
  });

  it('behavior: a MEMPOOL_FULL tx is sent again after its backoff, before fresh txs, and its sender waits meanwhile', () => {
    const feed = new OverloadFeed(bodies(2, 3), 5);
    const [a, b] = feed.draw(2, 0);
    feed.settle(a!, POOL_FULL, 100);
    feed.settle(b!, null, 100);
    assert.equal(feed.nextDue(), 100 + backoffMs(1));
    // Before the backoff: only sender 1's next tx; sender 0 waits for its refused one.
    assert.deepEqual(keys(feed.draw(10, 120)), ['s1/1']);
    assert.deepEqual(feed.draw(10, 149), []);
    const again = feed.draw(10, 150);
    assert.deepEqual(keys(again), ['s0/0']);
    assert.equal(again[0]!.attempt, 1);
    feed.settle(again[0]!, null, 160);
    assert.deepEqual(keys(feed.draw(10, 160)), ['s0/1']);
    assert.equal(feed.counts.poolFull, 1);
    assert.equal(feed.counts.resends, 1);
  });

  it('behavior: backoff doubles from 50 ms and stays at 1 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map(backoffMs), [50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('behavior: after `retries` sends again the tx is given up and its sender stops', () => {
    const feed = new OverloadFeed(bodies(1, 3), 2);
    let now = 0;
    let d = feed.draw(1, now);
    for (let attempt = 0; attempt <= 2; attempt++) {
      assert.equal(d[0]!.attempt, attempt);
      feed.settle(d[0]!, POOL_FULL, now);
      now += 2000;
      d = feed.draw(1, now);
    }
    assert.deepEqual(d, []);
    assert.equal(feed.counts.givenUp, 1);
    assert.equal(feed.counts.poolFull, 3);
    assert.ok(feed.finished());
  });

  it('behavior: another refusal is counted by code, not sent again, and stops the sender', () => {
    const feed = new OverloadFeed(bodies(1, 2), 3);
    feed.settle(feed.draw(1, 0)[0]!, 'INSUFFICIENT_FUNDS', 0);
    assert.deepEqual(feed.draw(5, 10_000), []);
    assert.deepEqual([...feed.counts.otherRefusals], [['INSUFFICIENT_FUNDS', 1]]);
    assert.ok(feed.finished());
  });

  it('behavior: finished only once nothing is out, nothing waits and every fresh tx was sent', () => {
    const feed = new OverloadFeed(bodies(2, 1), 3);
    assert.ok(!feed.finished());
    const d = feed.draw(5, 0);
    assert.ok(!feed.finished());
    feed.settle(d[0]!, null, 0);
    feed.settle(d[1]!, POOL_FULL, 0);
    assert.ok(!feed.finished());
    feed.settle(feed.draw(5, 1000)[0]!, null, 1000);
    assert.ok(feed.finished());
    assert.equal(feed.counts.admitted, 2);
  });
});
