import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { StateValue } from '../../../src/codec/state.js';
import { LTHASH_LANES, LtHash, ltElement, ltElementInput, ltElementOf, type LtElement } from '../../../src/state/ltHash.js';
import { WorldState } from '../../../src/state/worldState.js';
import type { Account } from '../../../src/types/index.js';

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

describe('WorldState.diff with elements hashed elsewhere', () => {
  const key = (i: number): string => `acct/${i.toString(16).padStart(40, '0')}`;
  const account = (b: number, n: number): Account => ({ balance: BigInt(b), nonce: n });

  it('property: precomputed elements (all, some, or unrelated ones) give the same root, accumulator and elements', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(30), fc.nat(1000)), { maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(40), fc.option(fc.nat(1000), { nil: undefined })), { minLength: 1, maxLength: 20 }),
        fc.nat(3),
        (initial, writes, mode) => {
          const state = WorldState.fromEntries(initial.map(([i, b]) => [key(i), account(b, 0)] as [string, StateValue]));
          const changes = new Map<string, StateValue | null>(writes.map(([i, b]) => [key(i), b === undefined ? null : account(b, 1)]));
          const plain = state.diff(changes);
          const inputs = state.elementInputs(changes);
          const pre = new Map<string, LtElement>();
          inputs.forEach((input, j) => {
            if (mode === 0 || (mode === 1 && j % 2 === 0)) pre.set(input, ltElementOf(input));
          });
          // An element under a text diff does not hash is never used.
          if (mode === 2) pre.set(ltElementInput(key(0), '{"balance":"7","nonce":1}'), ltElementOf('unrelated'));
          const fast = state.diff(changes, pre);
          assert.equal(fast.stateRoot, plain.stateRoot);
          assert.deepEqual(fast.accumulator.lanes, plain.accumulator.lanes);
          assert.deepEqual([...fast.elements.keys()], [...plain.elements.keys()]);
          for (const [k, el] of plain.elements) assert.deepEqual(fast.elements.get(k), el);
        },
      ),
      { numRuns: 200, seed: 20261203 },
    );
  });

  it('behavior: the inputs are the new values, and the old values whose elements are not kept', () => {
    const state = WorldState.fromEntries([[key(1), account(5, 0)]]);
    const changes = new Map<string, StateValue | null>([[key(1), account(4, 1)], [key(2), account(1, 0)]]);
    assert.deepEqual(state.elementInputs(changes), [
      ltElementInput(key(1), '{"balance":"5","nonce":0}'),
      ltElementInput(key(1), '{"balance":"4","nonce":1}'),
      ltElementInput(key(2), '{"balance":"1","nonce":0}'),
    ]);
    // Once applied, the written elements are kept: only the next new values are hashed.
    state.apply(state.diff(changes));
    assert.deepEqual(state.elementInputs(new Map([[key(1), account(3, 2)]])), [ltElementInput(key(1), '{"balance":"3","nonce":2}')]);
  });
});
