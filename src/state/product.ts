/**
 * The product layer's attestation rules (pure, deterministic): oracles of the
 * oracle set attest a validator's work score for a completed epoch
 * (`product_attest`); reports accumulate oracle stake per (validator, epoch)
 * and, once they hold more than `quorumBps` of the whole set's stake,
 * finalize into a `ProductProof` whose score is the stake-weighted median of
 * the reports, and the validator's `workWeight` moves toward it:
 *
 *     w' = floor((α·score + (10,000 − α)·w + 5,000) / 10,000)   (α = workWeightSmoothingBps)
 *
 * (rounded to nearest, halves up: a floor-only average drifts down). The new
 * workWeight feeds proposer selection from the next epoch boundary, like any
 * change of a validator record. A pending attestation is dropped
 * `attestationTtlBlocks` after its first report; a change of the oracle set
 * makes it start over (reports count only in the set they were made in).
 * @module
 */
import {
  openChallengesKey,
  settlementKey,
  accountKey,
  challengeExpiryKey,
  challengeKey,
  epochProofsKey,
  epochRewardsKey,
  ORACLE_SET_KEY,
  PRODUCT_PARAMS_KEY,
  attestationExpiryKey,
  pendingAttestationKey,
  productProofKey,
  validatorKey,
} from '../codec/state.js';
import { sha256Hex } from '../crypto/hash.js';
import { ErrorCode } from '../errors.js';
import type {
  Account,
  Address,
  ChallengeExpiryBucket,
  ProductChallenge,
  ProductChallengePayload,
  ProductResolvePayload,
  ProductSettlePayload,
  ProductSetOraclesPayload,
  OpenChallenges,
  Settlement,
  EpochProofIndex,
  EpochRewards,
  RewardPayout,
  AttestationExpiryBucket,
  ChainParams,
  OracleReport,
  OracleSet,
  PendingAttestation,
  ProductAttestPayload,
  ProductParams,
  ProductProof,
  Validator,
} from '../types/index.js';
import { epochOf, readEpoch } from './epochs.js';
import * as staking from './staking.js';
import type { Overlay } from './overlay.js';
import type { StateReader } from './worldState.js';

export const DEFAULT_PRODUCT_PARAMS: ProductParams = {
  quorumBps: 6667,
  attestationTtlBlocks: 1_000,
  workWeightSmoothingBps: 5_000,
  rewardPerEpoch: 0n,
  commissionBps: 1_000,
  challengeBond: 1_000n,
  challengeBondRewardBps: 1_000,
  challengeWindowBlocks: 300,
  challengeResolveDelayBlocks: 50,
  challengeResolveDeadlineBlocks: 500,
  challengeSlashBps: 500,
  challengeJailBlocks: 1_000,
  challengerRewardBps: 5_000,
  settlementFeeBps: 100,
};

export const EMPTY_ORACLE_SET: OracleSet = { version: 0, oracles: [] };

export interface ProductContext {
  readonly height: number;
  readonly params: Pick<ChainParams, 'epochLengthBlocks'>;
}

/** A rule's outcome: null on success, else the failed tx's code. */
type RuleResult = ErrorCode | null;

export function productParams(state: StateReader): ProductParams {
  return (state.get(PRODUCT_PARAMS_KEY) as ProductParams | undefined) ?? DEFAULT_PRODUCT_PARAMS;
}

export function oracleSet(state: StateReader): OracleSet {
  return (state.get(ORACLE_SET_KEY) as OracleSet | undefined) ?? EMPTY_ORACLE_SET;
}

/** Id of the proof of (validator, epoch): hex(sha256("fastpos/product/proof/v1\n" + validatorId + "/" + epoch)). */
export function proofId(validatorId: Address, epoch: number): string {
  return sha256Hex(`fastpos/product/proof/v1\n${validatorId}/${epoch}`);
}

export function getProof(state: StateReader, id: string): ProductProof | undefined {
  return state.get(productProofKey(id)) as ProductProof | undefined;
}

export function getPendingAttestation(state: StateReader, validatorId: Address, epoch: number): PendingAttestation | undefined {
  return state.get(pendingAttestationKey(validatorId, epoch)) as PendingAttestation | undefined;
}

/** Whether reports holding `reported` of the set's `total` stake pass the quorum: reported / total > quorumBps / 10,000. */
export function passesQuorum(reported: bigint, total: bigint, quorumBps: number): boolean {
  return total > 0n && reported * 10_000n > total * BigInt(quorumBps);
}

/**
 * The stake-weighted (lower) median score of `reports`: the smallest score
 * such that the reports at or below it hold at least half of their stake.
 * Its proof reference is the one with the most stake among the reports of
 * that score (ties: the smallest string).
 */
export function weightedMedian(reports: readonly OracleReport[], stakeOf: (oracle: Address) => bigint): { score: number; proofRef: string } {
  const sorted = [...reports].sort((a, b) => a.score - b.score || (a.oracle < b.oracle ? -1 : 1));
  const total = sorted.reduce((n, r) => n + stakeOf(r.oracle), 0n);
  let seen = 0n;
  let score = sorted[sorted.length - 1]!.score;
  for (const r of sorted) {
    seen += stakeOf(r.oracle);
    if (seen * 2n >= total) {
      score = r.score;
      break;
    }
  }
  const byRef = new Map<string, bigint>();
  for (const r of sorted) if (r.score === score) byRef.set(r.proofRef, (byRef.get(r.proofRef) ?? 0n) + stakeOf(r.oracle));
  let proofRef = '';
  let best = -1n;
  for (const [ref, stake] of [...byRef].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (stake > best) {
      proofRef = ref;
      best = stake;
    }
  }
  return { score, proofRef };
}

/** The smoothed work weight: round-half-up of (α·score + (10,000 − α)·w) / 10,000. */
export function smoothWorkWeight(w: number, score: number, alphaBps: number): number {
  return Math.floor((alphaBps * score + (10_000 - alphaBps) * w + 5_000) / 10_000);
}

/** product_attest: an oracle's report; may finalize the proof of (validator, epoch). */
export function attest(o: Overlay, ctx: ProductContext, from: Address, p: ProductAttestPayload): RuleResult {
  const set = oracleSet(o);
  const oracle = set.oracles.find((x) => x.address === from);
  if (oracle === undefined) return ErrorCode.FORBIDDEN;
  const v = o.get(validatorKey(p.validatorId)) as Validator | undefined;
  if (v === undefined) return ErrorCode.NOT_FOUND;
  // Work is attested once its epoch is over.
  if (p.epoch >= epochOf(ctx.height, ctx.params)) return ErrorCode.EPOCH_NOT_ENDED;
  const id = proofId(p.validatorId, p.epoch);
  if (getProof(o, id) !== undefined) return ErrorCode.PROOF_EXISTS;
  const params = productParams(o);
  const key = pendingAttestationKey(p.validatorId, p.epoch);
  let pending = o.get(key) as PendingAttestation | undefined;
  if (pending !== undefined && pending.oracleSetVersion !== set.version) {
    // Reports count only in the set they were made in: start over.
    pending = undefined;
  }
  if (pending?.reports.some((r) => r.oracle === from)) return ErrorCode.ALREADY_ATTESTED;
  const report: OracleReport = { oracle: from, score: p.score, proofRef: p.proofRef, height: ctx.height };
  const reports = [...(pending?.reports ?? []), report].sort((a, b) => (a.oracle < b.oracle ? -1 : 1));
  const stakeOf = (a: Address): bigint => set.oracles.find((x) => x.address === a)?.stake ?? 0n;
  const reported = reports.reduce((n, r) => n + stakeOf(r.oracle), 0n);
  const total = set.oracles.reduce((n, x) => n + x.stake, 0n);
  if (!passesQuorum(reported, total, params.quorumBps)) {
    const createdHeight = pending?.createdHeight ?? ctx.height;
    const expiresAt = pending?.expiresAt ?? ctx.height + params.attestationTtlBlocks;
    if (pending === undefined) {
      const bucketKey = attestationExpiryKey(expiresAt);
      const bucket = (o.get(bucketKey) as AttestationExpiryBucket | undefined)?.attestations ?? [];
      o.set(bucketKey, { attestations: [...bucket, { validatorId: p.validatorId, epoch: p.epoch }] });
    }
    o.set(key, { validatorId: p.validatorId, epoch: p.epoch, oracleSetVersion: set.version, createdHeight, expiresAt, reports });
    return null;
  }
  const { score, proofRef } = weightedMedian(reports, stakeOf);
  const workWeightAfter = smoothWorkWeight(v.workWeight, score, params.workWeightSmoothingBps);
  const proof: ProductProof = {
    id,
    validatorId: p.validatorId,
    epoch: p.epoch,
    score,
    proofRef,
    oracles: reports.map((r) => r.oracle),
    status: 'finalized',
    finalizedHeight: ctx.height,
    workWeightBefore: v.workWeight,
    workWeightAfter,
    challenges: [],
  };
  o.set(productProofKey(id), proof);
  const indexKey = epochProofsKey(p.epoch);
  const ids = (o.get(indexKey) as EpochProofIndex | undefined)?.validatorIds ?? [];
  o.set(indexKey, { validatorIds: [...ids, p.validatorId].sort() });
  if (pending !== undefined || o.get(key) !== undefined) o.delete(key);
  o.set(validatorKey(v.id), { ...v, workWeight: workWeightAfter });
  return null;
}

/** Drops the pending attestations whose time ran out at the end of `height`. */
export function expireAttestations(o: Overlay, height: number): void {
  const bucketKey = attestationExpiryKey(height);
  const bucket = o.get(bucketKey) as AttestationExpiryBucket | undefined;
  if (bucket === undefined) return;
  for (const a of bucket.attestations) {
    const key = pendingAttestationKey(a.validatorId, a.epoch);
    const pending = o.get(key) as PendingAttestation | undefined;
    // It may have finalized, or started over (with a later expiry) since.
    if (pending !== undefined && pending.expiresAt === height) o.delete(key);
  }
  o.delete(bucketKey);
}

export interface RewardContext {
  readonly height: number;
  readonly params: Pick<ChainParams, 'epochLengthBlocks'>;
  readonly treasury: Address;
}

/**
 * At the last block of epoch e: the treasury pays for the proofs of epoch
 * e − 1 (finalized by now). pool = min(rewardPerEpoch, treasury balance);
 * each active validator with a finalized proof of score s_i > 0 gets
 * floor(pool × s_i / Σ s); the rounding remainder stays in the treasury. Of a
 * validator's amount, floor(amount × commissionBps / 10,000) is its
 * commission; the rest is shared between its self stake and its delegation
 * pool by their sizes (floor for the pool): the operator (rewardAddress) is
 * paid the commission and the self-stake part, the pool's part is added to
 * the pool, so every delegator's shares are worth more. Recorded in
 * `preward/<e − 1>`. Σ paid + remainder = pool, always.
 */
export function payEpochRewards(o: Overlay, ctx: RewardContext): void {
  const current = epochOf(ctx.height, ctx.params);
  if (current === 0) return;
  const epoch = current - 1;
  const params = productParams(o);
  if (params.rewardPerEpoch === 0n || o.get(epochRewardsKey(epoch)) !== undefined) return;
  const ids = (o.get(epochProofsKey(epoch)) as EpochProofIndex | undefined)?.validatorIds ?? [];
  const entries: { v: Validator; score: bigint }[] = [];
  for (const id of ids) {
    const proof = getProof(o, proofId(id, epoch));
    const v = o.get(validatorKey(id)) as Validator | undefined;
    if (proof?.status !== 'finalized' || v === undefined || v.status !== 'active' || proof.score === 0) continue;
    entries.push({ v, score: BigInt(proof.score) });
  }
  const treasury = (o.get(accountKey(ctx.treasury)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
  const pool = params.rewardPerEpoch < treasury.balance ? params.rewardPerEpoch : treasury.balance;
  const total = entries.reduce((n, e) => n + e.score, 0n);
  const payouts: RewardPayout[] = [];
  let paid = 0n;
  if (total > 0n && pool > 0n) {
    for (const { v, score } of entries) {
      const amount = (pool * score) / total;
      const commission = (amount * BigInt(params.commissionBps)) / 10_000n;
      const rest = amount - commission;
      const power = v.stake + v.delegated;
      const toDelegators = v.delegatorShares > 0n && power > 0n ? (rest * v.delegated) / power : 0n;
      const toOperator = commission + (rest - toDelegators);
      if (toOperator > 0n) {
        const op = (o.get(accountKey(v.rewardAddress)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
        o.set(accountKey(v.rewardAddress), { balance: op.balance + toOperator, nonce: op.nonce });
      }
      if (toDelegators > 0n) o.set(validatorKey(v.id), { ...v, delegated: v.delegated + toDelegators });
      payouts.push({ validatorId: v.id, score: Number(score), amount, commission, toOperator: toOperator - commission, toDelegators });
      paid += amount;
    }
  }
  if (paid > 0n) {
    const t = (o.get(accountKey(ctx.treasury)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
    o.set(accountKey(ctx.treasury), { balance: t.balance - paid, nonce: t.nonce });
  }
  const record: EpochRewards = { epoch, paidAt: ctx.height, pool, paid, remainder: pool - paid, payouts };
  o.set(epochRewardsKey(epoch), record);
}

// ---------------------------------------------------------------- challenges

export interface ChallengeContext {
  readonly height: number;
  readonly params: ChainParams;
  /** Where a rejected challenge's bond and a clawed-back reward go; none: the bond goes back to the challenger. */
  readonly treasury?: Address;
}

export function getChallenge(state: StateReader, id: string): ProductChallenge | undefined {
  return state.get(challengeKey(id)) as ProductChallenge | undefined;
}

function credit(o: Overlay, address: Address, amount: bigint): void {
  if (amount === 0n) return;
  const a = (o.get(accountKey(address)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
  o.set(accountKey(address), { balance: a.balance + amount, nonce: a.nonce });
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

// ---------------------------------------------------------------- settlements

/** What a settlement of `amount` costs: the protocol fee ceil(amount × settlementFeeBps / 10,000) (dust cannot avoid it) and the net. */
export function settlementQuote(amount: bigint, feeBps: number): { protocolFee: bigint; net: bigint } {
  const fee = (amount * BigInt(feeBps) + 9_999n) / 10_000n;
  const protocolFee = fee > amount ? amount : fee;
  return { protocolFee, net: amount - protocolFee };
}

export function getSettlement(state: StateReader, payer: Address, reference: string): Settlement | undefined {
  return state.get(settlementKey(payer, reference)) as Settlement | undefined;
}

/**
 * product_settle: the payer pays `amount` for (payer, reference) — once: a
 * second settlement of the pair fails SETTLEMENT_EXISTS whatever it says —
 * the protocol fee to the treasury and the rest to the validator's operator.
 * A settlement that fails does not use up its reference.
 */
export function settle(o: Overlay, ctx: ChallengeContext, from: Address, p: ProductSettlePayload, txId: string): RuleResult {
  if (getSettlement(o, from, p.reference) !== undefined) return ErrorCode.SETTLEMENT_EXISTS;
  const v = o.get(validatorKey(p.validatorId)) as Validator | undefined;
  if (v === undefined) return ErrorCode.NOT_FOUND;
  const payer = (o.get(accountKey(from)) as Account | undefined) ?? { balance: 0n, nonce: 0 };
  if (payer.balance < p.amount) return ErrorCode.INSUFFICIENT_FUNDS;
  const feeBps = productParams(o).settlementFeeBps;
  const { protocolFee, net } = settlementQuote(p.amount, feeBps);
  o.set(accountKey(from), { balance: payer.balance - p.amount, nonce: payer.nonce });
  // Without a treasury (a context that names none) the protocol fee stays with the validator.
  if (ctx.treasury === undefined) credit(o, v.rewardAddress, p.amount);
  else {
    credit(o, ctx.treasury, protocolFee);
    credit(o, v.rewardAddress, net);
  }
  const receipt: Settlement = {
    id: txId,
    payer: from,
    reference: p.reference,
    validatorId: p.validatorId,
    net,
    amount: p.amount,
    protocolFee,
    feeBps,
    height: ctx.height,
    epoch: epochOf(ctx.height, ctx.params),
  };
  o.set(settlementKey(from, p.reference), receipt);
  return null;
}

// ---------------------------------------------------------------- governance

/** product_set_oracles (governance only): the new set, sorted, with the next version. */
export function setOracles(o: Overlay, ctx: { readonly params: ChainParams }, from: Address, p: ProductSetOraclesPayload): RuleResult {
  if (!ctx.params.governance.includes(from)) return ErrorCode.FORBIDDEN;
  const current = oracleSet(o);
  const oracles = [...p.oracles].sort((a, b) => (a.address < b.address ? -1 : 1)).map((x) => ({ address: x.address, stake: x.stake }));
  o.set(ORACLE_SET_KEY, { version: current.version + 1, oracles });
  return null;
}

// ---------------------------------------------------------------- unbonding during a challenge

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
