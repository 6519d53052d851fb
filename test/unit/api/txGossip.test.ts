/**
 * POST /p2p/txs on a real single-node devnet: a gossiped batch is admitted
 * like submissions (same checks, same pool), each tx counted once as
 * accepted, known or rejected, with the signatures checked together, both on
 * the calling thread and on a signature worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeTx } from '../../../src/codec/tx.js';
import { acct, transfer } from '../../helpers/fixtures.js';
import { startTestNode, type TestNode } from '../../helpers/node.js';

for (const verifyWorkers of [0, 1]) {
  describe(`POST /p2p/txs (verifyWorkers ${verifyWorkers})`, () => {
    let n: TestNode;
    before(async () => {
      n = await startTestNode({ config: { verifyWorkers } });
    });
    after(async () => {
      await n.dispose();
    });

    const post = async (txs: unknown[]) => {
      const r = await n.app.inject({ method: 'POST', url: '/p2p/txs', payload: JSON.stringify({ txs }), headers: { 'content-type': 'application/json' } });
      return { status: r.statusCode, json: r.json() as { accepted: number; known: number; rejected: number } };
    };

    it('counts each tx once: accepted, known (also twice in one batch) or rejected (bad signature, malformed, fee too low)', async () => {
      const good = transfer({ from: 0, to: acct(9).address, amount: 5n, nonce: 0 });
      const other = transfer({ from: 1, to: acct(9).address, amount: 5n, nonce: 0 });
      const flipped = other.tx.signature.slice(0, -1) + (other.tx.signature.endsWith('0') ? '1' : '0');
      const badSig = { ...encodeTx(other.tx), signature: flipped };
      const lowFee = encodeTx(transfer({ from: 2, to: acct(9).address, amount: 5n, nonce: 0, fee: 0n }).tx);
      const batch = [encodeTx(good.tx), encodeTx(good.tx), badSig, { foo: 1 }, lowFee];
      const first = await post(batch);
      assert.equal(first.status, 200);
      assert.deepEqual(first.json, { accepted: 1, known: 1, rejected: 3 });
      const st = await n.app.inject({ method: 'GET', url: `/tx?id=${good.id}` });
      assert.ok(['pending', 'finalized'].includes(st.json().status), st.body);
      // The same batch again: the admitted tx is known now (pending or finalized), the rest still refused.
      const again = await post(batch);
      assert.deepEqual(again.json, { accepted: 0, known: 2, rejected: 3 });
      // The refused txs left nothing behind.
      const none = await n.app.inject({ method: 'GET', url: `/tx?id=${other.id}` });
      assert.equal(none.statusCode, 404);
    });

    it('a batch of malformed txs is counted as refused; an entry that is not an object makes the request a 400', async () => {
      const r = await post([{ kind: 'transfer' }, {}, { foo: 1 }]);
      assert.deepEqual(r.json, { accepted: 0, known: 0, rejected: 3 });
      const bad = await post([7, null]);
      assert.equal(bad.status, 400);
      assert.equal((bad.json as unknown as { error: { code: string } }).error.code, 'INVALID_REQUEST');
    });
  });
}
