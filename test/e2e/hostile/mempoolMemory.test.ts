/**
 * The mempool's byte limit bounds its memory: `mempoolMaxBytes` counts an
 * estimate of what each pending tx holds in memory (4 × its encoded size +
 * 600 bytes), not its wire size. One `fastpos start` child process on
 * 127.0.0.1 holding one of two equal validators (the other never starts, so
 * no block is decided and the pool changes only through admission).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { signTx } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { CHAIN_ID, postJson, status, type NetNode, type Network, startNetwork } from '../../helpers/network.js';

/** Room for five transfers by the memory estimate (about 2.2 KB each), for about thirty by their wire size. */
const MAX_BYTES = 12_000;
const fromSources = ['--import', 'tsx', fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url))];

let net: Network;
let node: NetNode;

function transfer(account: number): { id: string; tx: Record<string, unknown> } {
  const k = devAccount(account);
  return signTx(k.privateKey, {
    chainId: CHAIN_ID,
    kind: 'transfer',
    from: k.address,
    pubKey: k.publicKey,
    nonce: 0,
    fee: 10n,
    payload: { to: devAccount(9).address, amount: 1n },
  } as never);
}

describe('hostile: the mempool byte limit counts memory (real process)', { timeout: 90_000 }, () => {
  before(async () => {
    net = await startNetwork({ n: 2, dontStart: [1], entry: () => fromSources, extraArgs: ['--mempool-max-bytes', String(MAX_BYTES)] });
    node = net.nodes[0]!;
  });

  after(async () => {
    await net?.stop();
  });

  it('five transfers fill a pool of 12,000 bytes; a sixth at the same fee is MEMPOOL_FULL though its wire bytes would fit', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await postJson(`${node.url}/tx`, transfer(i).tx);
      assert.equal(r.status, 202, JSON.stringify(r.body));
    }
    const before = (await status(node)).mempool;
    assert.equal(before.txs, 5);
    assert.equal(before.memoryBytes, 4 * before.bytes + 5 * 600, JSON.stringify(before));
    assert.ok(before.memoryBytes <= MAX_BYTES && 6 * (before.bytes / 5) < MAX_BYTES, JSON.stringify(before));
    const r = await postJson(`${node.url}/tx`, transfer(5).tx);
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'MEMPOOL_FULL');
    assert.match(r.body.error.message, /mempool is full/);
    assert.deepEqual((await status(node)).mempool, before);
  });
});
