/**
 * Rewards at epoch transitions: the treasury pays for the previous epoch's
 * proofs by score, with a commission, the rest shared with the delegation pool.
 * @module
 */
import { accountKey, epochProofsKey, epochRewardsKey, validatorKey } from '../../codec/state.js';
import type { Account, Address, EpochProofIndex, EpochRewards, RewardPayout, ChainParams, Validator } from '../../types/index.js';
import { epochOf } from '../epochs.js';
import type { Overlay } from '../overlay.js';
import { getProof, productParams, proofId } from './common.js';

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

