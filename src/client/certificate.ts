/**
 * Light-client checks of finality, done by the client itself with codec and
 * crypto only (ARCHITECTURE.md lets `client` import no further): validator
 * sets as `GET /validators?epoch=N` serves them, commit certificates (every
 * precommit signature over the vote signing bytes, at least 2/3 of the set's
 * voting power, as the protocol's finality rule and `consensus/commit.ts`
 * `verifyCommit` have it), and a tracker that follows the chain's sets epoch
 * by epoch from a trusted one (docs/api.md, "Typed client").
 * @module
 */
import { blockHash, decodeFinalizedBlock, evidenceListHash, voteSignBytes } from '../codec/block.js';
import { canonicalJson } from '../codec/canonical.js';
import { txRoot } from '../codec/merkle.js';
import { verifySignature } from '../crypto/ed25519.js';
import { sha256Hex } from '../crypto/hash.js';
import { addressFromPubKey } from '../crypto/keys.js';
import type { Commit, FinalizedBlock, ValidatorEntry } from '../types/index.js';
import { CertificateError, ClientErrorCode } from './errors.js';

/** The validator set of one epoch, checked: entries sorted by id, total power, and the hash computed here. */
export interface TrackedValidatorSet {
  readonly epoch: number;
  readonly startHeight: number;
  readonly validators: readonly ValidatorEntry[];
  readonly totalPower: bigint;
  /** `hex(sha256("fastpos/valset/v1\n" + canonicalJSON(entries)))`: the `validatorSetHash` of the blocks it signs. */
  readonly hash: string;
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const AMOUNT = /^(0|[1-9][0-9]{0,38})$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function refuseSet(message: string, meta?: Record<string, unknown>): never {
  throw new CertificateError(ClientErrorCode.VALIDATOR_SET_REFUSED, message, meta);
}

function refuseCert(message: string, meta?: Record<string, unknown>): never {
  throw new CertificateError(ClientErrorCode.CERTIFICATE_REFUSED, message, meta);
}

/** The hash of a set's entries (sorted by id), as headers carry it (docs/api.md, "Header"). */
export function validatorSetHashOf(entries: readonly ValidatorEntry[]): string {
  const json = entries.map((e) => ({ id: e.id, pubKey: e.pubKey, votingPower: e.votingPower.toString(), proposerWeight: e.proposerWeight.toString() }));
  return sha256Hex('fastpos/valset/v1\n' + canonicalJson(json));
}

/**
 * Reads a `GET /validators?epoch=N` answer: the entries must be well formed,
 * sorted by id without repeats, each id the address of its key; the hash is
 * computed here, and the answer's `setHash` and `totalPower`, when present,
 * must agree with it. Throws VALIDATOR_SET_REFUSED.
 */
export function parseEpochSet(json: unknown, expectedEpoch?: number): TrackedValidatorSet {
  if (!isObj(json)) refuseSet('a validator set must be a JSON object');
  const { epoch, startHeight, validators } = json;
  if (!isUint(epoch) || !isUint(startHeight)) refuseSet('a validator set needs epoch and startHeight (non-negative integers)');
  if (expectedEpoch !== undefined && epoch !== expectedEpoch) refuseSet(`asked for the set of epoch ${expectedEpoch}, got epoch ${epoch}`);
  if (!Array.isArray(validators) || validators.length === 0) refuseSet(`the set of epoch ${epoch} must list at least one validator`);
  const entries: ValidatorEntry[] = [];
  let total = 0n;
  for (const [i, v] of validators.entries()) {
    if (!isObj(v)) refuseSet(`validators[${i}] of epoch ${epoch} must be an object`);
    const { id, pubKey, votingPower, proposerWeight } = v;
    if (typeof id !== 'string' || !HEX40.test(id) || typeof pubKey !== 'string' || !HEX64.test(pubKey)) refuseSet(`validators[${i}] of epoch ${epoch} needs id (40 hex) and pubKey (64 hex)`);
    if (addressFromPubKey(pubKey) !== id) refuseSet(`validators[${i}] of epoch ${epoch}: ${id} is not the address of its key`);
    if (typeof votingPower !== 'string' || !AMOUNT.test(votingPower) || typeof proposerWeight !== 'string' || !AMOUNT.test(proposerWeight)) {
      refuseSet(`validators[${i}] of epoch ${epoch} needs votingPower and proposerWeight as decimal strings`);
    }
    const prev = entries[entries.length - 1];
    if (prev !== undefined && !(prev.id < id)) refuseSet(`the set of epoch ${epoch} is not sorted by id without repeats at ${id}`);
    const e: ValidatorEntry = { id, pubKey, votingPower: BigInt(votingPower), proposerWeight: BigInt(proposerWeight) };
    entries.push(e);
    total += e.votingPower;
  }
  if (total <= 0n) refuseSet(`the set of epoch ${epoch} has no voting power`);
  const hash = validatorSetHashOf(entries);
  if (json.setHash !== undefined && json.setHash !== hash) refuseSet(`the set of epoch ${epoch} hashes to ${hash}, the answer says ${String(json.setHash)}`);
  if (json.totalPower !== undefined && json.totalPower !== total.toString()) refuseSet(`the set of epoch ${epoch} holds ${total} voting power, the answer says ${String(json.totalPower)}`);
  return { epoch, startHeight, validators: entries, totalPower: total, hash };
}

/**
 * Checks a commit certificate against a validator set: for this height and
 * block, each signer in the set once, each precommit signature valid over the
 * vote signing bytes, and the signers holding at least 2/3 of the set's power
 * (`3 × signed ≥ 2 × total`). Returns the signed power; throws
 * CERTIFICATE_REFUSED naming the first problem.
 */
export function verifyCertificate(p: { chainId: string; set: TrackedValidatorSet; commit: Commit; height: number; blockHash: string }): bigint {
  const { chainId, set, commit, height } = p;
  const meta = { height, epoch: set.epoch, setHash: set.hash };
  if (commit.height !== height) refuseCert(`the certificate is for height ${commit.height}, expected ${height}`, meta);
  if (commit.blockHash !== p.blockHash) refuseCert(`the certificate is for block ${commit.blockHash}, expected ${p.blockHash}`, meta);
  const byId = new Map(set.validators.map((v) => [v.id, v]));
  const seen = new Set<string>();
  let signed = 0n;
  for (const s of commit.signatures) {
    const v = byId.get(s.validatorId);
    if (v === undefined) refuseCert(`signer ${s.validatorId} is not in the validator set of epoch ${set.epoch}`, meta);
    if (seen.has(s.validatorId)) refuseCert(`signer ${s.validatorId} appears twice`, meta);
    seen.add(s.validatorId);
    const bytes = voteSignBytes({ type: 'precommit', chainId, height, round: commit.round, validatorId: s.validatorId, blockHash: p.blockHash });
    if (!verifySignature(v.pubKey, bytes, s.signature)) refuseCert(`bad precommit signature of ${s.validatorId} at height ${height}`, meta);
    signed += v.votingPower;
  }
  if (!(set.totalPower > 0n && 3n * signed >= 2n * set.totalPower)) {
    refuseCert(`the certificate of height ${height} carries ${signed} of ${set.totalPower} voting power, needs at least 2/3`, { ...meta, signedPower: signed.toString() });
  }
  return signed;
}

/** Decodes a wire block (`GET /blocks/:height`): structure and header hash; CERTIFICATE_REFUSED if it is not a block. */
export function decodeBlockAnswer(json: unknown, height: number): FinalizedBlock {
  let fb: FinalizedBlock;
  try {
    fb = decodeFinalizedBlock(json);
  } catch (e) {
    return refuseCert(`the block served for height ${height} is not a valid block: ${(e as Error).message}`, { height });
  }
  if (fb.block.header.height !== height) refuseCert(`asked for block ${height}, got block ${fb.block.header.height}`, { height });
  return fb;
}

/**
 * Checks a finalized block against the set of its epoch: chain id, the set
 * the header names, the body bound to the header (tx root, tx count, evidence
 * hash) and the certificate. Returns the signed power.
 */
export function verifyBlockAgainstSet(p: { chainId: string; set: TrackedValidatorSet; block: FinalizedBlock }): bigint {
  const { chainId, set, block: fb } = p;
  const h = fb.block.header;
  const meta = { height: h.height, epoch: set.epoch };
  if (h.chainId !== chainId) refuseCert(`block ${h.height} is of chain ${h.chainId}, expected ${chainId}`, meta);
  if (fb.hash !== blockHash(h)) refuseCert(`block ${h.height}: hash mismatch`, meta);
  if (h.validatorSetHash !== set.hash) refuseCert(`block ${h.height} names validator set ${h.validatorSetHash}, the set of epoch ${set.epoch} is ${set.hash}`, meta);
  if (h.txCount !== fb.block.txs.length) refuseCert(`block ${h.height} has ${fb.block.txs.length} txs, its header says ${h.txCount}`, meta);
  if (txRoot(fb.block.txs.map((t) => t.id)) !== h.txRoot) refuseCert(`block ${h.height}: its txs do not give the header's txRoot`, meta);
  if (evidenceListHash(fb.block.evidence) !== h.evidenceHash) refuseCert(`block ${h.height}: its evidence does not give the header's evidenceHash`, meta);
  return verifyCertificate({ chainId, set, commit: fb.commit, height: h.height, blockHash: fb.hash });
}

/** Where the tracker reads sets and blocks (the client's HTTP calls, or anything else in tests). */
export interface ChainSource {
  /** `GET /validators?epoch=N` */
  fetchSet(epoch: number): Promise<unknown>;
  /** `GET /blocks/:height` */
  fetchBlock(height: number): Promise<unknown>;
}

export interface TrustedSet {
  readonly epoch: number;
  /** The set's hash, from a source the caller trusts (its own node, `GET /epochs/current` of a node it runs, a genesis it checked). */
  readonly setHash: string;
}

/**
 * Follows the chain's validator sets epoch by epoch, as a light client does.
 *
 * It starts from one trusted set: `trusted` when given, else the set of the
 * first epoch it is asked about, taken from the node as served (trust on
 * first use). From there it moves one epoch at a time:
 *
 * - **forward** to epoch N+1: the last block of epoch N must verify under set
 *   N; the first block of N+1 must follow it (`prevHash`), name the served set
 *   N+1 (`validatorSetHash`), carry a certificate with 2/3 of set N+1, and be
 *   signed by validators of set N holding more than 1/3 of set N's power (so
 *   at least one honest validator of the trusted set vouches for the new one,
 *   as in Tendermint's light client). A set that replaced more than 2/3 of the
 *   power in one epoch is refused: start again from a new trusted set.
 * - **backward** to epoch N−1: the first block of epoch N, verified under set
 *   N, names the last block of N−1 by hash, whose header names set N−1.
 *
 * A set once tracked is never replaced. Refusals are CertificateError
 * (VALIDATOR_SET_REFUSED or CERTIFICATE_REFUSED).
 */
export class ValidatorSetTracker {
  private readonly sets = new Map<number, TrackedValidatorSet>();
  private lo = -1;
  private hi = -1;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly p: {
      chainId: string;
      epochLengthBlocks: number;
      source: ChainSource;
      trusted?: TrustedSet;
      /** Most epochs walked in one call (default 1000); farther is refused. */
      maxWalk?: number;
    },
  ) {
    if (!Number.isSafeInteger(p.epochLengthBlocks) || p.epochLengthBlocks < 1) throw new RangeError('epochLengthBlocks must be a positive integer');
  }

  /** The epoch of a height: floor((height − 1) / epochLengthBlocks). */
  epochOf(height: number): number {
    return Math.floor((height - 1) / this.p.epochLengthBlocks);
  }

  /** The sets tracked so far, by epoch. */
  tracked(): TrackedValidatorSet[] {
    return [...this.sets.values()].sort((a, b) => a.epoch - b.epoch);
  }

  /** The set that signs `height`. */
  setForHeight(height: number): Promise<TrackedValidatorSet> {
    if (!Number.isSafeInteger(height) || height < 1) throw new RangeError(`height must be a positive integer, got ${height}`);
    return this.setForEpoch(this.epochOf(height));
  }

  /** The set of `epoch`, reached from the trusted set epoch by epoch. */
  setForEpoch(epoch: number): Promise<TrackedValidatorSet> {
    const run = this.lock.then(() => this.walkTo(epoch));
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Fetches a block and checks it against the tracked set of its epoch; returns it with the signed power. */
  async verifyBlock(height: number): Promise<{ block: FinalizedBlock; set: TrackedValidatorSet; signedPower: bigint }> {
    const set = await this.setForHeight(height);
    const block = decodeBlockAnswer(await this.p.source.fetchBlock(height), height);
    return { block, set, signedPower: verifyBlockAgainstSet({ chainId: this.p.chainId, set, block }) };
  }

  private async walkTo(epoch: number): Promise<TrackedValidatorSet> {
    const have = this.sets.get(epoch);
    if (have !== undefined) return have;
    if (this.lo < 0) await this.anchor(this.p.trusted?.epoch ?? epoch);
    const maxWalk = this.p.maxWalk ?? 1000;
    const distance = epoch > this.hi ? epoch - this.hi : this.lo - epoch;
    if (distance > maxWalk) refuseSet(`epoch ${epoch} is ${distance} epochs from the tracked sets (${this.lo}..${this.hi}); at most ${maxWalk} are walked: give a trusted set closer to it`);
    while (this.hi < epoch) await this.stepForward();
    while (this.lo > epoch) await this.stepBack();
    return this.sets.get(epoch)!;
  }

  private async fetchSet(epoch: number): Promise<TrackedValidatorSet> {
    const set = parseEpochSet(await this.p.source.fetchSet(epoch), epoch);
    const start = epoch * this.p.epochLengthBlocks + 1;
    if (set.startHeight !== start) refuseSet(`the set of epoch ${epoch} starts at height ${set.startHeight}, expected ${start} (epochLengthBlocks ${this.p.epochLengthBlocks})`);
    return set;
  }

  private async block(height: number): Promise<FinalizedBlock> {
    return decodeBlockAnswer(await this.p.source.fetchBlock(height), height);
  }

  private async anchor(epoch: number): Promise<void> {
    const set = await this.fetchSet(epoch);
    const trusted = this.p.trusted;
    if (trusted !== undefined && set.hash !== trusted.setHash) refuseSet(`the node serves set ${set.hash} for epoch ${epoch}, the trusted set is ${trusted.setHash}`, { epoch });
    this.sets.set(epoch, set);
    this.lo = this.hi = epoch;
  }

  private async stepForward(): Promise<void> {
    const trusted = this.sets.get(this.hi)!;
    const next = this.hi + 1;
    const start = next * this.p.epochLengthBlocks + 1;
    const last = await this.block(start - 1);
    verifyBlockAgainstSet({ chainId: this.p.chainId, set: trusted, block: last });
    const first = await this.block(start);
    if (first.block.header.prevHash !== last.hash) refuseSet(`block ${start} does not follow block ${start - 1} (prevHash ${first.block.header.prevHash}, block ${start - 1} is ${last.hash})`, { epoch: next });
    const set = await this.fetchSet(next);
    if (set.hash !== first.block.header.validatorSetHash) refuseSet(`the node serves set ${set.hash} for epoch ${next}, its first block names ${first.block.header.validatorSetHash}`, { epoch: next });
    verifyBlockAgainstSet({ chainId: this.p.chainId, set, block: first });
    // Signers of the new epoch's first block that were in the trusted set, counted with the trusted set's power.
    const old = new Map(trusted.validators.map((v) => [v.id, v]));
    let vouched = 0n;
    for (const s of first.commit.signatures) {
      const o = old.get(s.validatorId);
      const n = set.validators.find((v) => v.id === s.validatorId);
      if (o !== undefined && n !== undefined && o.pubKey === n.pubKey) vouched += o.votingPower;
    }
    if (!(3n * vouched > trusted.totalPower)) {
      refuseSet(`the set of epoch ${next} is vouched for by ${vouched} of ${trusted.totalPower} voting power of epoch ${this.hi}'s set, needs more than 1/3`, { epoch: next });
    }
    this.sets.set(next, set);
    this.hi = next;
  }

  private async stepBack(): Promise<void> {
    const trusted = this.sets.get(this.lo)!;
    const prev = this.lo - 1;
    const start = this.lo * this.p.epochLengthBlocks + 1;
    const first = await this.block(start);
    verifyBlockAgainstSet({ chainId: this.p.chainId, set: trusted, block: first });
    const last = await this.block(start - 1);
    if (last.hash !== first.block.header.prevHash) refuseSet(`block ${start - 1} is not the one block ${start} follows`, { epoch: prev });
    const set = await this.fetchSet(prev);
    if (set.hash !== last.block.header.validatorSetHash) refuseSet(`the node serves set ${set.hash} for epoch ${prev}, its last block names ${last.block.header.validatorSetHash}`, { epoch: prev });
    verifyBlockAgainstSet({ chainId: this.p.chainId, set, block: last });
    this.sets.set(prev, set);
    this.lo = prev;
  }
}
