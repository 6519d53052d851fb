/**
 * Light-client checks for snapshot sync: is a block at height H, named by a
 * peer, the chain's finalized block at H? Decided from headers and
 * certificates alone, fetched through an injected source, starting from
 * what the node trusts:
 *
 * - **a trust point** (`syncTrustHeight` + `syncTrustHash`, given by the
 *   operator): at or below it, the hash links (`prevHash`) lead back from the
 *   trusted block to H; above it, the trusted block's epoch set (its hash is
 *   in the trusted header) is the start of the walk below;
 * - **the genesis** otherwise: epoch 0's set, then epoch by epoch to H's
 *   epoch. Each epoch's first header carries the hash of its set (served by
 *   the peer and checked against it); that header's certificate must hold
 *   2/3 of the new set's power and, signed by the same keys, more than 1/3 of
 *   the previous (trusted) set's power — as CometBFT's light client trusts a
 *   non-adjacent header. This assumes the previous set still had less than
 *   1/3 of faulty power when the new one took over; a trust point removes
 *   the assumption.
 *
 * Finally the block's own certificate must hold 2/3 of its epoch's set.
 * Throws INVALID_SNAPSHOT (or INVALID_COMMIT) saying what failed.
 * @module
 */
import { blockHash } from '../codec/block.js';
import { ErrorCode, FastposError } from '../errors.js';
import { epochOf, epochStartHeight } from '../state/epochs.js';
import type { BlockHeader, ChainParams, Commit, EpochRecord, ValidatorSet } from '../types/index.js';
import { verifyCommit } from './commit.js';
import { validatorSetFromEntries } from './validatorSet.js';

/** A header with its hash and commit certificate (what nodes keep of every block). */
export interface LightHeader {
  readonly header: BlockHeader;
  readonly hash: string;
  readonly commit: Commit;
}

/** Where the headers and epoch sets come from (a peer); answers are checked here. */
export interface LightSource {
  /** Headers with certificates from `from` upward, at most `limit`. */
  headers(from: number, limit: number): Promise<LightHeader[]>;
  /** The stored record of an epoch's validator set. */
  epoch(epoch: number): Promise<EpochRecord>;
}

export interface TrustPoint {
  readonly height: number;
  readonly hash: string;
}

export interface LightCheck {
  readonly chainId: string;
  readonly params: Pick<ChainParams, 'epochLengthBlocks'>;
  /** The set of epoch 0 (from the genesis). */
  readonly genesisSet: ValidatorSet;
  readonly trust?: TrustPoint | undefined;
  /** The block to check: its header, hash and certificate. */
  readonly target: LightHeader;
  readonly source: LightSource;
  readonly keyCache?: Map<string, import('node:crypto').KeyObject>;
}

/** Headers asked for at once when following hash links back. */
const HEADER_BATCH = 200;

function fail(message: string): never {
  throw new FastposError(ErrorCode.INVALID_SNAPSHOT, message);
}

/** One header, checked to be the one asked for and to hash as it says. */
async function headerAt(source: LightSource, height: number): Promise<LightHeader> {
  const [h] = await source.headers(height, 1);
  if (h === undefined || h.header.height !== height) fail(`no header at height ${height} was served`);
  checkSelfHash(h);
  return h;
}

function checkSelfHash(h: LightHeader): void {
  if (blockHash(h.header) !== h.hash) fail(`header ${h.header.height} does not hash to ${h.hash}`);
}

/** The set of `epoch`, served by the peer, whose hash must be `expectedHash` (from a trusted header). */
async function setOf(source: LightSource, epoch: number, expectedHash: string): Promise<ValidatorSet> {
  const rec = await source.epoch(epoch);
  if (rec.epoch !== epoch) fail(`asked for the set of epoch ${epoch}, got epoch ${rec.epoch}`);
  const set = validatorSetFromEntries(rec.validators);
  if (set.hash !== expectedHash) fail(`the set served for epoch ${epoch} hashes to ${set.hash}, the header says ${expectedHash}`);
  return set;
}

/** Follows `prevHash` links from the trusted block down to `target`; the target's hash must be reached. */
async function linkBack(c: LightCheck, trusted: LightHeader): Promise<void> {
  let expected = trusted.header.prevHash;
  let height = trusted.header.height - 1;
  while (height >= c.target.header.height) {
    const from = Math.max(c.target.header.height, height - HEADER_BATCH + 1);
    const batch = await c.source.headers(from, height - from + 1);
    if (batch.length !== height - from + 1) fail(`asked for headers ${from}..${height}, got ${batch.length}`);
    for (let i = batch.length - 1; i >= 0; i--, height--) {
      const h = batch[i]!;
      if (h.header.height !== height) fail(`asked for header ${height}, got ${h.header.height}`);
      const hash = blockHash(h.header);
      if (hash !== expected) fail(`header ${height} hashes to ${hash}, but the trusted chain links to ${expected}`);
      expected = h.header.prevHash;
    }
  }
}

/**
 * Checks that `target` is the chain's finalized block at its height (see the
 * module comment). Returns the target's validator set.
 */
export async function verifyTargetBlock(c: LightCheck): Promise<ValidatorSet> {
  const { target, source, params } = c;
  checkSelfHash(target);
  const h = target.header.height;
  if (target.header.chainId !== c.chainId) fail(`block ${h} is of chain ${target.header.chainId}, not ${c.chainId}`);
  let epoch = 0;
  let set = c.genesisSet;
  if (c.trust !== undefined) {
    const trusted = await headerAt(source, c.trust.height);
    if (trusted.hash !== c.trust.hash) fail(`the block at the trust height ${c.trust.height} is ${trusted.hash}, not the trusted ${c.trust.hash}`);
    if (h <= c.trust.height) {
      if (h < c.trust.height) await linkBack(c, trusted);
      else if (target.hash !== trusted.hash) fail(`block ${h} is ${target.hash}, not the trusted ${c.trust.hash}`);
      const own = await setOf(source, epochOf(h, params), target.header.validatorSetHash);
      verifyCommit({ chainId: c.chainId, set: own, commit: target.commit, height: h, blockHash: target.hash, ...(c.keyCache ? { keyCache: c.keyCache } : {}) });
      return own;
    }
    epoch = epochOf(c.trust.height, params);
    set = await setOf(source, epoch, trusted.header.validatorSetHash);
  }
  for (let e = epoch + 1; e <= epochOf(h, params); e++) {
    const first = e === epochOf(h, params) && epochStartHeight(e, params) === h ? target : await headerAt(source, epochStartHeight(e, params));
    const next = await setOf(source, e, first.header.validatorSetHash);
    verifyCommit({ chainId: c.chainId, set: next, commit: first.commit, height: first.header.height, blockHash: first.hash, ...(c.keyCache ? { keyCache: c.keyCache } : {}) });
    // Signed with the same keys by validators of the trusted set: their power in that set must exceed 1/3.
    const previous = new Map(set.validators.map((v) => [v.id, v]));
    const keys = new Map(next.validators.map((v) => [v.id, v.pubKey]));
    let vouched = 0n;
    for (const s of first.commit.signatures) {
      const v = previous.get(s.validatorId);
      if (v !== undefined && keys.get(s.validatorId) === v.pubKey) vouched += v.votingPower;
    }
    if (!(3n * vouched > set.totalPower)) {
      fail(`the set of epoch ${e} is vouched for by ${vouched} of the previous set's ${set.totalPower} voting power (more than 1/3 needed); give a recent syncTrustHeight and syncTrustHash`);
    }
    set = next;
  }
  if (target.header.validatorSetHash !== set.hash) fail(`block ${h} names validator set ${target.header.validatorSetHash}, the chain's set of its epoch is ${set.hash}`);
  verifyCommit({ chainId: c.chainId, set, commit: target.commit, height: h, blockHash: target.hash, ...(c.keyCache ? { keyCache: c.keyCache } : {}) });
  return set;
}
