/**
 * The product layer's attestation rules on the real state machine, with real
 * signed txs: who may attest, quorum arithmetic at and around the threshold,
 * the stake-weighted median, workWeight smoothing (rounding, bounds), expiry
 * of pending attestations and a change of the oracle set.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ORACLE_SET_KEY, attestationExpiryKey, challengeKey, epochRewardsKey, pendingAttestationKey, productProofKey } from '../../../src/codec/state.js';
import { decodeTx, encodeTx } from '../../../src/codec/tx.js';
import { devAccount, type DevKey } from '../../../src/crypto/keys.js';
import { decodeGenesis, encodeGenesis, genesisEntries, genesisHash } from '../../../src/state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS, getSettlement, passesQuorum, proofId, settlementQuote, smoothWorkWeight, weightedMedian } from '../../../src/state/product.js';
import { getAccount } from '../../../src/state/execute.js';
import type { EpochRewards, Genesis, OracleSet, PendingAttestation, ProductChallenge, ProductParams, ProductProof, Validator } from '../../../src/types/index.js';
import { Chain, GOV as GOVERNANCE, VALS, signTx, spec, supply, testGenesis } from './stakingHarness.js';

/** Oracles: dev accounts 20.. (funded below). */
const ORACLES = [20, 21, 22, 23].map((i) => devAccount(i));

function productGenesis(stakes: bigint[], params: Partial<ProductParams> = {}): Genesis {
  const g = testGenesis();
  return {
    ...g,
    // Long enough to outlast a challenge (window + delay + deadline), as the genesis requires.
    params: { ...g.params, unbondingPeriodBlocks: 2_000 },
    accounts: [...g.accounts, ...ORACLES.map((o) => ({ address: o.address, balance: 1_000_000n }))],
    product: { oracles: stakes.map((stake, i) => ({ address: ORACLES[i]!.address, stake })), params: { ...DEFAULT_PRODUCT_PARAMS, ...params } },
  };
}

const V0 = VALS[0]!.address;

function attest(oracle: DevKey, epoch: number, score: number, proofRef = 'ipfs://proof-a', validatorId = V0) {
  return spec(oracle, 'product_attest', { validatorId, epoch, score, proofRef });
}

function proof(c: Chain, validatorId: string, epoch: number): ProductProof | undefined {
  return c.ws.get(productProofKey(proofId(validatorId, epoch))) as ProductProof | undefined;
}

function pending(c: Chain, validatorId: string, epoch: number): PendingAttestation | undefined {
  return c.ws.get(pendingAttestationKey(validatorId, epoch)) as PendingAttestation | undefined;
}

/** A chain in epoch 1 (epochs of 5 blocks), so that epoch 0 can be attested. */
function chainIn1(g: Genesis): Chain {
  const c = new Chain(g);
  c.advanceTo(5);
  return c;
}

describe('product_attest: who may attest, and for what', () => {
  it('error: a sender outside the oracle set fails FORBIDDEN; an unknown validator NOT_FOUND; the running epoch EPOCH_NOT_ENDED', () => {
    const c = chainIn1(productGenesis([10n, 10n, 10n]));
    const [notOracle, unknown, running] = c.block([
      attest(devAccount(5), 0, 10_000),
      attest(ORACLES[0]!, 0, 10_000, 'x', 'ab'.repeat(20)),
      attest(ORACLES[0]!, 1, 10_000),
    ]);
    assert.deepEqual([notOracle, unknown, running].map((r) => r!.error), ['FORBIDDEN', 'NOT_FOUND', 'EPOCH_NOT_ENDED']);
    assert.equal(pending(c, V0, 0), undefined);
  });

  it('error: the same oracle twice is ALREADY_ATTESTED; after finalization PROOF_EXISTS', () => {
    const c = chainIn1(productGenesis([10n, 10n, 10n]));
    const [first, again] = c.block([attest(ORACLES[0]!, 0, 12_000), attest(ORACLES[0]!, 0, 12_000)]);
    assert.equal(first!.success, true);
    assert.equal(again!.error, 'ALREADY_ATTESTED');
    c.block([attest(ORACLES[1]!, 0, 12_000), attest(ORACLES[2]!, 0, 12_000)]);
    assert.ok(proof(c, V0, 0) !== undefined);
    const [late] = c.block([attest(ORACLES[0]!, 0, 1)]);
    assert.equal(late!.error, 'PROOF_EXISTS');
  });

  it('error: a score out of range or a bad proofRef is refused at decoding (never clamped)', () => {
    const good = encodeTx(signTx(attest(ORACLES[0]!, 0, 10_000), 0).tx) as any;
    assert.throws(() => decodeTx({ ...good, payload: { ...good.payload, score: 1_000_001 } }), /score must be an integer from 0 to 1000000/);
    assert.throws(() => decodeTx({ ...good, payload: { ...good.payload, score: -1 } }), /score/);
    assert.throws(() => decodeTx({ ...good, payload: { ...good.payload, proofRef: '' } }), /proofRef/);
    assert.throws(() => decodeTx({ ...good, payload: { ...good.payload, proofRef: 'has space' } }), /proofRef/);
    assert.throws(() => decodeTx({ ...good, payload: { ...good.payload, proofRef: 'x'.repeat(257) } }), /proofRef/);
    assert.throws(() => decodeTx({ ...good, payload: { ...good.payload, extra: 1 } }), /unknown product_attest payload field/);
  });
});

describe('product_attest: the quorum', () => {
  it('behavior: with three equal oracles two are not enough (2/3 is not more than 6667 bps); the third finalizes', () => {
    const c = chainIn1(productGenesis([10n, 10n, 10n]));
    c.block([attest(ORACLES[0]!, 0, 20_000), attest(ORACLES[1]!, 0, 20_000)]);
    assert.equal(proof(c, V0, 0), undefined);
    assert.equal(pending(c, V0, 0)?.reports.length, 2);
    c.block([attest(ORACLES[2]!, 0, 20_000)]);
    const p = proof(c, V0, 0)!;
    assert.equal(p.status, 'finalized');
    assert.deepEqual(p.oracles, [...ORACLES.slice(0, 3).map((o) => o.address)].sort());
    assert.equal(p.score, 20_000);
    assert.equal(p.finalizedHeight, 7);
    assert.equal(pending(c, V0, 0), undefined, 'the pending attestation is gone');
  });

  it('property: passesQuorum is exactly reported × 10000 > total × quorumBps', () => {
    assert.equal(passesQuorum(6667n, 10_000n, 6667), false, 'at the threshold: not more than it');
    assert.equal(passesQuorum(6668n, 10_000n, 6667), true);
    assert.equal(passesQuorum(2n, 3n, 6667), false);
    assert.equal(passesQuorum(0n, 0n, 5000), false, 'an empty set never finalizes');
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 5000, max: 9999 }), (total, r, q) => {
        const reported = r > total ? total : r;
        return passesQuorum(reported, total, q) === reported * 10_000n > total * BigInt(q);
      }),
    );
  });

  it('behavior: stakes decide, not heads: one oracle with more than 2/3 of the stake finalizes alone', () => {
    const c = chainIn1(productGenesis([70n, 10n, 10n, 10n]));
    c.block([attest(ORACLES[0]!, 0, 15_000)]);
    assert.equal(proof(c, V0, 0)?.score, 15_000);
  });
});

describe('product_attest: score and workWeight', () => {
  it('behavior: different scores finalize at the stake-weighted median; its proofRef is the best-staked one of that score', () => {
    const reports = [
      { oracle: 'a'.repeat(40), score: 100, proofRef: 'r1', height: 1 },
      { oracle: 'b'.repeat(40), score: 300, proofRef: 'r3', height: 1 },
      { oracle: 'c'.repeat(40), score: 200, proofRef: 'r2', height: 1 },
      { oracle: 'd'.repeat(40), score: 200, proofRef: 'r2b', height: 1 },
    ];
    const stakes: Record<string, bigint> = { ['a'.repeat(40)]: 10n, ['b'.repeat(40)]: 10n, ['c'.repeat(40)]: 5n, ['d'.repeat(40)]: 6n };
    assert.deepEqual(weightedMedian(reports, (o) => stakes[o]!), { score: 200, proofRef: 'r2b' });
    // A heavy outlier moves the median only as far as its stake allows.
    stakes['b'.repeat(40)] = 100n;
    assert.deepEqual(weightedMedian(reports, (o) => stakes[o]!), { score: 300, proofRef: 'r3' });
  });

  it('behavior: workWeight moves toward the score by workWeightSmoothingBps, rounded to nearest; the next epoch uses it', () => {
    const c = chainIn1(productGenesis([10n, 10n, 10n], { workWeightSmoothingBps: 2500 }));
    c.block(ORACLES.slice(0, 3).map((o) => attest(o, 0, 20_001)));
    // (2500 × 20001 + 7500 × 10000 + 5000) / 10000 = 12500.25 → 12500
    assert.equal(c.validator(V0).workWeight, 12_500);
    const p = proof(c, V0, 0)!;
    assert.deepEqual([p.workWeightBefore, p.workWeightAfter], [10_000, 12_500]);
    assert.equal(smoothWorkWeight(10_000, 10_003, 5000), 10_002, '10001.5 rounds up');
    assert.equal(smoothWorkWeight(10_000, 0, 10_000), 0);
    assert.equal(smoothWorkWeight(10_000, 1_000_000, 0), 10_000);
  });

  it('property: smoothing stays between the old weight and the score and converges to a constant score', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 10_000 }), (w, score, a) => {
        const next = smoothWorkWeight(w, score, a);
        if (next < Math.min(w, score) || next > Math.max(w, score)) return false;
        let x = w;
        for (let i = 0; i < 200_000 && x !== score; i++) {
          const y = smoothWorkWeight(x, score, a);
          if (y === x) break;
          x = y;
        }
        // Rounding to nearest stops within half a step of the score, never drifting away.
        return Math.abs(x - score) <= Math.ceil(10_000 / a);
      }),
      { numRuns: 200 },
    );
  });
});

describe('product_attest: expiry and oracle-set changes', () => {
  it('behavior: a pending attestation is dropped attestationTtlBlocks after its first report, then may start again', () => {
    const c = chainIn1(productGenesis([10n, 10n, 10n], { attestationTtlBlocks: 3 }));
    c.block([attest(ORACLES[0]!, 0, 11_000)]); // height 6: expires at the end of height 9
    const p = pending(c, V0, 0)!;
    assert.deepEqual([p.createdHeight, p.expiresAt], [6, 9]);
    assert.ok(c.ws.get(attestationExpiryKey(9)) !== undefined);
    c.advanceTo(8);
    c.block([attest(ORACLES[1]!, 0, 11_000)]); // height 9: two reports, still short
    assert.equal(pending(c, V0, 0), undefined, 'dropped at the end of height 9');
    assert.equal(c.ws.get(attestationExpiryKey(9)), undefined, 'and its bucket');
    const [again] = c.block([attest(ORACLES[0]!, 0, 11_000)]);
    assert.equal(again!.success, true);
    assert.deepEqual(pending(c, V0, 0)!.reports.map((r) => r.oracle), [ORACLES[0]!.address]);
  });

  it('behavior: reports count only in the oracle set they were made in: a new set version starts the attestation over', () => {
    const c = chainIn1(productGenesis([10n, 10n, 10n]));
    c.block([attest(ORACLES[0]!, 0, 11_000), attest(ORACLES[1]!, 0, 11_000)]);
    const set = c.ws.get(ORACLE_SET_KEY) as OracleSet;
    c.ws.apply(c.ws.diff(new Map([[ORACLE_SET_KEY, { version: set.version + 1, oracles: set.oracles }]])));
    c.block([attest(ORACLES[2]!, 0, 11_000)]);
    assert.equal(proof(c, V0, 0), undefined, 'two old reports and one new are not a quorum of the new set');
    assert.deepEqual(pending(c, V0, 0)!.reports.map((r) => r.oracle), [ORACLES[2]!.address]);
  });
});

describe('product genesis', () => {
  it('default: a genesis without a product section keeps its hash; one with it round-trips and seeds the oracle set', () => {
    const plain = testGenesis();
    assert.equal(genesisHash(decodeGenesis(encodeGenesis(plain))), genesisHash(plain));
    assert.equal('product' in encodeGenesis(plain), false);
    const g = productGenesis([10n, 20n]);
    const back = decodeGenesis(JSON.parse(JSON.stringify(encodeGenesis(g))));
    assert.deepEqual(back.product, { oracles: [...g.product!.oracles].sort((a, b) => (a.address < b.address ? -1 : 1)), params: g.product!.params });
    const set = new Map(genesisEntries(g)).get(ORACLE_SET_KEY) as OracleSet;
    assert.equal(set.version, 1);
    assert.equal(set.oracles.length, 2);
  });

  it('error: bad product sections name the field', () => {
    const base = encodeGenesis(productGenesis([10n])) as any;
    const bad = (product: unknown) => () => decodeGenesis({ ...base, product });
    assert.throws(bad({ oracles: [{ address: 'x', stake: '1' }] }), /product.oracles\[0\].address/);
    assert.throws(bad({ oracles: [{ address: 'ab'.repeat(20), stake: '0' }] }), /stake must be positive/);
    assert.throws(bad({ oracles: [{ address: 'ab'.repeat(20), stake: '1' }, { address: 'ab'.repeat(20), stake: '1' }] }), /appears twice/);
    assert.throws(bad({ params: { quorumBps: 4999 } }), /quorumBps must be an integer from 5000 to 9999/);
    assert.throws(bad({ params: { nope: 1 } }), /nope/);
  });
});

describe('product rewards at epoch transitions', () => {
  const TREASURY = 'de'.repeat(20);

  /** The harness chain, whose blocks also name the treasury (so rewards are paid). */
  class RewardChain extends Chain {
    override ctx(height = this.height + 1) {
      return { ...super.ctx(height), treasury: TREASURY };
    }
  }

  function rewardGenesis(opts: { treasury: bigint; reward: bigint; commissionBps?: number; stakes?: bigint[] }): Genesis {
    const g = productGenesis([10n, 10n, 10n], { rewardPerEpoch: opts.reward, commissionBps: opts.commissionBps ?? 1000 });
    const base = opts.stakes === undefined ? g : { ...g, validators: g.validators.map((v, i) => ({ ...v, stake: opts.stakes![i] ?? v.stake })) };
    return { ...base, accounts: [...base.accounts, { address: TREASURY, balance: opts.treasury }] };
  }

  /** Proofs of epoch 0 for validators 0.. with `scores`, finalized in epoch 1 (heights 6..). */
  function withProofs(c: Chain, scores: number[]): void {
    c.advanceTo(5);
    c.block(scores.flatMap((score, i) => ORACLES.slice(0, 3).map((o) => attest(o, 0, score, `ref-${i}`, VALS[i]!.address))));
  }

  it('behavior: the pool is split by score (floor), commission to the operator, the rest by self stake and pool; the remainder stays in the treasury', () => {
    const c = new RewardChain(rewardGenesis({ treasury: 1_000_000n, reward: 1001n, commissionBps: 1000 }));
    // Validator 1 gets a delegation: its pool shares the rest with its self stake.
    c.advanceTo(1);
    c.block([spec(devAccount(5), 'delegation_delegate', { validatorId: VALS[1]!.address, amount: 3000n })]);
    withProofs(c, [30_000, 10_000]);
    const [op0, op1] = [c.validator(VALS[0]!.address).rewardAddress, c.validator(VALS[1]!.address).rewardAddress];
    const before = { t: c.balance(TREASURY), op0: c.balance(op0), op1: c.balance(op1), pool1: c.validator(VALS[1]!.address).delegated };
    c.advanceTo(10); // end of epoch 1: pays epoch 0
    const r = c.ws.get(epochRewardsKey(0)) as EpochRewards;
    assert.equal(r.pool, 1001n);
    // floor(1001 × 3/4) = 750, floor(1001 × 1/4) = 250: remainder 1.
    assert.deepEqual(r.payouts.map((p) => [p.validatorId, p.amount]), [[VALS[0]!.address, 750n], [VALS[1]!.address, 250n]].sort());
    assert.equal(r.paid, 1000n);
    assert.equal(r.remainder, 1n);
    assert.equal(c.balance(TREASURY), before.t - 1000n);
    // Validator 0 (no delegators): 75 commission + 675 → all to its operator.
    assert.equal(c.balance(op0) - before.op0, 750n);
    // Validator 1: stake 3000, pool 3000: commission 25, rest 225 → pool floor(225 × 3000 / 6000) = 112, operator 25 + 113.
    const p1 = r.payouts.find((p) => p.validatorId === VALS[1]!.address)!;
    assert.deepEqual([p1.commission, p1.toOperator, p1.toDelegators], [25n, 113n, 112n]);
    assert.equal(c.balance(op1) - before.op1, 138n);
    assert.equal(c.validator(VALS[1]!.address).delegated - before.pool1, 112n);
  });

  it('behavior: the pool is at most the treasury balance; jailed validators and zero scores get nothing; each epoch is paid once', () => {
    const c = new RewardChain(rewardGenesis({ treasury: 90n, reward: 1000n }));
    withProofs(c, [20_000, 0, 20_000]);
    c.block([spec(GOVERNANCE, 'validator_jail', { validatorId: VALS[2]!.address, jailBlocks: 100 })]);
    c.advanceTo(10);
    const r = c.ws.get(epochRewardsKey(0)) as EpochRewards;
    assert.equal(r.pool, 90n);
    assert.deepEqual(r.payouts.map((p) => [p.validatorId, p.amount]), [[VALS[0]!.address, 90n]]);
    assert.equal(c.balance(TREASURY), 0n);
    c.advanceTo(15);
    assert.equal((c.ws.get(epochRewardsKey(1)) as EpochRewards).paid, 0n, 'epoch 1 had no proofs');
  });

  it('property: rewards move tokens, never create or destroy them (balances + stakes + pools + unbondings constant)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 4 }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.bigInt({ min: 1n, max: 500_000n }),
        (scores, treasury, reward, commissionBps, delegated) => {
          const c = new RewardChain(rewardGenesis({ treasury, reward, commissionBps }));
          c.advanceTo(1);
          c.block([spec(devAccount(4), 'delegation_delegate', { validatorId: VALS[0]!.address, amount: delegated })]);
          withProofs(c, scores);
          const s0 = supply(c.ws.allEntries()).supply;
          c.advanceTo(10);
          const r = c.ws.get(epochRewardsKey(0)) as EpochRewards | undefined;
          if (reward > 0n) {
            if (r === undefined || r.paid + r.remainder !== r.pool) return false;
            if (r.payouts.some((p) => p.commission + p.toOperator + p.toDelegators !== p.amount)) return false;
          }
          return supply(c.ws.allEntries()).supply === s0;
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('product challenges', () => {
  const TREASURY = 'de'.repeat(20);
  const CHALLENGER = devAccount(5);

  class TreasuryChain extends Chain {
    override ctx(height = this.height + 1) {
      return { ...super.ctx(height), treasury: TREASURY };
    }
    challenge(id: string): ProductChallenge | undefined {
      return this.ws.get(challengeKey(id)) as ProductChallenge | undefined;
    }
  }

  const PARAMS: Partial<ProductParams> = {
    rewardPerEpoch: 1000n,
    challengeBond: 500n,
    challengeBondRewardBps: 1000,
    challengeWindowBlocks: 20,
    challengeResolveDelayBlocks: 3,
    challengeResolveDeadlineBlocks: 5,
    challengeSlashBps: 1000,
    challengeJailBlocks: 50,
    challengerRewardBps: 5000,
  };

  /** A proof of validator 0 for epoch 0 (score 30,000), finalized at height 6 and paid at height 10. */
  function setup(): { c: TreasuryChain; proofId: string } {
    const g = productGenesis([10n, 10n, 10n], PARAMS);
    const c = new TreasuryChain({ ...g, params: { ...g.params, unbondingPeriodBlocks: 40 }, accounts: [...g.accounts, { address: TREASURY, balance: 100_000n }] });
    c.advanceTo(5);
    c.block(ORACLES.slice(0, 3).map((o) => attest(o, 0, 30_000)));
    c.advanceTo(10);
    return { c, proofId: proofId(V0, 0) };
  }

  const open = (proof: string) => spec(CHALLENGER, 'product_challenge', { proofId: proof });
  const vote = (i: number, challengeId: string, upheld: boolean) => spec(ORACLES[i]!, 'product_resolve_challenge', { challengeId, upheld });

  /** Opens a challenge in the next block; returns its id (the tx id). */
  function openChallenge(c: TreasuryChain, proof: string): string {
    const ex = c.execution();
    const d = signTx(open(proof), getAccount(ex.state, CHALLENGER.address).nonce);
    assert.equal(ex.apply(d).success, true);
    ex.endBlock();
    c.commit(ex);
    return d.id;
  }

  it('behavior: a challenge locks challengeBond + challengeBondRewardBps of the paid reward; one open challenge per proof; unknown proofs and closed windows fail', () => {
    const { c, proofId: pid } = setup();
    const before = c.balance(CHALLENGER.address);
    const id = openChallenge(c, pid);
    const ch = c.challenge(id)!;
    // The proof's reward was the whole pool (1000): bond 500 + 100.
    assert.equal(ch.bond, 600n);
    assert.equal(before - c.balance(CHALLENGER.address), 600n + 10n, 'bond and fee');
    assert.deepEqual([ch.status, ch.openedAt, ch.resolvableAt, ch.expiresAt], ['open', 11, 14, 19]);
    assert.deepEqual((c.ws.get(productProofKey(pid)) as ProductProof).challenges, [id]);
    const [again, unknown] = c.block([open(pid), open('ab'.repeat(32))]);
    assert.deepEqual([again!.error, unknown!.error], ['CHALLENGE_EXISTS', 'NOT_FOUND']);
    c.advanceTo(27);
    // Finalized at 6: the window of 20 blocks closed after height 26. (The first challenge expired at 19.)
    const [late] = c.block([open(pid)]);
    assert.equal(late!.error, 'CHALLENGE_WINDOW_CLOSED');
  });

  it('behavior: upheld by a quorum after the delay: proof invalidated, validator slashed and jailed, challenger paid bond + its share, reward taken back, workWeight restored; tokens only burned', () => {
    const { c, proofId: pid } = setup();
    const total0 = supply(c.ws.allEntries()).supply;
    const id = openChallenge(c, pid);
    const [early, outsider] = c.block([vote(0, id, true), spec(devAccount(4), 'product_resolve_challenge', { challengeId: id, upheld: true })]);
    assert.deepEqual([early!.error, outsider!.error], ['CHALLENGE_NOT_RESOLVABLE', 'FORBIDDEN']);
    c.advanceTo(13);
    const v0 = c.validator(V0);
    const op = c.balance(v0.rewardAddress);
    const challenger = c.balance(CHALLENGER.address);
    const treasury = c.balance(TREASURY);
    c.block([vote(0, id, true), vote(1, id, true)]); // height 14: two of three, not yet
    assert.equal(c.challenge(id)!.status, 'open');
    const [dup] = c.block([vote(0, id, false)]);
    assert.equal(dup!.error, 'ALREADY_VOTED');
    c.block([vote(2, id, true)]);
    const ch = c.challenge(id)!;
    assert.equal(ch.status, 'upheld');
    assert.equal((c.ws.get(productProofKey(pid)) as ProductProof).status, 'invalidated');
    const v = c.validator(V0);
    assert.equal(v.status, 'jailed');
    assert.equal(ch.slashed, (v0.stake * 1000n) / 10_000n, '10 % of its self stake (no pool, no unbondings)');
    assert.equal(ch.challengerReward, ch.slashed / 2n);
    assert.equal(v.slashes.at(-1)!.burned, ch.slashed - ch.challengerReward, 'the record keeps the net burn');
    assert.equal(c.balance(CHALLENGER.address) - challenger, ch.bond + ch.challengerReward, 'its bond and its share');
    assert.equal(ch.clawedBack, 1000n, 'the operator had the reward (commission and its part) and gives it back');
    assert.equal(op - c.balance(v0.rewardAddress), 1000n);
    assert.equal(c.balance(TREASURY) - treasury, 1000n);
    assert.equal(v.workWeight, 10_000, 'back to what it was before the proof');
    const { supply: total1 } = supply(c.ws.allEntries());
    assert.equal(total0 - total1, ch.slashed - ch.challengerReward, 'only the net slash left the supply');
    const [afterClose] = c.block([vote(0, id, false)]);
    assert.equal(afterClose!.error, 'CHALLENGE_CLOSED');
    const [reopen] = c.block([open(pid)]);
    assert.equal(reopen!.error, 'PROOF_INVALIDATED');
  });

  it('behavior: rejected by a quorum: the bond goes to the treasury; unresolved: it expires and the bond goes back', () => {
    const { c, proofId: pid } = setup();
    const id = openChallenge(c, pid);
    c.advanceTo(13);
    const treasury = c.balance(TREASURY);
    c.block([vote(0, id, false), vote(1, id, false), vote(2, id, false)]);
    assert.equal(c.challenge(id)!.status, 'rejected');
    assert.equal(c.balance(TREASURY) - treasury, 600n);
    assert.equal(c.validator(V0).status, 'active');
    // A second challenge (height 15), left alone, expires at the end of height 15 + 3 + 5 = 23.
    const id2 = openChallenge(c, pid);
    const challenger = c.balance(CHALLENGER.address);
    c.advanceTo(22);
    assert.equal(c.challenge(id2)!.status, 'open');
    c.advanceTo(23);
    const ch = c.challenge(id2)!;
    assert.deepEqual([ch.status, ch.closedAt], ['expired', 23]);
    assert.equal(c.balance(CHALLENGER.address) - challenger, ch.bond);
  });

  it('error: a genesis whose unbonding period does not outlast window + delay + deadline is refused', () => {
    const g = productGenesis([10n], { challengeWindowBlocks: 10, challengeResolveDelayBlocks: 0, challengeResolveDeadlineBlocks: 1 });
    assert.throws(() => decodeGenesis(JSON.parse(JSON.stringify(encodeGenesis({ ...g, params: { ...g.params, unbondingPeriodBlocks: 11 } })))), /unbondingPeriodBlocks \(11\) must be greater than/);
    assert.doesNotThrow(() => decodeGenesis(JSON.parse(JSON.stringify(encodeGenesis({ ...g, params: { ...g.params, unbondingPeriodBlocks: 12 } })))));
  });
});

describe('product settlements', () => {
  const TREASURY = 'de'.repeat(20);
  const PAYER = devAccount(5);

  class TreasuryChain extends Chain {
    override ctx(height = this.height + 1) {
      return { ...super.ctx(height), treasury: TREASURY };
    }
  }

  const settleSpec = (amount: bigint, reference: string, validatorId = V0) => spec(PAYER, 'product_settle', { validatorId, amount, reference });

  it('behavior: the payer pays amount; ceil(amount × settlementFeeBps / 10000) to the treasury, the rest to the operator; the receipt records the rate', () => {
    const c = new TreasuryChain(productGenesis([10n], { settlementFeeBps: 250 }));
    const op = c.validator(V0).rewardAddress;
    const before = { payer: c.balance(PAYER.address), op: c.balance(op), t: c.balance(TREASURY) };
    const [r] = c.block([settleSpec(1001n, 'invoice-1')]);
    assert.equal(r!.success, true);
    // ceil(1001 × 250 / 10000) = ceil(25.025) = 26
    assert.equal(before.payer - c.balance(PAYER.address), 1001n + 10n);
    assert.equal(c.balance(TREASURY) - before.t, 26n);
    assert.equal(c.balance(op) - before.op, 975n);
    const receipt = getSettlement(c.ws, PAYER.address, 'invoice-1')!;
    assert.deepEqual([receipt.amount, receipt.protocolFee, receipt.net, receipt.feeBps, receipt.height], [1001n, 26n, 975n, 250, 1]);
  });

  it('error: the same (payer, reference) again is SETTLEMENT_EXISTS, whatever it says; a failed one does not use up its reference', () => {
    const c = new TreasuryChain(productGenesis([10n]));
    c.block([settleSpec(100n, 'order-7')]);
    const [same, other] = c.block([settleSpec(100n, 'order-7'), settleSpec(999n, 'order-7')]);
    assert.deepEqual([same!.error, other!.error], ['SETTLEMENT_EXISTS', 'SETTLEMENT_EXISTS']);
    const [unknown] = c.block([settleSpec(100n, 'order-8', 'ab'.repeat(20))]);
    assert.equal(unknown!.error, 'NOT_FOUND');
    const [ok] = c.block([settleSpec(100n, 'order-8')]);
    assert.equal(ok!.success, true, 'the failed attempt left order-8 free');
    const [poor] = c.block([settleSpec(10n ** 12n, 'order-9')]);
    assert.equal(poor!.error, 'INSUFFICIENT_FUNDS');
  });

  it('property: the protocol fee is the ceiling (splitting into dust cannot avoid it) and fee + net = amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.integer({ min: 0, max: 10_000 }), (amount, bps) => {
        const { protocolFee, net } = settlementQuote(amount, bps);
        const exact = amount * BigInt(bps);
        return protocolFee + net === amount && protocolFee * 10_000n >= exact && (protocolFee - 1n) * 10_000n < exact && (bps === 0 || amount === 0n || protocolFee > 0n);
      }),
    );
    assert.equal(settlementQuote(1n, 1).protocolFee, 1n, 'one unit at 0.01 % still pays one unit');
  });
});

describe('product_set_oracles', () => {
  it('behavior: governance replaces the oracle set (version + 1, sorted); anyone else FORBIDDEN; reports of the old set stop counting', () => {
    const c = chainIn1(productGenesis([10n, 10n, 10n]));
    c.block([attest(ORACLES[0]!, 0, 11_000), attest(ORACLES[1]!, 0, 11_000)]);
    const next = [ORACLES[3]!, ORACLES[2]!].map((o) => ({ address: o.address, stake: 5n }));
    const [outsider] = c.block([spec(devAccount(5), 'product_set_oracles', { oracles: next })]);
    assert.equal(outsider!.error, 'FORBIDDEN');
    const [ok] = c.block([spec(GOVERNANCE, 'product_set_oracles', { oracles: next })]);
    assert.equal(ok!.success, true);
    const set = c.ws.get(ORACLE_SET_KEY) as OracleSet;
    assert.equal(set.version, 2);
    assert.deepEqual(set.oracles.map((o) => o.address), next.map((o) => o.address).sort());
    const [gone] = c.block([attest(ORACLES[0]!, 0, 11_000)]);
    assert.equal(gone!.error, 'FORBIDDEN', 'no longer an oracle');
    // Oracle 2 stays: its report is the first of the new set; oracle 3's completes the quorum (2 of 2).
    c.block([attest(ORACLES[2]!, 0, 11_000), attest(ORACLES[3]!, 0, 11_000)]);
    assert.deepEqual(proof(c, V0, 0)!.oracles, next.map((o) => o.address).sort());
  });

  it('error: a malformed set is refused at decoding', () => {
    const good = encodeTx(signTx(spec(GOVERNANCE, 'product_set_oracles', { oracles: [{ address: ORACLES[0]!.address, stake: 1n }] }), 0).tx) as any;
    const bad = (oracles: unknown) => () => decodeTx({ ...good, payload: { oracles } });
    assert.throws(bad([{ address: ORACLES[0]!.address, stake: '0' }]), /stake must be greater than 0/);
    assert.throws(bad([{ address: ORACLES[0]!.address, stake: '1' }, { address: ORACLES[0]!.address, stake: '2' }]), /appears twice/);
    assert.throws(bad([{ address: 'x', stake: '1' }]), /address/);
    assert.throws(bad(Array.from({ length: 101 }, (_, i) => ({ address: i.toString(16).padStart(40, '0'), stake: '1' }))), /at most 100/);
  });
});

describe('product layer: conservation over random histories', () => {
  const TREASURY = 'de'.repeat(20);
  class TreasuryChain extends Chain {
    override ctx(height = this.height + 1) {
      return { ...super.ctx(height), treasury: TREASURY };
    }
  }

  /** Tokens: balances, stakes, pools, unbondings and the bonds open challenges hold; and what slashes burned (net). */
  function tokens(c: Chain): { held: bigint; burned: bigint } {
    let held = supply(c.ws.allEntries()).supply;
    let burned = 0n;
    for (const [k, v] of c.ws.allEntries()) {
      if (k.startsWith('pchal/') && (v as ProductChallenge).status === 'open') held += (v as ProductChallenge).bond;
      if (k.startsWith('val/')) for (const s of (v as Validator).slashes) burned += s.burned;
    }
    return { held, burned };
  }

  type Step =
    | { t: 'attest'; oracle: number; validator: number; score: number }
    | { t: 'challenge'; validator: number }
    | { t: 'resolve'; oracle: number; upheld: boolean }
    | { t: 'settle'; validator: number; amount: bigint; ref: number }
    | { t: 'delegate'; validator: number; amount: bigint }
    | { t: 'blocks'; n: number }
    | { t: 'fraud'; validator: number; upheld: boolean };

  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ t: fc.constant('attest' as const), oracle: fc.integer({ min: 0, max: 2 }), validator: fc.integer({ min: 0, max: 2 }), score: fc.integer({ min: 0, max: 40_000 }) }),
    fc.record({ t: fc.constant('challenge' as const), validator: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ t: fc.constant('resolve' as const), oracle: fc.integer({ min: 0, max: 2 }), upheld: fc.boolean() }),
    fc.record({ t: fc.constant('settle' as const), validator: fc.integer({ min: 0, max: 3 }), amount: fc.bigInt({ min: 1n, max: 5_000n }), ref: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ t: fc.constant('delegate' as const), validator: fc.integer({ min: 0, max: 2 }), amount: fc.bigInt({ min: 1n, max: 2_000n }) }),
    fc.record({ t: fc.constant('blocks' as const), n: fc.integer({ min: 1, max: 6 }) }),
    // A whole challenge: three reports, a challenge, the delay, three votes.
    fc.record({ t: fc.constant('fraud' as const), validator: fc.integer({ min: 0, max: 2 }), upheld: fc.boolean() }),
  );

  it('property: every product tx and epoch transition moves tokens, burning only what slashes record (net of the challenger\'s share)', () => {
    let upheldSeen = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 5, maxLength: 40 }), (steps) => {
        const g = productGenesis([10n, 10n, 10n], {
          rewardPerEpoch: 700n,
          challengeBond: 100n,
          challengeWindowBlocks: 30,
          challengeResolveDelayBlocks: 1,
          challengeResolveDeadlineBlocks: 8,
          settlementFeeBps: 300,
        });
        const c = new TreasuryChain({ ...g, accounts: [...g.accounts, { address: TREASURY, balance: 10_000n }] });
        const start = tokens(c);
        let lastChallenge: string | undefined;
        for (const s of steps) {
          const epoch = Math.max(0, Math.floor(c.height / 5) - 1);
          switch (s.t) {
            case 'attest':
              c.block([attest(ORACLES[s.oracle]!, epoch, s.score, 'r', VALS[s.validator]!.address)]);
              break;
            case 'challenge': {
              const ex = c.execution();
              const d = signTx(spec(devAccount(5), 'product_challenge', { proofId: proofId(VALS[s.validator]!.address, epoch) }), getAccount(ex.state, devAccount(5).address).nonce);
              if (ex.apply(d).success) lastChallenge = d.id;
              ex.endBlock();
              c.commit(ex);
              break;
            }
            case 'resolve':
              if (lastChallenge !== undefined) c.block([spec(ORACLES[s.oracle]!, 'product_resolve_challenge', { challengeId: lastChallenge, upheld: s.upheld })]);
              break;
            case 'settle':
              c.block([spec(devAccount(4), 'product_settle', { validatorId: s.validator === 3 ? 'ab'.repeat(20) : VALS[s.validator]!.address, amount: s.amount, reference: `ref-${s.ref}` })]);
              break;
            case 'delegate':
              c.block([spec(devAccount(3), 'delegation_delegate', { validatorId: VALS[s.validator]!.address, amount: s.amount })]);
              break;
            case 'blocks':
              c.advanceTo(c.height + s.n);
              break;
            case 'fraud': {
              const v = VALS[s.validator]!.address;
              c.block(ORACLES.slice(0, 3).map((o) => attest(o, epoch, 30_000, 'r', v)));
              const ex = c.execution();
              const d = signTx(spec(devAccount(5), 'product_challenge', { proofId: proofId(v, epoch) }), getAccount(ex.state, devAccount(5).address).nonce);
              const opened = ex.apply(d).success;
              ex.endBlock();
              c.commit(ex);
              if (opened) {
                c.advanceTo(c.height + 1);
                c.block(ORACLES.slice(0, 3).map((o) => spec(o, 'product_resolve_challenge', { challengeId: d.id, upheld: s.upheld })));
                if (s.upheld && (c.ws.get(challengeKey(d.id)) as ProductChallenge).status === 'upheld') upheldSeen++;
              }
              break;
            }
          }
          const now = tokens(c);
          if (now.held + (now.burned - start.burned) !== start.held) return false;
        }
        return true;
      }),
      { numRuns: 60 },
    );
    assert.ok(upheldSeen > 0, 'some histories uphold a challenge');
  });
});

/** The operator key of validator 0 in the harness genesis. */
function OPS_OF(c: Chain): DevKey {
  const address = c.validator(V0).rewardAddress;
  return [10, 11, 12, 13].map((i) => devAccount(i)).find((k) => k.address === address)!;
}

describe('unbonding during a challenge', () => {
  const TREASURY = 'de'.repeat(20);
  class TreasuryChain extends Chain {
    override ctx(height = this.height + 1) {
      return { ...super.ctx(height), treasury: TREASURY };
    }
  }

  it('behavior: an unbonding entry maturing while its validator is challenged is held until the challenge closes, and an upheld challenge slashes it', () => {
    const g = productGenesis([10n, 10n, 10n], { challengeBond: 100n, challengeWindowBlocks: 20, challengeResolveDelayBlocks: 3, challengeResolveDeadlineBlocks: 5 });
    const c = new TreasuryChain({ ...g, params: { ...g.params, unbondingPeriodBlocks: 40 } });
    const operator = OPS_OF(c);
    // Height 1: the operator unbonds 1000 of its self stake: due at the end of height 41.
    c.block([spec(operator, 'validator_unbond', { validatorId: V0, amount: 1000n })]);
    c.advanceTo(19);
    c.block(ORACLES.slice(0, 3).map((o) => attest(o, 0, 30_000))); // finalized at 20
    c.advanceTo(39);
    const ex = c.execution();
    const d = signTx(spec(devAccount(5), 'product_challenge', { proofId: proofId(V0, 0) }), getAccount(ex.state, devAccount(5).address).nonce);
    assert.equal(ex.apply(d).success, true); // height 40: resolvable at 43, expires at the end of 48
    ex.endBlock();
    c.commit(ex);
    const before = c.balance(operator.address);
    c.advanceTo(41);
    assert.equal(c.bucket(41), undefined);
    assert.deepEqual(c.bucket(49)?.entries.map((e) => e.amount), [1000n], 'held until after the challenge deadline');
    assert.equal(c.balance(operator.address), before, 'not paid out at maturity');
    c.advanceTo(42);
    c.block(ORACLES.slice(0, 3).map((o) => spec(o, 'product_resolve_challenge', { challengeId: d.id, upheld: true }))); // 43
    assert.deepEqual(c.bucket(49)?.entries.map((e) => e.amount), [950n], 'slashed challengeSlashBps (5 %) with the validator');
    c.advanceTo(48);
    assert.equal(c.balance(operator.address), before);
    c.advanceTo(49);
    assert.equal(c.balance(operator.address) - before, 950n, 'released after the deadline');
  });
});
