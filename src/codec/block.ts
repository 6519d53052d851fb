import { sha256Hex } from '../crypto/hash.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { Block, BlockHeader, Commit, CommitSignature, DecodedTx, Evidence, FinalizedBlock, TxResult } from '../types/index.js';
import { RawJson, canonicalJson } from './canonical.js';
import { decodeEvidence, decodeTx, decodeTxReusing, encodeEvidence, type KnownTxLookup } from './tx.js';

export const BLOCK_DOMAIN = 'fastpos/block/v1\n';
export const P2P_DOMAIN = 'fastpos/p2p/v1\n';
export const COMMIT_DOMAIN = 'fastpos/commit/v1\n';
export const EVIDENCE_LIST_DOMAIN = 'fastpos/evidence-list/v1\n';
export const BLOCK_VERSION = 1;

/** Block hash: hex(sha256("fastpos/block/v1\n" + canonicalJSON(header))) (protocol §4). */
export function blockHash(header: BlockHeader): string {
  return sha256Hex(BLOCK_DOMAIN + canonicalJson(header));
}

/** Hash of a commit certificate, carried as `lastCommitHash` by the next block. */
export function commitHash(commit: Commit | null): string {
  if (commit === null) return '0'.repeat(64);
  return sha256Hex(COMMIT_DOMAIN + canonicalJson(commit));
}

/** Hash of a block's evidence list, carried as `evidenceHash` by its header. */
export function evidenceListHash(evidence: readonly Evidence[]): string {
  return sha256Hex(EVIDENCE_LIST_DOMAIN + canonicalJson(evidence.map((e) => encodeEvidence(e))));
}

/** Wire form of an evidence list; decoding is strict (each item as `decodeEvidence`). */
export function encodeEvidenceList(evidence: readonly Evidence[]): Record<string, unknown>[] {
  return evidence.map((e) => encodeEvidence(e));
}

function decodeEvidenceList(j: unknown, where: string): Evidence[] {
  if (j === undefined) return [];
  if (!Array.isArray(j)) bad(`${where} must be an array`);
  return j.map((e, i) => decodeEvidence(e, `${where}[${i}]`));
}

export type VoteType = 'prevote' | 'precommit';

/**
 * Signing bytes of a vote envelope (protocol §6):
 * "fastpos/p2p/v1\n" + canonicalJSON({type, chainId, height, round, validatorId, payload}).
 */
export function voteSignBytes(v: {
  type: VoteType;
  chainId: string;
  height: number;
  round: number;
  validatorId: string;
  blockHash: string | null;
}): Buffer {
  const envelope = {
    type: v.type,
    chainId: v.chainId,
    height: v.height,
    round: v.round,
    validatorId: v.validatorId,
    payload: { blockHash: v.blockHash },
  };
  return Buffer.from(P2P_DOMAIN + canonicalJson(envelope), 'utf8');
}

export interface WireBlock {
  header: BlockHeader;
  hash: string;
  /** Each tx's canonical wire JSON: serialize a wire block with `canonicalJson` (or `blockJson`). */
  txs: RawJson[];
  results: { success: boolean; error?: string }[];
  commit: Commit;
  lastCommit: Commit | null;
  evidence: Record<string, unknown>[];
}

export function encodeFinalizedBlock(fb: FinalizedBlock): WireBlock {
  return {
    header: fb.block.header,
    hash: fb.hash,
    txs: rawTxs(fb.block.txs),
    results: fb.results.map((r) => (r.error === undefined ? { success: r.success } : { success: r.success, error: r.error })),
    commit: fb.commit,
    lastCommit: fb.block.lastCommit,
    evidence: encodeEvidenceList(fb.block.evidence),
  };
}

/** A block's txs as their canonical wire JSON, encoded once when each tx was decoded. */
export function rawTxs(txs: readonly DecodedTx[]): RawJson[] {
  return txs.map((d) => new RawJson(d.json));
}

/** Wire JSON text of a finalized block (canonical: the form stored, served and sent). */
export function finalizedBlockJson(fb: FinalizedBlock): string {
  return canonicalJson(encodeFinalizedBlock(fb));
}

function bad(message: string): never {
  throw new FastposError(ErrorCode.INVALID_BLOCK, message);
}
const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function decodeHeader(j: unknown): BlockHeader {
  if (!isObj(j)) bad('header must be an object');
  const h = j;
  const str = (k: string, re: RegExp): string => {
    const v = h[k];
    if (typeof v !== 'string' || !re.test(v)) bad(`header.${k} is malformed`);
    return v;
  };
  const num = (k: string): number => {
    const v = h[k];
    if (!isUint(v)) bad(`header.${k} must be a non-negative integer`);
    return v;
  };
  if (Object.keys(h).length !== 13) bad('header must have exactly the 13 fields of block version 1');
  if (typeof h.chainId !== 'string') bad('header.chainId must be a string');
  return {
    version: num('version'),
    chainId: h.chainId,
    height: num('height'),
    round: num('round'),
    timestamp: num('timestamp'),
    prevHash: str('prevHash', HEX64),
    proposer: str('proposer', HEX40),
    txRoot: str('txRoot', HEX64),
    txCount: num('txCount'),
    stateRoot: str('stateRoot', HEX64),
    validatorSetHash: str('validatorSetHash', HEX64),
    lastCommitHash: str('lastCommitHash', HEX64),
    evidenceHash: str('evidenceHash', HEX64),
  };
}

/** Refuses keys of `o` that are not in `fields`. */
function onlyFields(o: Record<string, unknown>, fields: readonly string[], where: string, code: ErrorCode = ErrorCode.INVALID_BLOCK): void {
  for (const k of Object.keys(o)) if (!fields.includes(k)) throw new FastposError(code, `unknown ${where} field "${k}"`);
}

export function decodeCommit(j: unknown): Commit {
  if (!isObj(j)) throw new FastposError(ErrorCode.INVALID_COMMIT, 'commit must be an object');
  onlyFields(j, ['height', 'round', 'blockHash', 'signatures'], 'commit', ErrorCode.INVALID_COMMIT);
  const { height, round, blockHash: hash, signatures } = j;
  if (!isUint(height) || !isUint(round)) throw new FastposError(ErrorCode.INVALID_COMMIT, 'commit height and round must be non-negative integers');
  if (typeof hash !== 'string' || !HEX64.test(hash)) throw new FastposError(ErrorCode.INVALID_COMMIT, 'commit.blockHash is malformed');
  if (!Array.isArray(signatures)) throw new FastposError(ErrorCode.INVALID_COMMIT, 'commit.signatures must be an array');
  const sigs: CommitSignature[] = signatures.map((s: unknown) => {
    if (!isObj(s) || typeof s.validatorId !== 'string' || !HEX40.test(s.validatorId) || typeof s.signature !== 'string' || !HEX128.test(s.signature)) {
      throw new FastposError(ErrorCode.INVALID_COMMIT, 'commit signature entries need validatorId (40 hex) and signature (128 hex)');
    }
    onlyFields(s, ['validatorId', 'signature'], 'commit signature', ErrorCode.INVALID_COMMIT);
    return { validatorId: s.validatorId, signature: s.signature };
  });
  return { height, round, blockHash: hash, signatures: sigs };
}

/** Wire JSON of a block body (header, txs, previous certificate), as a proposal carries it. */
export function encodeBlock(block: Block): { header: BlockHeader; txs: RawJson[]; lastCommit: Commit | null; evidence: Record<string, unknown>[] } {
  return { header: block.header, txs: rawTxs(block.txs), lastCommit: block.lastCommit, evidence: encodeEvidenceList(block.evidence) };
}

/** Decodes a block body written by `encodeBlock` (structure only). */
export function decodeBlock(j: unknown): Block {
  if (!isObj(j)) bad('block must be an object');
  onlyFields(j, ['header', 'txs', 'lastCommit', 'evidence'], 'block');
  const header = decodeHeader(j.header);
  if (!Array.isArray(j.txs)) bad('block.txs must be an array');
  const txs = j.txs.map((t) => decodeTx(t));
  const lastCommit = j.lastCommit === null || j.lastCommit === undefined ? null : decodeCommit(j.lastCommit);
  return { header, txs, lastCommit, evidence: decodeEvidenceList(j.evidence, 'block.evidence') };
}

/**
 * Decodes a wire block (from storage, a peer or a sync response). Checks only
 * structure and the hash. `known` (optional) reuses txs the caller already
 * holds, when the wire tx equals one exactly.
 */
export function decodeFinalizedBlock(j: unknown, known?: KnownTxLookup): FinalizedBlock {
  if (!isObj(j)) bad('block must be an object');
  onlyFields(j, ['header', 'hash', 'txs', 'results', 'commit', 'lastCommit', 'evidence'], 'block');
  const header = decodeHeader(j.header);
  if (!Array.isArray(j.txs)) bad('txs must be an array');
  const list = j.txs as unknown[];
  const txs = known === undefined ? list.map((t) => decodeTx(t)) : list.map((_, i) => decodeTxReusing(list, i, known));
  if (!Array.isArray(j.results) || j.results.length !== txs.length) bad('results must have one entry per tx');
  const results: TxResult[] = j.results.map((r: unknown) => {
    if (!isObj(r) || typeof r.success !== 'boolean') bad('result entries need a boolean success');
    onlyFields(r, ['success', 'error'], 'result');
    if (r.error !== undefined && typeof r.error !== 'string') bad('a result error must be a string (an error code)');
    return typeof r.error === 'string' ? { success: r.success, error: r.error } : { success: r.success };
  });
  const commit = decodeCommit(j.commit);
  const lastCommit = j.lastCommit === null || j.lastCommit === undefined ? null : decodeCommit(j.lastCommit);
  const hash = blockHash(header);
  if (j.hash !== hash) bad(`block hash mismatch at height ${header.height}: expected ${hash}, got ${typeof j.hash === 'string' ? JSON.stringify(j.hash.slice(0, 64)) : typeof j.hash}`);
  const block: Block = { header, txs, lastCommit, evidence: decodeEvidenceList(j.evidence, 'evidence') };
  return { block, hash, results, commit };
}

/** Decodes a `/sync/blocks` answer: a JSON array of wire finalized blocks (structure and hashes only, as `decodeFinalizedBlock`). */
export function decodeSyncBlocks(j: unknown, known?: KnownTxLookup): FinalizedBlock[] {
  if (!Array.isArray(j)) bad('a /sync/blocks answer must be an array of blocks');
  return j.map((b) => decodeFinalizedBlock(b, known));
}

/** A header with its hash and certificate, as `GET /sync/headers` serves it; the hash must be the header's. */
export function decodeCertifiedHeader(j: unknown): { header: BlockHeader; hash: string; commit: Commit } {
  if (!isObj(j)) bad('a certified header must be an object');
  onlyFields(j, ['header', 'hash', 'commit'], 'certified header');
  const header = decodeHeader(j.header);
  const hash = blockHash(header);
  if (j.hash !== hash) bad(`certified header ${header.height} says hash ${String(j.hash)}, but the header hashes to ${hash}`);
  const commit = decodeCommit(j.commit);
  return { header, hash, commit };
}

/** A `/sync/status` answer: where a peer's chain stands. */
export interface WireSyncStatus {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly height: number;
  readonly hash: string;
  readonly syncing: boolean;
  /** Lowest height whose whole block the peer keeps (1 from a peer that does not say). */
  readonly earliestBlockHeight: number;
}

function badStatus(message: string): never {
  throw new FastposError(ErrorCode.INVALID_MESSAGE, message);
}

/** Decodes a `/sync/status` answer (exactly its five fields); INVALID_MESSAGE names the first one that is wrong. */
export function decodeSyncStatus(j: unknown): WireSyncStatus {
  if (!isObj(j)) badStatus('a /sync/status answer must be an object');
  onlyFields(j, ['chainId', 'genesisHash', 'height', 'hash', 'syncing', 'earliestBlockHeight', 'earliestHeaderHeight', 'progress'], 'sync status', ErrorCode.INVALID_MESSAGE);
  const { chainId, genesisHash, height, hash, syncing, earliestBlockHeight = 1 } = j;
  if (typeof chainId !== 'string' || chainId.length === 0 || chainId.length > 64) badStatus('sync status chainId must be a string of 1 to 64 characters');
  if (typeof genesisHash !== 'string' || !HEX64.test(genesisHash)) badStatus('sync status genesisHash must be 64 lowercase hex characters');
  if (!isUint(height)) badStatus('sync status height must be a non-negative integer');
  if (typeof hash !== 'string' || !HEX64.test(hash)) badStatus('sync status hash must be 64 lowercase hex characters');
  if (typeof syncing !== 'boolean') badStatus('sync status syncing must be a boolean');
  if (!isUint(earliestBlockHeight)) badStatus('sync status earliestBlockHeight must be a non-negative integer');
  return { chainId, genesisHash, height, hash, syncing, earliestBlockHeight };
}
