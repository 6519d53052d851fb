import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { decodeStateValue, encodeStateValue } from '../../../src/codec/state.js';
import { decodeTx, encodeTx, toDecodedTx, txSignJson, txSignJsonGeneric } from '../../../src/codec/tx.js';
import { addressFromPubKey } from '../../../src/crypto/keys.js';
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

  it('property: decoding a wire transfer gives the same signing bytes, id and wire text as encoding the decoded tx', () => {
    const hexOf = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
    const chain = fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }), fc.constantFrom('"', '\\', '\u0000\n', 'é€😀'));
    const amount = fc.bigInt({ min: 1n, max: 10n ** 38n });
    fc.assert(
      fc.property(chain, hexOf(64), hexOf(40), hexOf(128), fc.nat({ max: Number.MAX_SAFE_INTEGER }), amount, amount, (chainId, pubKey, to, signature, nonce, fee, amt) => {
        if (chainId.length > 64) return;
        const wire = { chainId, kind: 'transfer', from: addressFromPubKey(pubKey), pubKey, nonce, fee: fee.toString(), payload: { to, amount: amt.toString() }, signature };
        const fast = decodeTx(JSON.parse(JSON.stringify(wire)));
        const generic = toDecodedTx(fast.tx);
        assert.equal(fast.json, generic.json);
        assert.deepEqual(fast.signBytes, generic.signBytes);
        assert.equal(fast.id, generic.id);
        assert.equal(fast.size, generic.size);
        assert.equal(fast.json, canonicalJson(wire));
      }),
      { seed: 20261127, numRuns: 1000 },
    );
  });
});

describe('account state entries: the direct writer equals canonical JSON', () => {
  it('property: any balance and nonce give the same text, which decodes back', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 40n }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (balance, nonce) => {
        const key = `acct/${'ab'.repeat(20)}`;
        const text = encodeStateValue(key, { balance, nonce });
        assert.equal(text, canonicalJson({ balance: balance.toString(), nonce }));
        assert.deepEqual(decodeStateValue(key, text), { balance, nonce });
      }),
      { seed: 20261203, numRuns: 1000 },
    );
  });
});
