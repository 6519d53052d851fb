/**
 * Fair eviction in a real node process (issue 12, point 6): with a full pool, a
 * cheap tx must not evict a sender's cheap first tx and strand the better-paying
 * txs queued behind it; a tx that pays more than a sender's last pending tx
 * evicts that one tx only, reported `EVICTED`.
 *
 * One `fastpos start` child process on 127.0.0.1, run from the sources (tsx),
 * holding one of two equal validators: the other never starts, so no block is
 * decided and the pool changes only through admission. Small `--mempool-max-txs`;
 * a dozen txs in all, every wait bounded.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { signTx } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { CHAIN_ID, getJson, postJson, status, type NetNode, type Network, startNetwork } from '../../helpers/network.js';

const POOL = 12;
const fromSources = ['--import', 'tsx', fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url))];

let net: Network;
let node: NetNode;

function transfer(account: number, nonce: number, fee: bigint): { id: string; tx: Record<string, unknown> } {
  const k = devAccount(account);
  return signTx(k.privateKey, {
    chainId: CHAIN_ID,
    kind: 'transfer',
    from: k.address,
    pubKey: k.publicKey,
    nonce,
    fee,
    payload: { to: devAccount(9).address, amount: 1n },
  } as never);
}

async function submit(t: { id: string; tx: Record<string, unknown> }): Promise<{ status: number; body: any }> {
  return postJson(`${node.url}/tx`, t.tx);
}

async function txStatus(id: string): Promise<{ status: string; error?: string; message?: string }> {
  return getJson(`${node.url}/tx?id=${id}`);
}

async function assertPending(ids: readonly string[]): Promise<void> {
  for (const id of ids) assert.equal((await txStatus(id)).status, 'pending', `tx ${id} is still pending`);
}

describe('hostile: eviction from a full pool (real process)', { timeout: 90_000 }, () => {
  before(async () => {
    net = await startNetwork({
      n: 2,
      dontStart: [1],
      entry: () => fromSources,
      extraArgs: ['--mempool-max-txs', String(POOL)],
    });
    node = net.nodes[0]!;
  });

  after(async () => {
    await net?.stop();
  });

  it('a fee-2 tx does not evict a fee-1 first tx with fee-50 txs behind it; a fee-51 tx evicts only a last tx', async () => {
    // Sender 1: nonce 0 at fee 1, then nonces 1..11 at fee 50. The pool is full.
    const chain = [transfer(1, 0, 1n), ...Array.from({ length: POOL - 1 }, (_, i) => transfer(1, i + 1, 50n))];
    for (const t of chain) {
      const r = await submit(t);
      assert.equal(r.status, 202, `POST /tx: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await status(node)).mempool.txs, POOL);

    // Fee 2 beats the first tx's fee 1 but not the 11 txs it would strand; fee 50 does not beat 50.
    for (const fee of [2n, 50n]) {
      const r = await submit(transfer(2, 0, fee));
      assert.equal(r.status, 429, `fee ${fee}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'MEMPOOL_FULL');
    }
    assert.equal((await status(node)).mempool.txs, POOL);
    await assertPending(chain.map((t) => t.id));

    // Fee 51 beats the last tx of sender 1 (nonce 11): that one goes, nothing else.
    const better = transfer(2, 0, 51n);
    assert.equal((await submit(better)).status, 202);
    const evicted = await txStatus(chain[POOL - 1]!.id);
    assert.equal(evicted.status, 'dropped');
    assert.equal(evicted.error, 'EVICTED');
    await assertPending([better.id, ...chain.slice(0, POOL - 1).map((t) => t.id)]);
    assert.equal((await status(node)).mempool.txs, POOL);

    // The cheapest last txs are now sender 1's nonce 10 (50) and sender 2's (51): fee 52 takes nonce 10.
    const next = transfer(3, 0, 52n);
    assert.equal((await submit(next)).status, 202);
    assert.equal((await txStatus(chain[POOL - 2]!.id)).error, 'EVICTED');
    await assertPending([next.id, better.id, ...chain.slice(0, POOL - 2).map((t) => t.id)]);

    // No block was decided meanwhile (the pool changed only through admission), and the node is alive.
    const st = await status(node);
    assert.equal(st.latestHeight, 0);
    assert.equal(st.mempool.txs, POOL);
    assert.ok(node.running);
  });
});
