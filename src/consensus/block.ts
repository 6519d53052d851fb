import { BLOCK_VERSION, blockHash, commitHash, evidenceListHash } from '../codec/block.js';
import { encodeEvidence } from '../codec/tx.js';
import { canonicalJson } from '../codec/canonical.js';
import { txRoot } from '../codec/merkle.js';
import { ZERO_HASH } from '../crypto/hash.js';
import { ErrorCode, FastposError, isFastposError } from '../errors.js';
import { BlockExecution, executeBlockTxs, type BlockContext } from '../state/execute.js';
import { unknownUpgradeDue, unknownUpgradeMessage } from '../state/upgrades.js';
import type { StateChanges, StateDiff, StateReader, WorldState } from '../state/worldState.js';
import type { LtElement } from '../state/ltHash.js';
import type { Block, BlockHeader, ChainParams, Commit, DecodedTx, Evidence, TxResult, Validator, ValidatorSet } from '../types/index.js';
import { selectProposer } from './proposer.js';

/** What a block at `height` builds on. */
export interface ChainTip {
  readonly height: number;
  readonly hash: string;
  readonly timestamp: number;
  /** Certificate of the tip (null at genesis). */
  readonly commit: Commit | null;
}

export interface BlockEnv {
  readonly chainId: string;
  readonly params: ChainParams;
  readonly treasury: string;
  /** The validator set of the block's height (its epoch's set). */
  readonly set: ValidatorSet;
  /** Validators by id (for reward addresses). */
  readonly validator: (id: string) => Validator | undefined;
}

/** Bytes an evidence item takes in a block (counted with the txs against maxBlockBytes). */
export function evidenceSize(e: Evidence): number {
  return canonicalJson(encodeEvidence(e)).length;
}

export interface ExecutedBlock {
  readonly block: Block;
  readonly hash: string;
  readonly results: readonly TxResult[];
  readonly diff: StateDiff;
}

/** A tx the proposer could not include, with the reason. */
export interface SkippedTx {
  readonly tx: DecodedTx;
  readonly error: FastposError;
}

function contextFor(env: BlockEnv, proposer: string, height: number): BlockContext {
  const feeRecipient = env.params.feeRecipient === 'treasury' ? env.treasury : (env.validator(proposer)?.rewardAddress ?? proposer);
  return { chainId: env.chainId, params: env.params, feeRecipient, height, treasury: env.treasury };
}

/**
 * A block at `height` under a rule change this release does not know can be
 * neither built nor checked (docs/operations.md, "Coordinated upgrades").
 */
export function refuseUnknownUpgrade(state: StateReader, height: number): void {
  const due = unknownUpgradeDue(state, height);
  if (due !== null) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${height}: ${unknownUpgradeMessage(due)}`);
}

/** What `buildBlock` takes. */
export interface BuildInput {
  env: BlockEnv;
  state: WorldState;
  tip: ChainTip;
  round: number;
  timestamp: number;
  candidates: Iterable<DecodedTx>;
  /** Valid, unused evidence to include (see `selectValidEvidence`); it goes first and counts against maxBlockBytes. */
  evidence?: readonly Evidence[];
}

/** A block's txs chosen and executed, before its state root is computed (`sealBlock`). */
export interface PreparedBlock {
  readonly input: BuildInput;
  readonly height: number;
  readonly proposer: string;
  readonly txs: DecodedTx[];
  readonly evidence: Evidence[];
  readonly skipped: SkippedTx[];
  readonly changes: StateChanges;
  readonly results: readonly TxResult[];
}

/**
 * Builds the block for (tip.height + 1, round) from candidate txs in priority
 * order: each is applied in turn; one that may not be in a block is skipped
 * (and reported), and the block stops at the tx-count or byte limit.
 */
export function buildBlock(p: BuildInput): ExecutedBlock & { skipped: SkippedTx[] } {
  return sealBlock(prepareBlock(p));
}

/** The first part of `buildBlock`: chooses and executes the txs. */
export function prepareBlock(p: BuildInput): PreparedBlock {
  const { env, state, tip } = p;
  const height = tip.height + 1;
  refuseUnknownUpgrade(state, height);
  const proposer = selectProposer(env.set, height, p.round).id;
  const ex = new BlockExecution(state, contextFor(env, proposer, height));
  let bytes = 0;
  const evidence: Evidence[] = [];
  for (const e of p.evidence ?? []) {
    const size = evidenceSize(e);
    if (bytes + size > env.params.maxBlockBytes / 2) break;
    evidence.push(e);
    bytes += size;
  }
  ex.beginBlock({ lastCommit: tip.commit, evidence });
  const txs: DecodedTx[] = [];
  const skipped: SkippedTx[] = [];
  for (const d of p.candidates) {
    if (txs.length >= env.params.maxBlockTxs) break;
    if (bytes + d.size > env.params.maxBlockBytes) continue;
    try {
      ex.apply(d);
    } catch (e) {
      if (!isFastposError(e)) throw e;
      skipped.push({ tx: d, error: e });
      continue;
    }
    txs.push(d);
    bytes += d.size;
  }
  ex.endBlock();
  return { input: p, height, proposer, txs, evidence, skipped, changes: ex.changes, results: ex.results };
}

/**
 * The second part of `buildBlock`: the state root and the header. `elements`
 * may hold lattice elements of the changed entries computed elsewhere
 * (`WorldState.elementInputs`); the result is the same with or without them.
 */
export function sealBlock(b: PreparedBlock, elements?: ReadonlyMap<string, LtElement>): ExecutedBlock & { skipped: SkippedTx[] } {
  const { env, state, tip, round, timestamp } = b.input;
  const { txs, evidence } = b;
  const diff = state.diff(b.changes, elements);
  const header: BlockHeader = {
    version: BLOCK_VERSION,
    chainId: env.chainId,
    height: b.height,
    round,
    // Strictly after the previous block, whatever the local clock says.
    timestamp: Math.max(timestamp, tip.timestamp + 1),
    prevHash: tip.hash,
    proposer: b.proposer,
    txRoot: txRoot(txs.map((d) => d.id)),
    txCount: txs.length,
    stateRoot: diff.stateRoot,
    validatorSetHash: env.set.hash,
    lastCommitHash: commitHash(tip.commit),
    evidenceHash: evidenceListHash(evidence),
  };
  const block: Block = { header, txs, lastCommit: tip.commit, evidence };
  return { block, hash: blockHash(header), results: b.results, diff, skipped: b.skipped };
}

function invalid(message: string): never {
  throw new FastposError(ErrorCode.INVALID_BLOCK, message);
}

/** The tx root of a block's txs, computed once per block object (blocks are never changed once made). */
const txRoots = new WeakMap<Block, string>();
function blockTxRoot(block: Block): string {
  let root = txRoots.get(block);
  if (root === undefined) {
    root = txRoot(block.txs.map((d) => d.id));
    txRoots.set(block, root);
  }
  return root;
}

/**
 * Why a block's body is not the body its header commits to (tx count, tx
 * root, previous certificate hash, evidence hash), or null when it is. A
 * header hash says nothing about a body on its own: every block taken from a
 * peer is checked with this before it is stored, served or relayed.
 */
export function bodyMismatch(block: Block): string | null {
  const h = block.header;
  if (h.txCount !== block.txs.length) return `txCount ${h.txCount} but ${block.txs.length} txs`;
  const root = blockTxRoot(block);
  if (h.txRoot !== root) return `txRoot must be ${root}, got ${h.txRoot}`;
  if (h.lastCommitHash !== commitHash(block.lastCommit)) return 'lastCommitHash does not match lastCommit';
  if (h.evidenceHash !== evidenceListHash(block.evidence)) return 'evidenceHash does not match the evidence carried';
  return null;
}

/**
 * Deterministic validity of a proposed or received block on top of `tip`
 * (consensus notes: "block validity"): header fields, proposer of the round,
 * limits, tx root, the carried previous certificate's hash, and execution of
 * every tx with the resulting state root, under the rules of its height (a
 * rule change this release does not know makes it INVALID_BLOCK). Tx signatures must have been verified
 * by the caller; the previous certificate's signatures too (`verifyCommit`).
 */
export function validateBlock(p: ValidateInput): ExecutedBlock {
  return sealValidated(executeProposed(p));
}

/** What `validateBlock` takes. */
export interface ValidateInput {
  env: BlockEnv;
  state: WorldState;
  tip: ChainTip;
  block: Block;
}

/** A block whose header rules hold and whose txs were executed, before its state root is checked (`sealValidated`). */
export interface ExecutedProposal {
  readonly input: ValidateInput;
  readonly changes: StateChanges;
  readonly results: readonly TxResult[];
}

/** The first part of `validateBlock`: every rule but the state root, and execution. */
export function executeProposed(p: ValidateInput): ExecutedProposal {
  const { env, state, tip, block } = p;
  const h = block.header;
  if (h.version !== BLOCK_VERSION) invalid(`block version must be ${BLOCK_VERSION}, got ${h.version}`);
  if (h.chainId !== env.chainId) invalid(`chainId must be ${env.chainId}, got ${h.chainId}`);
  if (h.height !== tip.height + 1) invalid(`height must be ${tip.height + 1}, got ${h.height}`);
  refuseUnknownUpgrade(state, h.height);
  if (h.prevHash !== tip.hash) invalid(`prevHash must be ${tip.hash}, got ${h.prevHash}`);
  if (h.timestamp <= tip.timestamp) invalid(`timestamp ${h.timestamp} is not after the previous block's ${tip.timestamp}`);
  const expected = selectProposer(env.set, h.height, h.round).id;
  if (h.proposer !== expected) invalid(`proposer of height ${h.height} round ${h.round} is ${expected}, got ${h.proposer}`);
  if (h.validatorSetHash !== env.set.hash) invalid(`validatorSetHash must be ${env.set.hash}, got ${h.validatorSetHash}`);
  if (h.txCount !== block.txs.length) invalid(`txCount ${h.txCount} but ${block.txs.length} txs`);
  if (block.txs.length > env.params.maxBlockTxs) invalid(`${block.txs.length} txs exceed maxBlockTxs ${env.params.maxBlockTxs}`);
  const bytes = block.txs.reduce((s, d) => s + d.size, 0) + block.evidence.reduce((s, e) => s + evidenceSize(e), 0);
  if (bytes > env.params.maxBlockBytes) invalid(`${bytes} tx and evidence bytes exceed maxBlockBytes ${env.params.maxBlockBytes}`);
  if (h.evidenceHash !== evidenceListHash(block.evidence)) invalid('evidenceHash does not match the evidence carried');
  const root = blockTxRoot(block);
  if (h.txRoot !== root) invalid(`txRoot must be ${root}, got ${h.txRoot}`);
  const ids = new Set(block.txs.map((d) => d.id));
  if (ids.size !== block.txs.length) invalid('block contains a tx twice');
  if (tip.height === 0) {
    if (block.lastCommit !== null || h.lastCommitHash !== ZERO_HASH) invalid('block 1 carries no previous certificate');
  } else {
    if (block.lastCommit === null) invalid(`block ${h.height} must carry the certificate of block ${tip.height}`);
    if (block.lastCommit.height !== tip.height || block.lastCommit.blockHash !== tip.hash) invalid('lastCommit is not for the previous block');
    if (h.lastCommitHash !== commitHash(block.lastCommit)) invalid('lastCommitHash does not match lastCommit');
  }
  const { changes, results } = executeBlockTxs(state, { txs: block.txs, lastCommit: block.lastCommit, evidence: block.evidence }, contextFor(env, h.proposer, h.height));
  return { input: p, changes, results };
}

/** The second part of `validateBlock`: the state root; `elements` as for `sealBlock`. */
export function sealValidated(x: ExecutedProposal, elements?: ReadonlyMap<string, LtElement>): ExecutedBlock {
  const { state, block } = x.input;
  const h = block.header;
  const diff = state.diff(x.changes, elements);
  if (diff.stateRoot !== h.stateRoot) invalid(`stateRoot must be ${diff.stateRoot}, got ${h.stateRoot}`);
  return { block, hash: blockHash(h), results: x.results, diff };
}
