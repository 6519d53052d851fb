import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { encodeTx, toDecodedTx, txSignJson, txSignJsonGeneric } from '../../../src/codec/tx.js';
import type { UnsignedTx } from '../../../src/types/index.js';

describe('transfer signing bytes: the direct writer equals canonical JSON', () => {
  it('property: any strings (unicode, quotes, control characters, lone surrogates), nonces and amounts give the same bytes', () => {
    const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 40, maxLength: 40 });
    const str = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), hex, fc.constantFrom('"', '\\', '\u0000\n\t', '\ud800', 'é€😀'));
    fc.assert(
      fc.property(str, str, str, str, fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.bigInt({ min: 0n, max: 10n ** 39n }), fc.bigInt({ min: 0n, max: 10n ** 39n }), (chainId, from, to, pubKey, nonce, fee, amount) => {
          const tx: UnsignedTx = { chainId, kind: 'transfer', from, pubKey, nonce, fee, payload: { to, amount } };
          assert.equal(txSignJson(tx), txSignJsonGeneric(tx));
          // The wire text kept with a decoded tx is the canonical JSON of its wire form.
          const signed = { ...tx, signature: `${from}"\\` };
          assert.equal(toDecodedTx(signed).json, canonicalJson(encodeTx(signed)));
        },
      ),
      { seed: 20261126, numRuns: 2000 },
    );
  });

  it('boundary: nonce 0 and the largest safe integer; other kinds take the generic path', () => {
    for (const nonce of [0, Number.MAX_SAFE_INTEGER]) {
      const tx: UnsignedTx = { chainId: 'c', kind: 'transfer', from: 'a', pubKey: 'p', nonce, fee: 0n, payload: { to: 'b', amount: 1n } };
      assert.equal(txSignJson(tx), txSignJsonGeneric(tx));
    }
    const ww: UnsignedTx = { chainId: 'c', kind: 'validator_set_work_weight', from: 'a', pubKey: 'p', nonce: 1, fee: 1n, payload: { validatorId: 'v', workWeight: 5 } };
    assert.equal(txSignJson(ww), txSignJsonGeneric(ww));
  });
});
