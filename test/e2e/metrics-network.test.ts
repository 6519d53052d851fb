/**
 * The operator's metrics and warn lines on a real network of 4 validator
 * processes over loopback: stopping one shows on another node's /metrics
 * (peers connected and online power drop, the stopped validator's missed
 * blocks rise) and logs ("peer lost"); after a restart they come back ("peer
 * back"), and the restarted node, far behind, says so. Stopping two of four
 * stalls the chain: "no block finalized" until they return. A governance jail
 * shows in the jailed gauges and a "validator jailed" line at once, and in
 * the validator's power at the next epoch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { devAccount } from '../../src/crypto/keys.js';
import { DEFAULT_PARAMS } from '../../src/state/genesis.js';
import type { Genesis } from '../../src/types/index.js';
import { CHAIN_ID, DEV_BALANCE, heightOf, postJson, waitUntil, withNetwork, type NetNode } from '../helpers/network.js';
import { scrape } from './network/streamHelpers.js';

const POWER = 1_000_000;
const TOKEN = 'metrics-e2e-admin-token-0123456789';

function genesis(epochLengthBlocks: number) {
  return (keys: readonly { publicKey: string }[]): Genesis => ({
    chainId: CHAIN_ID,
    genesisTime: 1_767_225_600_000,
    treasury: 'ab'.repeat(20),
    params: {
      ...DEFAULT_PARAMS,
      governance: [devAccount(0).address],
      epochLengthBlocks,
      // Stops and restarts here must not jail anyone for downtime.
      downtimeWindowBlocks: 10_000,
      downtimeMaxMissed: 10_000,
    },
    accounts: Array.from({ length: 10 }, (_, i) => ({ address: devAccount(i).address, balance: DEV_BALANCE })),
    validators: keys.map((k) => ({ pubKey: k.publicKey, stake: BigInt(POWER), workWeight: 10_000 })),
  });
}

/** A sample of a node's /metrics (NaN when absent). */
async function metric(n: NetNode, name: string, validator?: string): Promise<number> {
  const m = await scrape(n.url);
  return m.get(validator === undefined ? name : `${name}{validator="${validator}"}`) ?? Number.NaN;
}

/** Parsed JSON log lines of a node with this message. */
function logged(n: NetNode, msg: string | RegExp): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of n.logs) {
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (typeof msg === 'string' ? j.msg === msg : msg.test(String(j.msg))) out.push(j);
    } catch {
      /* not a log line */
    }
  }
  return out;
}

const WARN = 40;

describe('operator metrics on a validator network', { timeout: 240_000 }, () => {
  it('behavior: a stopped validator lowers peers connected and online power and misses blocks; all come back after its restart; a stall warns', async () => {
    await withNetwork({ n: 4, genesis: genesis(100), nodeArgs: (i) => (i === 0 ? ['--stall-warn-ms', '2000'] : []) }, async (net) => {
      const [n0, , n2, n3] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
      const all = 4 * POWER;
      await waitUntil(async () => (await metric(n0, 'fastpos_peers_connected')) === 3 && (await metric(n0, 'fastpos_validators_online_power')) === all, 30_000, 'node 0 sees 3 peers and all power online');
      assert.equal(await metric(n0, 'fastpos_validators_total_power'), all);
      assert.equal(await metric(n0, 'fastpos_peers_known'), 3);
      assert.equal(await metric(n0, 'fastpos_validator_power', n3.validatorId), POWER);
      assert.equal(await metric(n0, 'fastpos_validators_jailed'), 0);
      assert.equal(await metric(n0, 'fastpos_sync_lag_blocks') >= 0, true);
      // A concise line per finalized block.
      const line = logged(n0, 'finalized block').at(-1);
      assert.ok(line !== undefined, 'a "finalized block" line');
      assert.equal(line.level, 30);
      assert.match(String(line.power), /^\d+\/4000000$/);
      assert.match(String(line.hash), /^[0-9a-f]{8}$/);
      assert.equal(typeof line.height, 'number');
      assert.equal(typeof line.txs, 'number');
      assert.equal(typeof line.round, 'number');

      // Stop validator 3.
      const missedBefore = await metric(n0, 'fastpos_validator_missed_blocks_total', n3.validatorId);
      await n3.kill('SIGKILL');
      const stoppedAt = await heightOf(n0);
      await waitUntil(async () => (await metric(n0, 'fastpos_peers_connected')) === 2, 30_000, 'peers connected drop to 2');
      await waitUntil(async () => (await metric(n0, 'fastpos_validators_online_power')) === 3 * POWER, 30_000, 'online power drops to 3/4');
      await waitUntil(async () => (await metric(n0, 'fastpos_validator_missed_blocks_total', n3.validatorId)) >= missedBefore + 3, 30_000, 'missed blocks of the stopped validator rise');
      assert.equal(await metric(n0, 'fastpos_validators_total_power'), all);
      const lost = await waitUntil(() => logged(n0, 'peer lost').find((l) => l.peer === n3.url), 30_000, '"peer lost" on node 0');
      assert.equal(lost.level, WARN);

      // Far enough ahead that the restarted node is behind by more than behindWarnBlocks (10).
      await waitUntil(async () => (await heightOf(n0)) >= stoppedAt + 15, 60_000, 'the chain moves on without validator 3');
      await n3.start();
      await waitUntil(async () => (await metric(n0, 'fastpos_peers_connected')) === 3, 30_000, 'peers connected back to 3');
      await waitUntil(async () => (await metric(n0, 'fastpos_validators_online_power')) === all, 30_000, 'online power back to all');
      const back = await waitUntil(() => logged(n0, 'peer back').find((l) => l.peer === n3.url), 30_000, '"peer back" on node 0');
      assert.equal(back.level, WARN);
      const behind = await waitUntil(() => logged(n3, 'node is behind')[0], 30_000, '"node is behind" on the restarted node');
      assert.equal(behind.level, WARN);
      assert.ok(Number(behind.theirs) - Number(behind.ours) >= 10, JSON.stringify(behind));

      // Two of four stopped: no quorum, a stall.
      await Promise.all([n2.kill('SIGKILL'), n3.kill('SIGKILL')]);
      const stall = await waitUntil(() => logged(n0, /^no block finalized for \d+ s$/)[0], 30_000, 'a stall warning on node 0');
      assert.equal(stall.level, WARN);
      assert.match(String(stall.online), /^\d+\/4000000$/);
      assert.equal(typeof stall.round, 'number');
      assert.equal(typeof stall.step, 'string');
      await Promise.all([n2.start(), n3.start()]);
      await waitUntil(() => logged(n0, 'blocks are being finalized again')[0], 60_000, 'blocks again on node 0');
    });
  });

  it('behavior: a jailed validator shows in the jailed gauges and a warn line at once, and loses its power at the next epoch', async () => {
    const EPOCH = 10;
    await withNetwork({ n: 4, genesis: genesis(EPOCH), nodeArgs: (i) => (i === 0 ? ['--admin-token', TOKEN] : []) }, async (net) => {
      const [n0, n1, , n3] = net.nodes as [NetNode, NetNode, NetNode, NetNode];
      await waitUntil(async () => (await heightOf(n0)) >= 2, 30_000, 'the network finalizes');
      assert.equal(await metric(n1, 'fastpos_validators_jailed'), 0);
      assert.equal(await metric(n1, 'fastpos_validator_jailed', n3.validatorId), 0);
      const r = await postJson(`${n0.url}/admin/validators/${n3.validatorId}/jail`, { jailBlocks: 1000 }, { authorization: `Bearer ${TOKEN}` });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      await waitUntil(async () => (await metric(n1, 'fastpos_validators_jailed')) === 1, 30_000, 'jailed gauge is 1 on node 1');
      assert.equal(await metric(n1, 'fastpos_validator_jailed', n3.validatorId), 1);
      const jailed = await waitUntil(() => logged(n1, 'validator jailed')[0], 10_000, '"validator jailed" on node 1');
      assert.equal(jailed.level, WARN);
      assert.equal(jailed.validatorId, n3.validatorId);
      assert.equal(jailed.reason, 'governance');
      assert.equal(typeof jailed.jailedUntil, 'number');
      // The set changes at the next epoch boundary: power 0, total 3/4.
      await waitUntil(async () => (await metric(n1, 'fastpos_validator_power', n3.validatorId)) === 0, 60_000, 'the jailed validator has no power');
      assert.equal(await metric(n1, 'fastpos_validators_total_power'), 3 * POWER);
      // The jailed validator's own node says its key has no voting power, and so does its /status.
      const warn = await waitUntil(() => n3.logs.find((l) => l.includes(`validator key ${n3.validatorId} has no voting power`)), 30_000, 'the no-voting-power warning on node 3');
      assert.match(warn, /jailed until \d+/);
      const st = (await (await fetch(`${n3.url}/status`)).json()) as { validators: { id: string; votingPower: string; inActiveSet: boolean; jailed: boolean }[] };
      assert.deepEqual(
        st.validators.map((v) => ({ id: v.id, votingPower: v.votingPower, inActiveSet: v.inActiveSet, jailed: v.jailed })),
        [{ id: n3.validatorId, votingPower: '0', inActiveSet: false, jailed: true }],
      );
    });
  });
});
