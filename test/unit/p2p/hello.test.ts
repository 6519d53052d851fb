/** The peer handshake: the hello's signing bytes (a fixed vector), and every way an answer is refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HELLO_DOMAIN, helloSignBytes } from '../../../src/codec/hello.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { sha256 } from '../../../src/crypto/hash.js';
import { addressFromPubKey } from '../../../src/crypto/keys.js';
import { checkHello, createHelloResponder, newHelloNonce } from '../../../src/p2p/hello.js';

const CHAIN = 'fastpos-localnet';
const GENESIS = 'ab'.repeat(32);
const KEY = sha256('fastpos-test-node-key-0').toString('hex');
const OTHER_KEY = sha256('fastpos-test-node-key-1').toString('hex');
const NONCE = '0123456789abcdef0123456789abcdef';

const responder = createHelloResponder({ privateKey: KEY, chainId: CHAIN, genesisHash: GENESIS });
const us = createHelloResponder({ privateKey: OTHER_KEY, chainId: CHAIN, genesisHash: GENESIS });
const expect = { chainId: CHAIN, genesisHash: GENESIS, nonce: NONCE, selfNodeId: us.nodeId };

describe('hello', () => {
  it('vector: the signing bytes and the signature of a fixed key and nonce', () => {
    const h = responder.answer(NONCE);
    assert.deepEqual(h, {
      chainId: CHAIN,
      genesisHash: GENESIS,
      nodeId: '0b7cdbaf5f43e3a22f47f59669872a78f4a2cb41',
      pubKey: 'dd25bfa494089155f132099f6d644cd4eaa615d0901d2967b297f831f6587998',
      nonce: NONCE,
      signature: '3e93e198655429428d14cadfc8b32ddaf15609cb3e05fec38170af615f940b2ae016dfefde0e463602b5814341ef53ec29d3e6d0172dfe8b41862ea509a4aa02',
    });
    assert.equal(
      helloSignBytes(h).toString('utf8'),
      `${HELLO_DOMAIN}{"chainId":"fastpos-localnet","genesisHash":"${GENESIS}","nodeId":"0b7cdbaf5f43e3a22f47f59669872a78f4a2cb41","nonce":"${NONCE}","pubKey":"dd25bfa494089155f132099f6d644cd4eaa615d0901d2967b297f831f6587998"}`,
    );
    assert.equal(h.nodeId, addressFromPubKey(h.pubKey));
  });

  it('default: an answer to our nonce, of our chain, signed by another node key checks', () => {
    assert.deepEqual(checkHello(responder.answer(NONCE), expect), { ok: true, nodeId: responder.nodeId });
    assert.match(newHelloNonce(), /^[0-9a-f]{32}$/);
    assert.notEqual(newHelloNonce(), newHelloNonce());
  });

  it('error: an answer signed with our own node key is "self", whatever URL it came from', () => {
    const r = checkHello(us.answer(NONCE), expect);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.refusal, 'self');
  });

  it('error: another chain id or another genesis is "wrongChain"', () => {
    for (const other of [
      createHelloResponder({ privateKey: KEY, chainId: 'other-localnet', genesisHash: GENESIS }),
      createHelloResponder({ privateKey: KEY, chainId: CHAIN, genesisHash: 'cd'.repeat(32) }),
    ]) {
      const r = checkHello(other.answer(NONCE), expect);
      assert.equal(!r.ok && r.refusal, 'wrongChain');
    }
  });

  it('error: a replayed answer (another nonce), a forged signature, a node id not its key, or junk is "badAnswer"', () => {
    const good = responder.answer(NONCE);
    const signer = createSigner(OTHER_KEY);
    const resign = (h: Record<string, string>) => ({ ...h, signature: signer.sign(helloSignBytes(h as never)) });
    const cases: unknown[] = [
      responder.answer('f'.repeat(32)),
      { ...good, signature: '00'.repeat(64) },
      { ...good, chainId: 'x' }, // the signature no longer matches
      resign({ ...good, nodeId: 'ee'.repeat(20), pubKey: signer.publicKey }), // nodeId is not the key's address
      { ...good, extra: 1 },
      { ...good, nonce: NONCE.toUpperCase() },
      null,
      [],
      'hello',
      {},
    ];
    for (const c of cases) {
      const r = checkHello(c, expect);
      assert.equal(!r.ok && r.refusal, 'badAnswer', JSON.stringify(c));
    }
  });
});
