/**
 * Challenges of finalized proofs: bonds, oracle votes after a delay,
 * upheld (slash, jail, pay the challenger, claw back), rejected or expired;
 * unbondings held while a validator is challenged.
 * @module
 */
import { openChallengesKey, accountKey, challengeExpiryKey, challengeKey, epochRewardsKey, productProofKey, validatorKey } from '../../codec/state.js';
import { ErrorCode } from '../../errors.js';
import type { Account, Address, ChallengeExpiryBucket, ProductChallenge, ProductChallengePayload, ProductResolvePayload, OpenChallenges, EpochRewards, RewardPayout, ChainParams, ProductParams, ProductProof } from '../../types/index.js';
import { readEpoch } from '../epochs.js';
import * as staking from '../staking.js';
import type { Overlay } from '../overlay.js';
import type { StateReader } from '../worldState.js';
import { credit, getProof, oracleSet, passesQuorum, productParams, type ProductTxContext, type RuleResult } from './common.js';


/** Challenges run with the context every product tx has. */
export type ChallengeContext = ProductTxContext;

export function getChallenge(state: StateReader, id: string): ProductChallenge | undefined {
  return state.get(challengeKey(id)) as ProductChallenge | undefined;
}


/** The reward paid for a proof: its validator's payout in its epoch's rewards record (0 if none). */
function rewardPaidFor(o: Overlay, proof: ProductProof): RewardPayout | undefined {
  return (o.get(epochRewardsKey(proof.epoch)) as EpochRewards | undefined)?.payouts.find((p) => p.validatorId === proof.validatorId);
}

/**
 * product_challenge: anyone challenges a finalized proof within
 * challengeWindowBlocks of its finalization, locking a bond of
 * challengeBond + floor(reward paid for the proof × challengeBondRewardBps /
 * 10,000) in the challenge. One open challenge per proof.
 */
export function challenge(o: Overlay, ctx: ChallengeContext, from: Address, p: ProductChallengePayload, txId: string): RuleResult {
  const proof = getProof(o, p.proofId);
  if (proof === undefined) return ErrorCode.NOT_FOUND;
  if (proof.status !== 'finalized') return ErrorCode.PROOF_INVALIDATED;
  const params = productParams(o);
  if (ctx.height > proof.finalizedHeight + params.challengeWindowBlocks) return ErrorCode.CHALLENGE_WINDOW_CLOSED;
  const last = proof.challenges.length === 0 ? undefined : getChallenge(o, proof.challenges[proof.challenges.length - 1]!);
  if (last?.status === 'open') return ErrorCode.CHALLENGE_EXISTS;
  const reward = rewardPaidFor(o, proof)?.amount ?? 0n;
  const bond = params.challengeBond + (reward * BigInt(params.challengeBondRewardBps)) / 10_000n;
  const account = (o.get(accountKey(from)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
  if (account.balance < bond) return ErrorCode.INSUFFICIENT_FUNDS;
  o.set(accountKey(from), { balance: account.balance - bond, nonce: account.nonce });
  const resolvableAt = ctx.height + params.challengeResolveDelayBlocks;
  const expiresAt = resolvableAt + params.challengeResolveDeadlineBlocks;
  const c: ProductChallenge = {
    id: txId,
    proofId: proof.id,
    validatorId: proof.validatorId,
    epoch: proof.epoch,
    challenger: from,
    bond,
    openedAt: ctx.height,
    resolvableAt,
    expiresAt,
    oracleSetVersion: oracleSet(o).version,
    votes: [],
    status: 'open',
    closedAt: null,
    slashed: 0n,
    challengerReward: 0n,
    clawedBack: 0n,
  };
  o.set(challengeKey(c.id), c);
  noteOpened(o, c.validatorId, expiresAt);
  o.set(productProofKey(proof.id), { ...proof, challenges: [...proof.challenges, c.id] });
  const bucketKey = challengeExpiryKey(expiresAt);
  const ids = (o.get(bucketKey) as ChallengeExpiryBucket | undefined)?.ids ?? [];
  o.set(bucketKey, { ids: [...ids, c.id] });
  return null;
}

/**
 * product_resolve_challenge: an oracle's vote, from resolvableAt on. The
 * challenge is upheld (or rejected) once the votes for that outcome hold more
 * than quorumBps of the oracle set's stake; votes count only in the set they
 * were cast in.
 */
export function resolveChallenge(o: Overlay, ctx: ChallengeContext, from: Address, p: ProductResolvePayload): RuleResult {
  const set = oracleSet(o);
  if (!set.oracles.some((x) => x.address === from)) return ErrorCode.FORBIDDEN;
  const c = getChallenge(o, p.challengeId);
  if (c === undefined) return ErrorCode.NOT_FOUND;
  if (c.status !== 'open') return ErrorCode.CHALLENGE_CLOSED;
  if (ctx.height < c.resolvableAt) return ErrorCode.CHALLENGE_NOT_RESOLVABLE;
  const earlier = c.oracleSetVersion === set.version ? c.votes : [];
  if (earlier.some((v) => v.oracle === from)) return ErrorCode.ALREADY_VOTED;
  const votes = [...earlier, { oracle: from, upheld: p.upheld, height: ctx.height }].sort((a, b) => (a.oracle < b.oracle ? -1 : 1));
  const stakeOf = (a: Address): bigint => set.oracles.find((x) => x.address === a)?.stake ?? 0n;
  const total = set.oracles.reduce((n, x) => n + x.stake, 0n);
  const params = productParams(o);
  const side = votes.filter((v) => v.upheld === p.upheld).reduce((n, v) => n + stakeOf(v.oracle), 0n);
  const open: ProductChallenge = { ...c, oracleSetVersion: set.version, votes };
  if (!passesQuorum(side, total, params.quorumBps)) {
    o.set(challengeKey(c.id), open);
    return null;
  }
  if (p.upheld) uphold(o, ctx, open, params);
  else {
    // Rejected: the bond is forfeited to the treasury.
    credit(o, ctx.treasury ?? c.challenger, c.bond);
    o.set(challengeKey(c.id), { ...open, status: 'rejected', closedAt: ctx.height });
    noteClosed(o, c.validatorId);
  }
  return null;
}

/**
 * An upheld challenge: the proof is invalidated; the validator is slashed
 * challengeSlashBps (the slashing rules: self stake, delegation pool and
 * unbondings since the challenged epoch began) and jailed
 * challengeJailBlocks; the challenger gets its bond back and
 * challengerRewardBps of what the slash took (the rest is burned); the reward
 * paid to the operator for the proof is taken back into the treasury, as far
 * as the operator's balance allows; a workWeight the proof raised goes back to
 * what it was before it.
 */
function uphold(o: Overlay, ctx: ChallengeContext, c: ProductChallenge, params: ProductParams): void {
  const proof = getProof(o, c.proofId)!;
  o.set(productProofKey(proof.id), { ...proof, status: 'invalidated' });
  const infractionHeight = readEpoch(o, proof.epoch)?.startHeight ?? proof.finalizedHeight;
  const slashed = staking.slash(o, ctx, c.validatorId, params.challengeSlashBps, infractionHeight, 'product_challenge');
  const share = (slashed * BigInt(params.challengerRewardBps)) / 10_000n;
  let v = staking.getValidator(o, c.validatorId)!;
  if (share > 0n) {
    // What the challenger is paid is not burned: the slash record keeps the net burn.
    const slashes = v.slashes.map((s, i) => (i === v.slashes.length - 1 ? { ...s, burned: s.burned - share } : s));
    v = { ...v, slashes };
    o.set(validatorKey(v.id), v);
  }
  if (proof.workWeightAfter > proof.workWeightBefore && v.workWeight > proof.workWeightBefore) {
    v = { ...v, workWeight: proof.workWeightBefore };
    o.set(validatorKey(v.id), v);
  }
  staking.jail(o, ctx, c.validatorId, params.challengeJailBlocks);
  let clawedBack = 0n;
  const payout = rewardPaidFor(o, proof);
  if (payout !== undefined && ctx.treasury !== undefined) {
    const operator = (o.get(accountKey(v.rewardAddress)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
    const owed = payout.commission + payout.toOperator;
    clawedBack = owed < operator.balance ? owed : operator.balance;
    if (clawedBack > 0n) {
      o.set(accountKey(v.rewardAddress), { balance: operator.balance - clawedBack, nonce: operator.nonce });
      credit(o, ctx.treasury, clawedBack);
    }
  }
  credit(o, c.challenger, c.bond + share);
  o.set(challengeKey(c.id), { ...c, status: 'upheld', closedAt: ctx.height, slashed, challengerReward: share, clawedBack });
  noteClosed(o, c.validatorId);
}

/** Challenges still open at the end of their last height expire: oracle inaction must not trap a bond, which goes back. */
export function expireChallenges(o: Overlay, height: number): void {
  const bucketKey = challengeExpiryKey(height);
  const bucket = o.get(bucketKey) as ChallengeExpiryBucket | undefined;
  if (bucket === undefined) return;
  for (const id of bucket.ids) {
    const c = getChallenge(o, id);
    if (c === undefined || c.status !== 'open') continue;
    credit(o, c.challenger, c.bond);
    o.set(challengeKey(id), { ...c, status: 'expired', closedAt: height });
    noteClosed(o, c.validatorId);
  }
  o.delete(bucketKey);
}


/**
 * The height until which a validator's maturing unbonding entries are held:
 * the end of its open challenges' deadlines (`pvopen/<validatorId>`), or
 * undefined when none is open. A validator cannot unbond out of reach of a
 * challenge (product-notes: a validator must not escape by leaving).
 */
export function unbondingHeldUntil(state: StateReader, validatorId: Address): number | undefined {
  const r = state.get(openChallengesKey(validatorId)) as OpenChallenges | undefined;
  return r === undefined ? undefined : r.until + 1;
}

function noteOpened(o: Overlay, validatorId: Address, expiresAt: number): void {
  const r = o.get(openChallengesKey(validatorId)) as OpenChallenges | undefined;
  o.set(openChallengesKey(validatorId), { count: (r?.count ?? 0) + 1, until: Math.max(r?.until ?? 0, expiresAt) });
}

function noteClosed(o: Overlay, validatorId: Address): void {
  const r = o.get(openChallengesKey(validatorId)) as OpenChallenges | undefined;
  if (r === undefined) return;
  if (r.count <= 1) o.delete(openChallengesKey(validatorId));
  else o.set(openChallengesKey(validatorId), { count: r.count - 1, until: r.until });
}

