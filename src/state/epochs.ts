import { epochKey } from '../codec/state.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { ChainParams, EpochRecord, Validator, ValidatorEntry } from '../types/index.js';
import type { StateReader } from './worldState.js';

/**
 * Epochs: the validator set that signs a height is fixed for a whole epoch of
 * `epochLengthBlocks` heights. Epoch n covers heights n*E+1 .. (n+1)*E; its
 * set is stored at `epoch/<n>`: genesis writes epoch 0, and the end of height
 * n*E writes epoch n from the validators' state at that moment. So stake,
 * delegation, jail and work-weight changes take effect at the next boundary.
 */

const BPS = 10_000n;

/** Epoch of a height: floor((h-1)/E) for h >= 1 (height 0, the genesis state, counts as epoch 0). */
export function epochOf(height: number, params: Pick<ChainParams, 'epochLengthBlocks'>): number {
  if (height <= 0) return 0;
  return Math.floor((height - 1) / params.epochLengthBlocks);
}

/** First height of an epoch. */
export function epochStartHeight(epoch: number, params: Pick<ChainParams, 'epochLengthBlocks'>): number {
  return epoch * params.epochLengthBlocks + 1;
}

/** Whether the end of `height` writes the next epoch's set. */
export function isEpochBoundary(height: number, params: Pick<ChainParams, 'epochLengthBlocks'>): boolean {
  return height >= 1 && height % params.epochLengthBlocks === 0;
}

/** Set entry of a validator: voting power = stake + delegated; proposer weight = power * workWeight / 10000. */
export function toValidatorEntry(v: Validator): ValidatorEntry {
  const votingPower = v.stake + v.delegated;
  return { id: v.id, pubKey: v.pubKey, votingPower, proposerWeight: (votingPower * BigInt(v.workWeight)) / BPS };
}

const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * An epoch's set: active validators with positive voting power, the top
 * `maxValidators` by voting power (ties: lower id first), sorted by id.
 */
export function selectEpochValidators(validators: Iterable<Validator>, maxValidators: number): ValidatorEntry[] {
  const eligible: ValidatorEntry[] = [];
  for (const v of validators) {
    if (v.status !== 'active') continue;
    const e = toValidatorEntry(v);
    if (e.votingPower > 0n) eligible.push(e);
  }
  eligible.sort((a, b) => (a.votingPower > b.votingPower ? -1 : a.votingPower < b.votingPower ? 1 : byId(a, b)));
  return eligible.slice(0, maxValidators).sort(byId);
}

export function readEpoch(state: StateReader, epoch: number): EpochRecord | undefined {
  return state.get(epochKey(epoch)) as EpochRecord | undefined;
}

/** The stored epoch record of the set that signs `height`; NOT_FOUND if that epoch is not written (yet). */
export function epochRecordForHeight(state: StateReader, height: number, params: Pick<ChainParams, 'epochLengthBlocks'>): EpochRecord {
  const n = epochOf(height, params);
  const rec = readEpoch(state, n);
  if (rec === undefined) throw new FastposError(ErrorCode.NOT_FOUND, `no validator set is stored for epoch ${n} (height ${height})`);
  return rec;
}
