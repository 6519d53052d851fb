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
import { epochProofsKey, ORACLE_SET_KEY, attestationExpiryKey, pendingAttestationKey, productProofKey, validatorKey } from '../../codec/state.js';
import { ErrorCode } from '../../errors.js';
import type { Address, ProductSetOraclesPayload, EpochProofIndex, AttestationExpiryBucket, ChainParams, OracleReport, PendingAttestation, ProductAttestPayload, ProductProof, Validator } from '../../types/index.js';
import { epochOf } from '../epochs.js';
import type { Overlay } from '../overlay.js';
import { getProof, oracleSet, passesQuorum, productParams, proofId, type ProductContext, type RuleResult } from './common.js';

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


/** product_set_oracles (governance only): the new set, sorted, with the next version. */
export function setOracles(o: Overlay, ctx: { readonly params: ChainParams }, from: Address, p: ProductSetOraclesPayload): RuleResult {
  if (!ctx.params.governance.includes(from)) return ErrorCode.FORBIDDEN;
  const current = oracleSet(o);
  const oracles = [...p.oracles].sort((a, b) => (a.address < b.address ? -1 : 1)).map((x) => ({ address: x.address, stake: x.stake }));
  o.set(ORACLE_SET_KEY, { version: current.version + 1, oracles });
  return null;
}

