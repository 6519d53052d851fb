import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LTHASH_LANES, LtHash, ltElement } from '../../../src/state/ltHash.js';

describe('LtHash16', () => {
  it('behavior: lane-wise add and remove are sums mod 2^16 (checked against a plain loop)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.string()), { maxLength: 20 }), (ops) => {
        const h = new LtHash();
        const ref = new Array<number>(LTHASH_LANES).fill(0);
        for (const [add, s] of ops) {
          const e = ltElement('k', s);
          if (add) h.add(e);
          else h.remove(e);
          for (let i = 0; i < LTHASH_LANES; i++) ref[i] = (ref[i]! + (add ? e[i]! : 65536 - e[i]!)) % 65536;
        }
        assert.deepEqual(Array.from(h.lanes), ref);
      }),
      { numRuns: 60 },
    );
  });
  it('behavior: removing what was added restores the accumulator; order does not matter', () => {
    const a = ltElement('acct/1', '{"balance":"1","nonce":0}');
    const b = ltElement('acct/2', '{"balance":"2","nonce":0}');
    const h1 = new LtHash();
    h1.add(a);
    h1.add(b);
    const h2 = new LtHash();
    h2.add(b);
    h2.add(a);
    assert.equal(h1.digest(), h2.digest());
    h1.remove(a);
    h1.remove(b);
    assert.equal(h1.digest(), new LtHash().digest());
  });
  it('bytes round-trip and a fixed vector', () => {
    const h = new LtHash();
    h.add(ltElement('acct/x', '{}'));
    assert.equal(LtHash.fromBytes(h.toBytes()).digest(), h.digest());
    const e = ltElement('', '');
    assert.equal(e.length, 1024);
    assert.equal(new LtHash().digest(), new LtHash().digest());
  });
});
