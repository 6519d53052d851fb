/**
 * The product layer on a 3-validator testnet of real processes, driven only
 * through the client SDK: three oracles attest the validators' work of epoch
 * 0; the proofs move workWeight, which changes who proposes from epoch 2;
 * the treasury pays epoch 0's rewards at the end of epoch 1; a challenge of
 * the inflated proof is upheld after the delay and its validator is slashed
 * and jailed; a product user settles a payment through a retry and finds it
 * pending, then finalized. Bounded in time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FastposClient } from '../../../src/client/index.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { DEFAULT_PARAMS, TREASURY_ADDRESS } from '../../../src/state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS } from '../../../src/state/product.js';
import { selectProposer } from '../../../src/consensus/proposer.js';
import type { Genesis, ValidatorSet } from '../../../src/types/index.js';
import { CHAIN_ID, DEV_BALANCE, startNetwork, waitUntil, type Network } from '../../helpers/network.js';

const EPOCH = 30;
const ORACLES = [20, 21, 22].map((i) => devAccount(i));
const CHALLENGER = devAccount(24);
const PAYER = devAccount(25);
/** Work scores of epoch 0: validator 0 claims four times neutral work. */
const SCORES = [40_000, 10_000, 10_000];

describe('product layer on a 3-validator testnet (client SDK only)', () => {
  let net: Network;
  let client: FastposClient;

  before(async () => {
    net = await startNetwork({
      n: 3,
      genesis: (keys): Genesis => ({
        chainId: CHAIN_ID,
        genesisTime: 1_767_225_600_000,
        treasury: TREASURY_ADDRESS,
        params: { ...DEFAULT_PARAMS, governance: [devAccount(0).address], epochLengthBlocks: EPOCH, downtimeWindowBlocks: 1000, downtimeMaxMissed: 1000 },
        accounts: [
          ...[...ORACLES, CHALLENGER, PAYER].map((k) => ({ address: k.address, balance: DEV_BALANCE })),
          { address: TREASURY_ADDRESS, balance: 1_000_000n },
        ],
        validators: keys.map((k) => ({ pubKey: k.publicKey, stake: 1_000_000n, workWeight: 10_000 })),
        product: {
          oracles: ORACLES.map((o) => ({ address: o.address, stake: 100n })),
          params: { ...DEFAULT_PRODUCT_PARAMS, rewardPerEpoch: 3000n, challengeResolveDelayBlocks: 3, challengeSlashBps: 1000 },
        },
      }),
    });
    client = new FastposClient(net.nodes[0]!.url);
  });
  after(async () => {
    await net?.stop();
  });

  const height = async (): Promise<number> => (await client.status()).latestHeight;
  type Header = { height: number; round: number; proposer: string };
  const blocksOf = async (from: number, to: number): Promise<{ header: Header }[]> => {
    const out: { header: Header }[] = [];
    for (let h = from; h <= to; h++) out.push((await client.block(h)) as unknown as { header: Header });
    return out;
  };
  /** An epoch's set as the chain stored it (GET /validators?epoch=N). */
  const epochSet = async (epoch: number): Promise<ValidatorSet> => {
    const r = (await client.validatorSet(epoch)) as { validators: { id: string; pubKey: string; votingPower: string; proposerWeight: string }[]; totalPower: string; setHash: string };
    return {
      validators: r.validators.map((v) => ({ id: v.id, pubKey: v.pubKey, votingPower: BigInt(v.votingPower), proposerWeight: BigInt(v.proposerWeight) })),
      totalPower: BigInt(r.totalPower),
      hash: r.setHash,
    };
  };

  it('behavior: attestations move workWeight and proposer frequency; rewards paid; a fraudulent proof is challenged, upheld, slashed and jailed; a settlement reconciles', async (t) => {
    const ids = net.nodes.map((n) => n.validatorId);
    try {
      // Epoch 1: the oracles attest epoch 0 (every tx confirmed with its certificate checked).
      await waitUntil(async () => (await height()) > EPOCH, 60_000, 'epoch 1');
      for (const [i, id] of ids.entries()) {
        for (const o of ORACLES) await client.attest(o.privateKey, { validatorId: id, epoch: 0, score: SCORES[i]!, proofRef: `sha256:${String(i).repeat(64)}` }, { wait: { timeoutMs: 30_000 } });
      }
      assert.ok((await height()) <= 2 * EPOCH, 'the attestations finalized within epoch 1');
      const proof0 = (await client.proofOf(ids[0]!, 0)) as { id: string; score: number; workWeightAfter: number };
      assert.equal(proof0.score, 40_000);
      // (5000 × 40000 + 5000 × 10000 + 5000) / 10000
      assert.equal(proof0.workWeightAfter, 25_000);

      // The end of epoch 1: rewards for epoch 0 by score (4 : 1 : 1 of 3000), 10 % commission.
      await waitUntil(async () => (await height()) > 2 * EPOCH, 60_000, 'epoch 2');
      const rewards = (await new FastposClient(net.nodes[1]!.url).rewardsOf(0)) as { paid: string; payouts: { validatorId: string; amount: string }[] };
      assert.equal(rewards.paid, '3000');
      assert.deepEqual(Object.fromEntries(rewards.payouts.map((p) => [p.validatorId, p.amount])), { [ids[0]!]: '2000', [ids[1]!]: '500', [ids[2]!]: '500' });

      // Proposers: from epoch 2 on, validator 0's proposer weight is votingPower × 25,000 / 10,000. Every block
      // of epochs 0 and 2 was proposed by whom the documented rule names for its height and round in its
      // epoch's set, and over many heights that rule gives validator 0 a share of 25/45 instead of 1/3.
      await waitUntil(async () => (await height()) >= 3 * EPOCH, 90_000, 'the end of epoch 2');
      const share = async (epoch: number, from: number): Promise<number> => {
        const set = await epochSet(epoch);
        const blocks = await blocksOf(from, from + EPOCH - 1);
        for (const b of blocks) assert.equal(b.header.proposer, selectProposer(set, b.header.height, b.header.round).id, `proposer of block ${b.header.height}`);
        let mine = 0;
        for (let h = 1; h <= 9000; h++) if (selectProposer(set, h, 0).id === ids[0]) mine++;
        t.diagnostic(`epoch ${epoch}: validator 0 proposed ${blocks.filter((b) => b.header.proposer === ids[0]).length} of ${EPOCH} blocks; the rule gives it ${mine} of 9000 heights`);
        return mine / 9000;
      };
      const w0 = (await epochSet(2)).validators.find((v) => v.id === ids[0])!;
      assert.equal(w0.proposerWeight, (w0.votingPower * 25_000n) / 10_000n);
      const [before, afterW] = [await share(0, 1), await share(2, 2 * EPOCH + 1)];
      assert.ok(Math.abs(before - 1 / 3) < 0.03, `share ${before} in epoch 0`);
      assert.ok(Math.abs(afterW - 25 / 45) < 0.03, `share ${afterW} in epoch 2`);

      // A challenge of the inflated proof (window 300 blocks from its finalization), resolved after the delay.
      const opened = await client.challenge(CHALLENGER.privateKey, { proofId: proof0.id }, { wait: { timeoutMs: 30_000 } });
      const challengeId = opened.id;
      const c0 = (await client.challengeById(challengeId)) as { status: string; resolvableAt: number };
      assert.equal(c0.status, 'open');
      await waitUntil(async () => (await height()) >= c0.resolvableAt, 30_000, 'the challenge is resolvable');
      for (const o of ORACLES) await client.resolveChallenge(o.privateKey, { challengeId, upheld: true }, { wait: { timeoutMs: 30_000 } });
      const c1 = (await client.challengeById(challengeId)) as { status: string; slashed: string };
      assert.equal(c1.status, 'upheld');
      assert.equal(BigInt(c1.slashed), 100_000n, '10 % of the self stake');
      const v0 = (await new FastposClient(net.nodes[1]!.url).validators()).find((v) => v.id === ids[0]) as { status: string; workWeight: number };
      assert.equal(v0.status, 'jailed');
      assert.equal(v0.workWeight, 10_000, 'back to its weight before the proof');

      // A product user settles through a retry (the same signed tx) and reconciles by reference.
      const signed = await client.buildTx(PAYER.privateKey, 'product_settle', { validatorId: ids[1]!, amount: 10_001n, reference: 'order-42' });
      const first = await client.submitWithRetry(signed.tx);
      const again = await client.submitWithRetry(signed.tx);
      assert.equal(again.id, first.id);
      const seen = await client.settlementLookup(PAYER.address, 'order-42', { includePending: true });
      assert.ok(seen !== undefined && (seen.status === 'pending' || seen.status === 'finalized'));
      await client.confirmTx(first.id, { timeoutMs: 30_000 });
      const done = await client.settlementLookup(PAYER.address, 'order-42');
      assert.equal(done?.status, 'finalized');
      assert.deepEqual([done!.settlement.amount, done!.settlement.protocolFee, done!.settlement.net], [10_001n, 101n, 9_900n]);
      // Reconciled in the statistics too: by validator, and by the epoch it was settled in.
      const stats = (await new FastposClient(net.nodes[2]!.url).settlementStats()) as unknown as {
        count: number;
        amount: string;
        protocolFee: string;
        byValidator: { validatorId: string; count: number; net: string }[];
        byEpoch: { epoch: number; amount: string }[];
      };
      assert.deepEqual([stats.count, stats.amount, stats.protocolFee], [1, '10001', '101']);
      assert.deepEqual(stats.byValidator.map((v) => [v.validatorId, v.count, v.net]), [[ids[1], 1, '9900']]);
      assert.deepEqual(stats.byEpoch.map((e) => [e.epoch, e.amount]), [[done!.settlement.epoch, '10001']]);
    } catch (e) {
      process.stderr.write(net.logTail(40) + '\n');
      throw e;
    }
  });
});
