/**
 * Precommits for the tip that arrive after its quorum. A block carries the
 * certificate of the block before it, and the state counts a validator of
 * that height as missing when its signature is not in it: a certificate of
 * only the first 2/3 would count healthy validators as down in about a third
 * of blocks. The next proposal waits a short window for the rest (as
 * CometBFT's commit timeout does) and carries every precommit gathered.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { voteSignBytes } from '../codec/block.js';
import { sortSignatures } from '../consensus/commit.js';
import type { ChainTip } from '../consensus/block.js';
import { verifySignature } from '../crypto/ed25519.js';
import type { Commit, CommitSignature, ValidatorSet } from '../types/index.js';

export class LastCommitGatherer {
  private height = -1;
  private readonly extra = new Map<string, string>();
  /** Checked precommits of the height in progress, by validator (a few each): the next tip's certificate may lack some. */
  private readonly ahead = new Map<string, { round: number; blockHash: string | null; signature: string }[]>();
  private aheadHeight = -1;

  constructor(
    private readonly chainId: string,
    private readonly keyCache: Map<string, KeyObject>,
  ) {}

  /**
   * The tip moved: forgets what was gathered for the earlier one, and keeps
   * the precommits for the new tip that arrived while it was being decided
   * or committed and that its certificate lacks.
   */
  reset(tip: ChainTip): void {
    this.height = tip.height;
    this.extra.clear();
    const commit = tip.commit;
    if (commit !== null && this.aheadHeight === tip.height) {
      const signed = new Set(commit.signatures.map((s) => s.validatorId));
      for (const [validatorId, votes] of this.ahead) {
        const v = votes.find((x) => x.round === commit.round && x.blockHash === tip.hash);
        if (v !== undefined && !signed.has(validatorId)) this.extra.set(validatorId, v.signature);
      }
    }
    this.ahead.clear();
  }

  /** A precommit of `height` (the height in progress) whose envelope signature was checked: kept in case it misses the quorum. */
  note(height: number, v: { round: number; validatorId: string; blockHash: string | null; signature: string }): void {
    if (height !== this.aheadHeight) {
      this.ahead.clear();
      this.aheadHeight = height;
    }
    const list = this.ahead.get(v.validatorId) ?? [];
    if (list.length >= 4) return;
    list.push({ round: v.round, blockHash: v.blockHash, signature: v.signature });
    this.ahead.set(v.validatorId, list);
  }

  /**
   * A precommit of the tip's height from a member of its set: kept when it is
   * for the tip in the certificate's round, not in the certificate yet, and
   * its signature verifies. Returns whether it was kept.
   */
  offer(tip: ChainTip, set: ValidatorSet, v: { round: number; validatorId: string; blockHash: string | null; signature: string }): boolean {
    const commit = tip.commit;
    if (commit === null || tip.height !== this.height) return false;
    if (v.blockHash !== tip.hash || v.round !== commit.round || this.extra.has(v.validatorId)) return false;
    if (commit.signatures.some((s) => s.validatorId === v.validatorId)) return false;
    const member = set.validators.find((x) => x.id === v.validatorId);
    if (member === undefined) return false;
    const msg = voteSignBytes({ type: 'precommit', chainId: this.chainId, height: tip.height, round: commit.round, validatorId: v.validatorId, blockHash: tip.hash });
    if (!verifySignature(member.pubKey, msg, v.signature, this.keyCache)) return false;
    this.extra.set(v.validatorId, v.signature);
    return true;
  }

  /** The tip's certificate with every precommit gathered since (the tip's own certificate when none). */
  best(tip: ChainTip): Commit | null {
    const commit = tip.commit;
    if (commit === null || tip.height !== this.height || this.extra.size === 0) return commit;
    const sigs: CommitSignature[] = [...commit.signatures];
    for (const [validatorId, signature] of this.extra) sigs.push({ validatorId, signature });
    return { ...commit, signatures: sortSignatures(sigs) };
  }

  /** Whether every member of the tip's set has signed what `best` would carry. */
  complete(tip: ChainTip, set: ValidatorSet): boolean {
    const commit = this.best(tip);
    return commit !== null && commit.signatures.length >= set.validators.length;
  }
}
