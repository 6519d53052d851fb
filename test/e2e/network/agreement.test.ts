/**
 * A 3-validator network of real processes: transfers submitted round-robin to
 * every node are finalized, every node reports them finalized in the same
 * block, the chains agree block by block, and balances agree (and are right).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signTransfer } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import {
  CHAIN_ID,
  DEV_BALANCE,
  assertNoDoubleSign,
  checkAgreement,
  commonHeight,
  evidenceOf,
  getJson,
  postJson,
  waitForHeight,
  waitUntil,
  withNetwork,
} from '../../helpers/network.js';

describe('validator network: agreement', { timeout: 90_000 }, () => {
  it('3 nodes finalize transfers submitted to each of them and agree on every block and balance', async () => {
    await withNetwork({ n: 3 }, async (net) => {
      const { nodes } = net;
      await waitForHeight(nodes, 2, 20_000);

      // 5 senders × 6 nonces; tx k goes to node k % 3, so one sender's successive nonces land on different nodes.
      const SENDERS = [1, 2, 3, 4, 5];
      const RECIPIENTS = [7, 8, 9];
      const NONCES = 6;
      const sent: { id: string; from: number; to: number; amount: bigint; node: number }[] = [];
      for (let k = 0; k < SENDERS.length * NONCES; k++) {
        const from = SENDERS[k % SENDERS.length]!;
        const nonce = Math.floor(k / SENDERS.length);
        const to = RECIPIENTS[k % RECIPIENTS.length]!;
        const amount = BigInt(1000 + k);
        const { id, tx } = signTransfer(devAccount(from).privateKey, { chainId: CHAIN_ID, nonce, to: devAccount(to).address, amount, fee: 1n });
        const node = k % nodes.length;
        const res = await postJson(`${nodes[node]!.url}/tx`, tx);
        assert.equal(res.status, 202, `tx ${k} to node ${node}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(res.body, { id, status: 'pending' });
        sent.push({ id, from, to, amount, node });
      }

      // Every tx reaches finalized status on every node, successfully, in the same block everywhere.
      const where = await waitUntil(
        async () => {
          const byTx = new Map<string, string>();
          for (const s of sent) {
            const seen = new Set<string>();
            for (const n of nodes) {
              const st = await getJson(`${n.url}/tx?id=${s.id}`);
              if (st.status !== 'finalized') return undefined;
              assert.equal(st.success, true, `tx ${s.id} failed on node ${n.index}: ${st.error}`);
              seen.add(`${st.height}/${st.blockHash}/${st.index}`);
            }
            assert.equal(seen.size, 1, `tx ${s.id} is finalized at different places: ${[...seen].join(' ')}`);
            byTx.set(s.id, [...seen][0]!);
          }
          return byTx;
        },
        30_000,
        'every tx to be finalized on every node',
        250,
      );
      const maxTxHeight = Math.max(...[...where.values()].map((w) => Number(w.split('/')[0])));

      // Block-by-block agreement up to the height every node has reached.
      const h = await commonHeight(nodes);
      assert.ok(h >= maxTxHeight, `common height ${h} below the last tx height ${maxTxHeight}`);
      const chains = await checkAgreement(nodes, h);
      const included = chains[0]!.flatMap((b) => b.txs).length;
      assert.equal(included, sent.length, 'every tx included exactly once');

      // Balances: the same on every node, and what the transfers imply.
      const expected = new Map<number, bigint>();
      for (let i = 0; i < 10; i++) expected.set(i, DEV_BALANCE);
      for (const s of sent) {
        expected.set(s.from, expected.get(s.from)! - s.amount - 1n);
        expected.set(s.to, expected.get(s.to)! + s.amount);
      }
      for (let i = 0; i < 10; i++) {
        const addr = devAccount(i).address;
        const got = await Promise.all(nodes.map(async (n) => (await getJson(`${n.url}/accounts/${addr}`)) as { balance: string; nonce: number }));
        for (const [j, a] of got.entries()) {
          assert.equal(BigInt(a.balance), expected.get(i), `balance of dev account ${i} on node ${j}`);
          assert.equal(a.nonce, SENDERS.includes(i) ? NONCES : 0, `nonce of dev account ${i} on node ${j}`);
        }
      }

      // Fees went to the proposers' reward addresses: the same totals everywhere.
      const rewards = await Promise.all(
        nodes.map(async (n) => {
          let sum = 0n;
          for (const v of net.set.validators) sum += BigInt((await getJson(`${n.url}/accounts/${v.id}`)).balance);
          return sum;
        }),
      );
      assert.ok(rewards.every((r) => r === BigInt(sent.length)), `fees paid to validators per node: ${rewards.join(', ')}`);

      await assertNoDoubleSign(net, nodes, h);
      assert.deepEqual(await evidenceOf(nodes), []);
    });
  });
});
