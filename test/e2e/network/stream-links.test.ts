/**
 * Peer streams on real validator processes over loopback: a 4-validator
 * network sends its consensus messages and tx gossip on one stream per peer
 * (no POST /p2p/message or /p2p/txs while the streams are open); a validator
 * killed and started again is streamed to again and the chain goes on; a
 * node started with `--no-p2p-streams` in the same network still takes
 * part, over HTTP POSTs in both directions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signTransfer } from '../../../src/client/sign.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { CHAIN_ID, getJson, heightOf, postJson, waitForHeight, waitUntil, withNetwork, type NetNode } from '../../helpers/network.js';
import { p2pPosts, sample, scrape, sumOf } from './streamHelpers.js';

async function streamsOpen(n: NetNode, direction: 'in' | 'out'): Promise<number> {
  return sample(await scrape(n.url), 'fastpos_p2p_streams_open', `direction="${direction}"`);
}

/** Waits until every node has `out` outbound and `inbound` inbound streams open. */
async function waitForStreams(nodes: readonly NetNode[], out: number, inbound: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => {
      for (const n of nodes) if ((await streamsOpen(n, 'out')) !== out || (await streamsOpen(n, 'in')) !== inbound) return false;
      return true;
    },
    timeoutMs,
    `every node to have ${out} outbound and ${inbound} inbound streams`,
    200,
  );
}

/** Submits `count` transfers from dev account `from` (nonces from `nonce0`) to `node`; returns their ids. */
async function submit(node: NetNode, from: number, nonce0: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let k = 0; k < count; k++) {
    const { id, tx } = signTransfer(devAccount(from).privateKey, { chainId: CHAIN_ID, nonce: nonce0 + k, to: devAccount(9).address, amount: 1000n + BigInt(k), fee: 1n });
    const res = await postJson(`${node.url}/tx`, tx);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    ids.push(id);
  }
  return ids;
}

async function waitFinalizedEverywhere(nodes: readonly NetNode[], ids: readonly string[], timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => {
      for (const id of ids) for (const n of nodes) if ((await getJson(`${n.url}/tx?id=${id}`)).status !== 'finalized') return false;
      return true;
    },
    timeoutMs,
    'every tx to be finalized on every node',
    250,
  );
}

describe('validator network: peer streams', { timeout: 240_000 }, () => {
  it('4 validators finalize blocks and gossip txs over streams only; a validator killed and restarted is streamed to again and the chain goes on', async () => {
    await withNetwork({ n: 4 }, async (net) => {
      const { nodes } = net;
      await waitForHeight(nodes, 2, 30_000);
      await waitForStreams(nodes, 3, 3, 30_000);

      const before = await Promise.all(nodes.map((n) => scrape(n.url)));
      const h0 = Math.max(...(await Promise.all(nodes.map((n) => heightOf(n)))));
      // Txs submitted to node 1 reach every validator as stream gossip: each is finalized everywhere.
      const ids = await submit(nodes[1]!, 1, 0, 20);
      await waitFinalizedEverywhere(nodes, ids, 30_000);
      await waitForHeight(nodes, h0 + 5, 30_000);
      const after = await Promise.all(nodes.map((n) => scrape(n.url)));

      for (let i = 0; i < nodes.length; i++) {
        const [b, a] = [before[i]!, after[i]!];
        // Nothing arrived by POST while the streams were open...
        assert.equal(p2pPosts(a) - p2pPosts(b), 0, `node ${i} received validator-network POSTs while its streams were open`);
        assert.equal(sample(a, 'fastpos_p2p_bytes_received_total', 'channel="http"'), sample(b, 'fastpos_p2p_bytes_received_total', 'channel="http"'));
        assert.equal(sample(a, 'fastpos_p2p_bytes_sent_total', 'channel="http"'), sample(b, 'fastpos_p2p_bytes_sent_total', 'channel="http"'), `node ${i} posted`);
        // ...and the streams carried every kind of consensus message.
        assert.ok(sample(a, 'fastpos_p2p_bytes_received_total', 'channel="stream"') > sample(b, 'fastpos_p2p_bytes_received_total', 'channel="stream"'));
        for (const kind of ['prevote', 'precommit']) {
          assert.ok(sample(a, 'fastpos_p2p_messages_received_total', `kind="${kind}"`) > sample(b, 'fastpos_p2p_messages_received_total', `kind="${kind}"`), `node ${i} received ${kind}s`);
          assert.ok(sample(a, 'fastpos_p2p_messages_sent_total', `kind="${kind}"`) > sample(b, 'fastpos_p2p_messages_sent_total', `kind="${kind}"`), `node ${i} sent ${kind}s`);
        }
        assert.equal(sumOf(a, 'fastpos_p2p_stream_drops_total'), 0, `node ${i} dropped stream traffic`);
      }
      const proposals = after.reduce((s, m) => s + sample(m, 'fastpos_p2p_messages_received_total', 'kind="proposal"'), 0);
      assert.ok(proposals > 0, 'proposals arrived on streams');
      // The tx batches went from node 1 to each other validator on its stream.
      assert.ok(sample(after[1]!, 'fastpos_p2p_messages_sent_total', 'kind="txs"') - sample(before[1]!, 'fastpos_p2p_messages_sent_total', 'kind="txs"') >= 3);
      for (const i of [0, 2, 3]) assert.ok(sample(after[i]!, 'fastpos_p2p_messages_received_total', 'kind="txs"') > sample(before[i]!, 'fastpos_p2p_messages_received_total', 'kind="txs"'));

      // A validator killed: the others lose their streams to it and still finalize (3 of 4).
      const n3 = nodes[3]!;
      await n3.kill('SIGKILL');
      await waitForStreams(nodes.slice(0, 3), 2, 2, 30_000);
      const h1 = Math.max(...(await Promise.all(nodes.slice(0, 3).map((n) => heightOf(n)))));
      await waitForHeight(nodes.slice(0, 3), h1 + 3, 30_000);
      // Started again: every stream is back, it catches up and the chain goes on with it.
      await n3.start();
      await waitForStreams(nodes, 3, 3, 60_000);
      const h2 = Math.max(...(await Promise.all(nodes.slice(0, 3).map((n) => heightOf(n)))));
      await waitForHeight(nodes, h2 + 3, 60_000);
      const ids2 = await submit(n3, 2, 0, 5);
      await waitFinalizedEverywhere(nodes, ids2, 30_000);
    });
  });

  it('a node with --no-p2p-streams takes part over HTTP POSTs both ways; the others stream to each other', async () => {
    await withNetwork({ n: 4, nodeArgs: (i) => (i === 3 ? ['--no-p2p-streams'] : []) }, async (net) => {
      const { nodes } = net;
      const old = nodes[3]!;
      await waitForHeight(nodes, 3, 30_000);
      await waitForStreams(nodes.slice(0, 3), 2, 2, 30_000);
      assert.equal(await streamsOpen(old, 'out'), 0);
      assert.equal(await streamsOpen(old, 'in'), 0);

      const before = await Promise.all(nodes.map((n) => scrape(n.url)));
      // Txs submitted to the node without streams reach the others (POST /p2p/txs), and the other way round.
      const idsOld = await submit(old, 3, 0, 5);
      const idsNew = await submit(nodes[0]!, 4, 0, 5);
      await waitFinalizedEverywhere(nodes, [...idsOld, ...idsNew], 40_000);
      const h = Math.max(...(await Promise.all(nodes.map((n) => heightOf(n)))));
      await waitForHeight(nodes, h + 3, 30_000);
      const after = await Promise.all(nodes.map((n) => scrape(n.url)));

      // The node without streams posts to every peer and is posted to by every peer.
      assert.ok(sample(after[3]!, 'fastpos_p2p_bytes_sent_total', 'channel="http"') > sample(before[3]!, 'fastpos_p2p_bytes_sent_total', 'channel="http"'));
      assert.ok(p2pPosts(after[3]!) > p2pPosts(before[3]!), 'the node without streams receives POSTs');
      assert.equal(sample(after[3]!, 'fastpos_p2p_bytes_received_total', 'channel="stream"'), 0);
      for (let i = 0; i < 3; i++) {
        assert.ok(p2pPosts(after[i]!) > p2pPosts(before[i]!), `node ${i} receives the POSTs of the node without streams`);
        assert.ok(sample(after[i]!, 'fastpos_p2p_bytes_sent_total', 'channel="http"') > sample(before[i]!, 'fastpos_p2p_bytes_sent_total', 'channel="http"'), `node ${i} posts to the node without streams`);
        assert.ok(sample(after[i]!, 'fastpos_p2p_bytes_sent_total', 'channel="stream"') > sample(before[i]!, 'fastpos_p2p_bytes_sent_total', 'channel="stream"'), `node ${i} streams to the others`);
      }
    });
  });
});
