import { canonicalJson } from '../codec/canonical.js';
import { sha256Hex } from '../crypto/hash.js';
import { epochOf, epochRecordForHeight, toValidatorEntry } from '../state/epochs.js';
import type { StateReader } from '../state/worldState.js';
import type { ChainParams, Validator, ValidatorEntry, ValidatorSet } from '../types/index.js';

export { epochOf };

const byId = (a: ValidatorEntry, b: ValidatorEntry): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Total power and hash of entries already sorted by id. */
export function validatorSetFromEntries(entries: readonly ValidatorEntry[]): ValidatorSet {
  const totalPower = entries.reduce((s, e) => s + e.votingPower, 0n);
  const hash = sha256Hex(
    'fastpos/valset/v1\n' + canonicalJson(entries.map((e) => ({ id: e.id, pubKey: e.pubKey, votingPower: e.votingPower.toString(), proposerWeight: e.proposerWeight.toString() }))),
  );
  return { validators: entries, totalPower, hash };
}

/**
 * The set of the given validators: active ones with positive voting power,
 * sorted by id (no maxValidators cut; the chain's sets come from
 * `validatorSetForHeight`). Voting power (for quorums) is self stake plus
 * delegations; the proposer weight is voting power scaled by workWeight (basis
 * points), so work changes who proposes, never what a quorum is.
 */
export function buildValidatorSet(validators: Iterable<Validator>): ValidatorSet {
  const entries: ValidatorEntry[] = [];
  for (const v of validators) {
    if (v.status !== 'active') continue;
    const e = toValidatorEntry(v);
    if (e.votingPower <= 0n) continue;
    entries.push(e);
  }
  entries.sort(byId);
  return validatorSetFromEntries(entries);
}

/**
 * The set that signs `height`: the stored set of its epoch (`epoch/<epochOf(height)>`),
 * hashed exactly as `buildValidatorSet` hashes. Throws NOT_FOUND when that
 * epoch is not written yet (only the next epoch is known, from the end of the
 * last height of the current one).
 */
export function validatorSetForHeight(state: StateReader, height: number, params: Pick<ChainParams, 'epochLengthBlocks'>): ValidatorSet {
  return validatorSetFromEntries(epochRecordForHeight(state, height, params).validators);
}

/** Quorum test of protocol §4: 3 * signed >= 2 * total. */
export function hasQuorum(signedPower: bigint, totalPower: bigint): boolean {
  return totalPower > 0n && 3n * signedPower >= 2n * totalPower;
}

/** Skip-set test (f+1): 3 * power >= total. */
export function hasSkipSet(power: bigint, totalPower: bigint): boolean {
  return totalPower > 0n && 3n * power >= totalPower;
}
