import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { merkleRoot, txRoot } from '../../../src/codec/merkle.js';
import { decodeTx, encodeTx, txSignBytes } from '../../../src/codec/tx.js';
import { createSigner, verifySignature } from '../../../src/crypto/ed25519.js';
import { sha256, sha256Hex } from '../../../src/crypto/hash.js';
import { devAccount, devValidator } from '../../../src/crypto/keys.js';

const V = JSON.parse(readFileSync(new URL('../../vectors/protocol.json', import.meta.url), 'utf8'));

describe('protocol §7 test vectors', () => {
  it('dev keys and addresses', () => {
    assert.equal(devAccount(0).publicKey, V.devAccount0.pubKey);
    assert.equal(devAccount(0).address, V.devAccount0.address);
    assert.equal(devAccount(1).publicKey, V.devAccount1.pubKey);
    assert.equal(devAccount(1).address, V.devAccount1.address);
    assert.equal(devValidator(0).publicKey, V.devValidator0.pubKey);
    assert.equal(devValidator(0).address, V.devValidator0.id);
    assert.equal(devValidator(1).publicKey, V.devValidator1.pubKey);
    assert.equal(devValidator(1).address, V.devValidator1.id);
  });

  it('transfer signing bytes, id and signature', () => {
    const unsigned = {
      chainId: 'fastpos-devnet',
      kind: 'transfer' as const,
      from: devAccount(0).address,
      pubKey: devAccount(0).publicKey,
      nonce: 0,
      fee: 10n,
      payload: { to: devAccount(1).address, amount: 1000n },
    };
    const bytes = txSignBytes(unsigned);
    assert.equal(bytes.toString('utf8'), V.transfer.signBytes);
    assert.equal(sha256Hex(bytes), V.transfer.id);
    const sig = createSigner(devAccount(0).privateKey).sign(bytes);
    assert.equal(sig, V.transfer.signature);
    assert.ok(verifySignature(devAccount(0).publicKey, bytes, sig));
    const d = decodeTx(encodeTx({ ...unsigned, signature: sig }));
    assert.equal(d.id, V.transfer.id);
    assert.equal(d.size, canonicalJson(encodeTx(d.tx)).length);
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1, y: 2 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":2,"z":1}}');
    assert.equal(canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, a: 4 }), '{"\\r":2,"a":4,"\u20ac":1,"\ud83d\ude00":3}');
  });
  it('serializes numbers as ECMAScript does', () => {
    assert.equal(canonicalJson([0, -0, 1e21, 1e-7, 123.456]), '[0,0,1e+21,1e-7,123.456]');
  });
  it('error: refuses bigint and non-finite numbers', () => {
    assert.throws(() => canonicalJson({ a: 1n }));
    assert.throws(() => canonicalJson(Number.NaN));
  });
  it('behavior: parse(canonical(x)) is x, and canonical is idempotent', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalJson(v);
        assert.equal(canonicalJson(JSON.parse(c)), c);
      }),
    );
  });
});

describe('merkle root (RFC 6962)', () => {
  const leaf = (d: Buffer) => sha256(Buffer.concat([Buffer.from([0]), d]));
  const node = (l: Buffer, r: Buffer) => sha256(Buffer.concat([Buffer.from([1]), l, r]));
  /** RFC 6962's recursive definition, as the reference. */
  function mth(ds: Buffer[]): Buffer {
    if (ds.length === 0) return sha256(Buffer.alloc(0));
    if (ds.length === 1) return leaf(ds[0]!);
    let k = 1;
    while (k * 2 < ds.length) k *= 2;
    return node(mth(ds.slice(0, k)), mth(ds.slice(k)));
  }
  it('matches the recursive definition for 0..40 leaves', () => {
    for (let n = 0; n <= 40; n++) {
      const ds = Array.from({ length: n }, (_, i) => sha256(`leaf-${i}`));
      assert.equal(merkleRoot(ds).toString('hex'), mth(ds).toString('hex'), `n=${n}`);
    }
  });
  it('txRoot of no txs is sha256 of nothing', () => {
    assert.equal(txRoot([]), sha256Hex(''));
  });
});
