/**
 * Read views of the validator economics for the API: pure functions over a
 * StateReader and the chain params (no I/O, no clock). Amounts come out as
 * decimal strings, heights as numbers, ready for JSON.
 *
 * Unbonding entries are found by height, like the state machine finds them:
 * the pending ones at finalized height `h` are those of buckets
 * `unb/<h+1>` .. `unb/<h+unbondingPeriodBlocks>` (the bucket of `h` was paid
 * out at the end of `h`), so the cost is bounded by the unbonding period,
 * never by the size of the state.
 * @module
 */
import { VALIDATOR_INDEX_KEY } from '../codec/state.js';
import { validatorSetFromEntries } from '../consensus/validatorSet.js';
import { epochStartHeight, readEpoch, selectEpochValidators } from '../state/epochs.js';
import { getDelegation, getDoubleSignPunishment, getUnbondingBucket, getValidator } from '../state/staking.js';
import type { StateReader } from '../state/worldState.js';
import type { Address, ChainParams, Validator, ValidatorEntry, ValidatorIndex, ValidatorSet } from '../types/index.js';

/** An unbonding entry not yet paid out, with the height at whose end it is paid. */
export interface PendingUnbonding {
  readonly validatorId: Address;
  readonly delegator: Address;
  readonly amount: bigint;
  readonly creationHeight: number;
  readonly completionHeight: number;
}

export interface ValidatorSummaryJson {
  id: string;
  pubKey: string;
  address: string;
  rewardAddress: string;
  stake: string;
  delegated: string;
  delegatorShares: string;
  votingPower: string;
  workWeight: number;
  status: Validator['status'];
  jailedUntil: number;
  inSet: boolean;
}

export interface ValidatorDetailJson extends ValidatorSummaryJson {
  operator: string;
  missed: number[];
  slashes: { height: number; infractionHeight: number; reason: string; fractionBps: number; burned: string }[];
  doubleSignPunishment: { punishedAt: number; infractionHeight: number; unjailedAt: number | null } | null;
  unbonding: { delegator: string; amount: string; creationHeight: number; completionHeight: number }[];
}

export interface SetEntryJson {
  id: string;
  pubKey: string;
  votingPower: string;
  proposerWeight: string;
}

export interface EpochSetJson {
  epoch: number;
  startHeight: number;
  validators: SetEntryJson[];
  totalPower: string;
  setHash: string;
}

const entryJson = (e: ValidatorEntry): SetEntryJson => ({ id: e.id, pubKey: e.pubKey, votingPower: e.votingPower.toString(), proposerWeight: e.proposerWeight.toString() });

/** Every validator in the state (`index/validators`), sorted by id. */
export function allValidators(state: StateReader): Validator[] {
  const index = state.get(VALIDATOR_INDEX_KEY) as ValidatorIndex | undefined;
  const out: Validator[] = [];
  for (const id of index?.ids ?? []) {
    const v = getValidator(state, id);
    if (v !== undefined) out.push(v);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The entries of a validator set by id. */
export function setIndex(set: ValidatorSet): ReadonlyMap<Address, ValidatorEntry> {
  return new Map(set.validators.map((e) => [e.id, e]));
}

/** A validator as listed: its state record plus its power in the current epoch's set (0 when not in it). */
export function validatorSummary(v: Validator, current: ReadonlyMap<Address, ValidatorEntry>): ValidatorSummaryJson {
  const entry = current.get(v.id);
  return {
    id: v.id,
    pubKey: v.pubKey,
    address: v.id,
    rewardAddress: v.rewardAddress,
    stake: v.stake.toString(),
    delegated: v.delegated.toString(),
    delegatorShares: v.delegatorShares.toString(),
    votingPower: (entry?.votingPower ?? 0n).toString(),
    workWeight: v.workWeight,
    status: v.status,
    jailedUntil: v.jailedUntil,
    inSet: entry !== undefined,
  };
}

/** Every validator in the state with its power in `current` (the current epoch's set). */
export function validatorSummaries(state: StateReader, current: ValidatorSet): ValidatorSummaryJson[] {
  const index = setIndex(current);
  return allValidators(state).map((v) => validatorSummary(v, index));
}

/** Unbonding entries still pending at finalized height `height`, by completion height then creation order. */
export function pendingUnbondings(state: StateReader, params: Pick<ChainParams, 'unbondingPeriodBlocks'>, height: number): PendingUnbonding[] {
  const out: PendingUnbonding[] = [];
  for (let c = height + 1; c <= height + params.unbondingPeriodBlocks; c++) {
    const bucket = getUnbondingBucket(state, c);
    if (bucket === undefined) continue;
    for (const e of bucket.entries) out.push({ ...e, completionHeight: c });
  }
  return out;
}

/** One validator in detail, or undefined when the state has none with that id. */
export function validatorDetail(state: StateReader, current: ValidatorSet, id: Address, unbondings: readonly PendingUnbonding[]): ValidatorDetailJson | undefined {
  const v = getValidator(state, id);
  if (v === undefined) return undefined;
  return {
    ...validatorSummary(v, setIndex(current)),
    operator: v.rewardAddress,
    missed: [...v.missed],
    slashes: v.slashes.map((s) => ({ height: s.height, infractionHeight: s.infractionHeight, reason: s.reason, fractionBps: s.fractionBps, burned: s.burned.toString() })),
    doubleSignPunishment: getDoubleSignPunishment(state, id) ?? null,
    unbonding: unbondings
      .filter((e) => e.validatorId === id)
      .map((e) => ({ delegator: e.delegator, amount: e.amount.toString(), creationHeight: e.creationHeight, completionHeight: e.completionHeight })),
  };
}

/** Token value of `shares` of a validator's pool: floor(shares * tokens / totalShares); 0 for an empty pool. */
export function sharesValue(v: Validator | undefined, shares: bigint): bigint {
  if (v === undefined || v.delegatorShares === 0n) return 0n;
  return (shares * v.delegated) / v.delegatorShares;
}

export interface DelegationsJson {
  delegator: string;
  delegations: { validatorId: string; shares: string; amount: string }[];
  unbonding: { validatorId: string; amount: string; creationHeight: number; completionHeight: number }[];
}

/** A delegator's shares per validator (with their token value) and its pending unbonding entries. */
export function delegationsOf(state: StateReader, delegator: Address, unbondings: readonly PendingUnbonding[]): DelegationsJson {
  const d = getDelegation(state, delegator);
  const delegations = Object.keys(d.shares)
    .sort()
    .map((validatorId) => {
      const shares = d.shares[validatorId]!;
      return { validatorId, shares: shares.toString(), amount: sharesValue(getValidator(state, validatorId), shares).toString() };
    });
  const unbonding = unbondings
    .filter((e) => e.delegator === delegator)
    .map((e) => ({ validatorId: e.validatorId, amount: e.amount.toString(), creationHeight: e.creationHeight, completionHeight: e.completionHeight }));
  return { delegator, delegations, unbonding };
}

/** The stored set of `epoch` (`epoch/<n>`), or undefined when that epoch has no record. */
export function epochSet(state: StateReader, epoch: number): EpochSetJson | undefined {
  const rec = readEpoch(state, epoch);
  if (rec === undefined) return undefined;
  const set = validatorSetFromEntries(rec.validators);
  return { epoch: rec.epoch, startHeight: rec.startHeight, validators: rec.validators.map(entryJson), totalPower: set.totalPower.toString(), setHash: set.hash };
}

export interface CurrentEpochJson {
  epoch: number;
  startHeight: number;
  endHeight: number;
  epochLengthBlocks: number;
  height: number;
  validators: number;
  totalPower: string;
  setHash: string;
}

/** The epoch whose set decides the next height, at finalized height `height`. */
export function currentEpochInfo(params: Pick<ChainParams, 'epochLengthBlocks'>, height: number, epoch: number, set: ValidatorSet): CurrentEpochJson {
  const startHeight = epochStartHeight(epoch, params);
  return {
    epoch,
    startHeight,
    endHeight: startHeight + params.epochLengthBlocks - 1,
    epochLengthBlocks: params.epochLengthBlocks,
    height,
    validators: set.validators.length,
    totalPower: set.totalPower.toString(),
    setHash: set.hash,
  };
}

export interface NextEpochJson {
  epoch: number;
  startHeight: number;
  validators: { id: string; votingPower: string; proposerWeight: string }[];
  totalPower: string;
  setHash: string;
  changes: { joining: string[]; leaving: string[] };
}

/**
 * Dry run of the next epoch's set from the current state: the selection the
 * chain will make at the end of the current epoch's last height if nothing
 * changes before then, compared with the current set.
 */
export function nextEpochPreview(state: StateReader, params: Pick<ChainParams, 'epochLengthBlocks' | 'maxValidators'>, currentEpoch: number, current: ValidatorSet): NextEpochJson {
  const entries = selectEpochValidators(allValidators(state), params.maxValidators);
  const next = validatorSetFromEntries(entries);
  const before = new Set(current.validators.map((e) => e.id));
  const after = new Set(entries.map((e) => e.id));
  return {
    epoch: currentEpoch + 1,
    startHeight: epochStartHeight(currentEpoch + 1, params),
    validators: entries.map((e) => ({ id: e.id, votingPower: e.votingPower.toString(), proposerWeight: e.proposerWeight.toString() })),
    totalPower: next.totalPower.toString(),
    setHash: next.hash,
    changes: { joining: entries.filter((e) => !before.has(e.id)).map((e) => e.id), leaving: current.validators.filter((e) => !after.has(e.id)).map((e) => e.id) },
  };
}
