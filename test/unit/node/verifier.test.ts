/**
 * The signature verifier: a pool of worker threads (real node:crypto checks
 * in real threads) answers every item of every batch in order, whatever the
 * batches' sizes and however many are in flight, and refuses malformed keys
 * and signatures without shifting its neighbours' answers; the lattice
 * elements it hashes for a block are those of the calling thread.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createVerifier, type VerifyItem } from '../../../src/node/verifier.js';
import { ltElementOf } from '../../../src/state/ltHash.js';

function keyPair(): { pub: string; sign: (m: Uint8Array) => string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
  return { pub, sign: (m) => sign(null, m, privateKey).toString('hex') };
}

const keys = Array.from({ length: 8 }, keyPair);

/** An item and whether it should verify: valid, wrong message, wrong key, or malformed hex. */
function item(n: number, kind: number): { item: VerifyItem; ok: boolean } {
  const k = keys[n % keys.length]!;
  const message = Buffer.from(`message ${n}`);
  const signature = k.sign(message);
  switch (kind % 5) {
    case 0:
      return { item: { pubKey: k.pub, message, signature }, ok: true };
    case 1:
      return { item: { pubKey: k.pub, message: Buffer.from(`other ${n}`), signature }, ok: false };
    case 2:
      return { item: { pubKey: keys[(n + 1) % keys.length]!.pub, message, signature }, ok: false };
    case 3:
      return { item: { pubKey: k.pub.slice(2), message, signature }, ok: false };
    default:
      return { item: { pubKey: k.pub, message, signature: signature + 'ab' }, ok: false };
  }
}

describe('signature verifier (worker pool)', () => {
  const pool = createVerifier(2);
  after(() => pool.close());

  it('property: concurrent batches of any size are answered item by item, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.nat(4), { minLength: 0, maxLength: 150 }), { minLength: 1, maxLength: 8 }), async (batches) => {
        let n = 0;
        const planned = batches.map((kinds) => kinds.map((kind) => item(n++, kind)));
        const answers = await Promise.all(planned.map((b) => pool.verifyMany(b.map((x) => x.item))));
        answers.forEach((a, i) => assert.deepEqual(a, planned[i]!.map((x) => x.ok)));
      }),
      { numRuns: 25, seed: 7 },
    );
  });

  it('default: a single check answers alone, and the inline verifier (0 threads) answers the same', async () => {
    const inline = createVerifier(0);
    for (let kind = 0; kind < 5; kind++) {
      const { item: it, ok } = item(kind, kind);
      assert.equal(await pool.verify(it), ok);
      assert.equal(await inline.verify(it), ok);
    }
    await inline.close();
  });

  it('property: lattice elements hashed on the workers, while signature batches are in flight, equal those of this thread', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 40 }), fc.array(fc.nat(4), { maxLength: 100 }), async (inputs, kinds) => {
        const sigs = kinds.map((kind, n) => item(n, kind));
        const [els, answers] = await Promise.all([pool.stateElements!(inputs), pool.verifyMany(sigs.map((x) => x.item))]);
        assert.equal(els.length, inputs.length);
        inputs.forEach((input, i) => assert.deepEqual(els[i], ltElementOf(input)));
        assert.deepEqual(answers, sigs.map((x) => x.ok));
      }),
      { numRuns: 15, seed: 11 },
    );
  });

  it('behavior: a closed pool refuses new checks', async () => {
    const p = createVerifier(1);
    await p.close();
    await assert.rejects(p.verify(item(0, 0).item), /verifier closed/);
    await assert.rejects(p.stateElements!(['x']), /verifier closed/);
  });
});
