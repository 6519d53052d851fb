import { voteSignBytes } from '../codec/block.js';
import { verifySignature, type Signer } from '../crypto/ed25519.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { Commit, CommitSignature, ValidatorSet } from '../types/index.js';
import { hasQuorum } from './validatorSet.js';

function bad(message: string): never {
  throw new FastposError(ErrorCode.INVALID_COMMIT, message);
}

/**
 * Checks a commit certificate offline (protocol §4): it is for this height and
 * block, every signer is in the height's validator set and appears once, every
 * precommit signature verifies, and the signers hold at least 2/3 of the power.
 * Returns the signed power.
 */
export function verifyCommit(params: {
  chainId: string;
  set: ValidatorSet;
  commit: Commit;
  height: number;
  blockHash: string;
  keyCache?: Map<string, import('node:crypto').KeyObject>;
}): bigint {
  const { chainId, set, commit, height, blockHash } = params;
  if (commit.height !== height) bad(`commit is for height ${commit.height}, expected ${height}`);
  if (commit.blockHash !== blockHash) bad(`commit is for block ${commit.blockHash}, expected ${blockHash}`);
  const byId = new Map(set.validators.map((v) => [v.id, v]));
  const seen = new Set<string>();
  let signed = 0n;
  for (const s of commit.signatures) {
    const v = byId.get(s.validatorId);
    if (v === undefined) bad(`signer ${s.validatorId} is not in the validator set ${set.hash}`);
    if (seen.has(s.validatorId)) bad(`signer ${s.validatorId} appears twice`);
    seen.add(s.validatorId);
    const msg = voteSignBytes({ type: 'precommit', chainId, height, round: commit.round, validatorId: s.validatorId, blockHash });
    if (!verifySignature(v.pubKey, msg, s.signature, params.keyCache)) bad(`bad precommit signature of ${s.validatorId}`);
    signed += v.votingPower;
  }
  if (!hasQuorum(signed, set.totalPower)) bad(`commit carries ${signed} of ${set.totalPower} voting power, needs at least 2/3`);
  return signed;
}

/** Signs a precommit for (height, round, blockHash) with one validator key. */
export function signPrecommit(p: { chainId: string; height: number; round: number; blockHash: string; validatorId: string; signer: Signer }): CommitSignature {
  const msg = voteSignBytes({ type: 'precommit', chainId: p.chainId, height: p.height, round: p.round, validatorId: p.validatorId, blockHash: p.blockHash });
  return { validatorId: p.validatorId, signature: p.signer.sign(msg) };
}

/** Certificate signatures in canonical order (by validator id). */
export function sortSignatures(sigs: CommitSignature[]): CommitSignature[] {
  return sigs.sort((a, b) => (a.validatorId < b.validatorId ? -1 : a.validatorId > b.validatorId ? 1 : 0));
}
