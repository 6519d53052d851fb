// The flat address set used to find a genesis account listed twice: it must
// answer as a Set<string> does, through its growth and rehashes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AddressSet } from '../../../src/node/addressSet.js';

const hex40 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex'));

describe('AddressSet', () => {
  it('default: adds once, refuses the second time, counts', () => {
    const s = new AddressSet();
    assert.equal(s.add('a'.repeat(40)), true);
    assert.equal(s.add('b'.repeat(40)), true);
    assert.equal(s.add('a'.repeat(40)), false);
    assert.equal(s.size, 2);
  });

  it('behavior: answers as Set<string> does, over growth (property)', () => {
    fc.assert(
      fc.property(fc.array(hex40, { maxLength: 300 }), fc.array(fc.nat(), { maxLength: 300 }), (fresh, repeats) => {
        // Some addresses again, at random places.
        const list = [...fresh];
        for (const r of repeats) if (fresh.length > 0) list.splice(r % (list.length + 1), 0, fresh[r % fresh.length]!);
        const s = new AddressSet();
        const ref = new Set<string>();
        for (const a of list) {
          assert.equal(s.add(a), !ref.has(a));
          ref.add(a);
        }
        assert.equal(s.size, ref.size);
      }),
    );
  });

  it('behavior: 100,000 addresses sharing their first 36 hex digits: every one kept, each duplicate found', () => {
    const s = new AddressSet();
    const addr = (i: number): string => '0'.repeat(34) + i.toString(16).padStart(6, '0');
    for (let i = 0; i < 100_000; i++) assert.equal(s.add(addr(i)), true);
    for (let i = 0; i < 100_000; i += 997) assert.equal(s.add(addr(i)), false);
    assert.equal(s.size, 100_000);
  });

  it('error: a string that is not 40 hex digits is refused', () => {
    const s = new AddressSet();
    assert.throws(() => s.add('abc'), RangeError);
    assert.throws(() => s.add('z'.repeat(40)), RangeError);
  });
});
