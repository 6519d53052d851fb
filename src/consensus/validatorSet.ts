import { canonicalJson } from '../codec/canonical.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Validator, ValidatorEntry, ValidatorSet } from '../types/index.js';

const BPS = 10_000n;

/**
 * The set that signs a height: active validators with positive voting power,
 * sorted by id. Voting power (for quorums) is self stake plus delegations; the
 * proposer weight is voting power scaled by workWeight (basis points), so work
 * changes who proposes, never what a quorum is.
 */
export function buildValidatorSet(validators: Iterable<Validator>): ValidatorSet {
  const entries: ValidatorEntry[] = [];
  for (const v of validators) {
    if (v.status !== 'active') continue;
    const votingPower = v.stake + v.delegated;
    if (votingPower <= 0n) continue;
    entries.push({ id: v.id, pubKey: v.pubKey, votingPower, proposerWeight: (votingPower * BigInt(v.workWeight)) / BPS });
  }
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const totalPower = entries.reduce((s, e) => s + e.votingPower, 0n);
  const hash = sha256Hex(
    'fastpos/valset/v1\n' + canonicalJson(entries.map((e) => ({ id: e.id, pubKey: e.pubKey, votingPower: e.votingPower.toString(), proposerWeight: e.proposerWeight.toString() }))),
  );
  return { validators: entries, totalPower, hash };
}

/** Quorum test of protocol §4: 3 * signed >= 2 * total. */
export function hasQuorum(signedPower: bigint, totalPower: bigint): boolean {
  return totalPower > 0n && 3n * signedPower >= 2n * totalPower;
}

/** Skip-set test (f+1): 3 * power >= total. */
export function hasSkipSet(power: bigint, totalPower: bigint): boolean {
  return totalPower > 0n && 3n * power >= totalPower;
}
