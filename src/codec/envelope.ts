import { ErrorCode, FastposError } from '../errors.js';
import type { Block, DecodedTx, FinalizedBlock } from '../types/index.js';
import { P2P_DOMAIN, blockHash, decodeCommit, decodeFinalizedBlock, decodeHeader, encodeEvidenceList, encodeFinalizedBlock, rawTxs } from './block.js';
import { canonicalJson, jsonDepthExceeds } from './canonical.js';
import { MAX_EVIDENCE_PAYLOAD_DEPTH, decodeEvidence, decodeTxReusing, type KnownTxLookup } from './tx.js';

export type { KnownTxLookup } from './tx.js';

/**
 * Signed envelopes between validators (protocol §6):
 * `{type, chainId, height, round, validatorId, payload, signature}`, signed over
 * "fastpos/p2p/v1\n" + canonicalJSON(envelope without signature).
 *
 * Payloads: prevote / precommit `{blockHash: hex | null}`; proposal
 * `{blockHash, validRound, block: {header, txs, lastCommit}}`; finalize
 * `{block: <finalized block wire JSON with its commit>}` (any validator may send
 * it; the receiver trusts the certificate inside, not the sender).
 */
export const ENVELOPE_TYPES = ['proposal', 'prevote', 'precommit', 'finalize'] as const;
export type EnvelopeType = (typeof ENVELOPE_TYPES)[number];

export interface Envelope {
  readonly type: EnvelopeType;
  readonly chainId: string;
  readonly height: number;
  readonly round: number;
  readonly validatorId: string;
  readonly payload: Record<string, unknown>;
  readonly signature: string;
}

export type UnsignedEnvelope = Omit<Envelope, 'signature'>;

export function envelopeSignBytes(e: UnsignedEnvelope): Buffer {
  const { type, chainId, height, round, validatorId, payload } = e;
  return Buffer.from(P2P_DOMAIN + canonicalJson({ type, chainId, height, round, validatorId, payload }), 'utf8');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const TYPES: ReadonlySet<string> = new Set(ENVELOPE_TYPES);
const ENVELOPE_FIELDS = ['type', 'chainId', 'height', 'round', 'validatorId', 'payload', 'signature'];
const PROPOSAL_FIELDS = ['blockHash', 'validRound', 'block'];
const PROPOSAL_BLOCK_FIELDS = ['header', 'txs', 'lastCommit', 'evidence'];

/**
 * Deepest nesting of an envelope's payload. The deepest free-form part of a
 * payload is an evidence message's payload (at most
 * `MAX_EVIDENCE_PAYLOAD_DEPTH`), which a proposal or finalize payload holds 7
 * levels down (payload › block › txs › tx › tx payload › evidence › message);
 * the rest is margin. Checked before anything else reads the payload, so that
 * its signing bytes (canonical JSON) and every later copy stay shallow.
 */
export const MAX_ENVELOPE_PAYLOAD_DEPTH = MAX_EVIDENCE_PAYLOAD_DEPTH + 16;

function bad(message: string): never {
  throw new FastposError(ErrorCode.INVALID_MESSAGE, message);
}

/**
 * Checks the envelope's own shape and bounds its payload's nesting (not the
 * payload's fields, not its signature). Cheap: run it before any signature work.
 */
export function decodeEnvelope(j: unknown): Envelope {
  if (!isObj(j)) bad('envelope must be a JSON object');
  for (const k of Object.keys(j)) if (!ENVELOPE_FIELDS.includes(k)) bad(`unknown envelope field "${k}"`);
  const { type, chainId, height, round, validatorId, payload, signature } = j;
  if (typeof type !== 'string' || !TYPES.has(type)) bad(`type must be one of ${ENVELOPE_TYPES.join(', ')}`);
  if (typeof chainId !== 'string' || chainId.length === 0 || chainId.length > 64) bad('chainId must be a string of 1 to 64 characters');
  if (!isUint(height) || height < 1) bad('height must be a positive integer');
  if (!isUint(round) || round > 1_000_000) bad('round must be an integer from 0 to 1000000');
  if (typeof validatorId !== 'string' || !HEX40.test(validatorId)) bad('validatorId must be 40 lowercase hex characters');
  if (!isObj(payload)) bad('payload must be a JSON object');
  if (jsonDepthExceeds(payload, MAX_ENVELOPE_PAYLOAD_DEPTH)) bad(`payload nests deeper than ${MAX_ENVELOPE_PAYLOAD_DEPTH} levels`);
  if (typeof signature !== 'string' || !HEX128.test(signature)) bad('signature must be 128 lowercase hex characters');
  return { type: type as EnvelopeType, chainId, height, round, validatorId, payload, signature };
}

/** Payload of a vote: its block hash or null. */
export function decodeVotePayload(e: Envelope): string | null {
  const keys = Object.keys(e.payload);
  if (keys.length !== 1 || keys[0] !== 'blockHash') bad('vote payload must be exactly {blockHash}');
  const h = e.payload.blockHash;
  if (h === null) return null;
  if (typeof h !== 'string' || !HEX64.test(h)) bad('payload.blockHash must be 64 lowercase hex characters or null');
  return h;
}

export function encodeProposalPayload(block: Block, hash: string, validRound: number): Record<string, unknown> {
  return {
    blockHash: hash,
    validRound,
    block: { header: block.header, txs: rawTxs(block.txs), lastCommit: block.lastCommit, evidence: encodeEvidenceList(block.evidence) },
  };
}

/**
 * Decodes a proposal payload; the block's hash must be the signed blockHash.
 * `known` (optional) skips decoding txs the receiver already holds.
 */
export function decodeProposalPayload(e: Envelope, known?: KnownTxLookup): { block: Block; blockHash: string; validRound: number } {
  for (const k of Object.keys(e.payload)) if (!PROPOSAL_FIELDS.includes(k)) bad(`unknown proposal payload field "${k}"`);
  const { blockHash: h, validRound, block } = e.payload;
  if (typeof h !== 'string' || !HEX64.test(h)) bad('payload.blockHash must be 64 lowercase hex characters');
  if (typeof validRound !== 'number' || !Number.isSafeInteger(validRound) || validRound < -1 || validRound >= e.round) bad('payload.validRound must be -1 or a round below the proposal round');
  if (!isObj(block)) bad('payload.block must be an object');
  for (const k of Object.keys(block)) if (!PROPOSAL_BLOCK_FIELDS.includes(k)) bad(`unknown payload.block field "${k}"`);
  let decoded: Block;
  try {
    const header = decodeHeader(block.header);
    if (!Array.isArray(block.txs)) bad('payload.block.txs must be an array');
    const list = block.txs as unknown[];
    const txs = list.map((_, i) => decodeTxReusing(list, i, known));
    const lastCommit = block.lastCommit === null || block.lastCommit === undefined ? null : decodeCommit(block.lastCommit);
    if (block.evidence !== undefined && !Array.isArray(block.evidence)) bad('payload.block.evidence must be an array');
    const evidence = ((block.evidence ?? []) as unknown[]).map((x, i) => decodeEvidence(x, `payload.block.evidence[${i}]`));
    decoded = { header, txs, lastCommit, evidence };
  } catch (err) {
    if (!(err instanceof FastposError) || err.code === ErrorCode.INVALID_MESSAGE) throw err;
    bad(`payload.block is malformed: ${err.message}`);
  }
  // A block proposed again from an earlier round (validRound >= 0) keeps the round it was built in.
  if (decoded.header.height !== e.height) bad('the block is not for the envelope height');
  if (validRound === -1 ? decoded.header.round !== e.round : decoded.header.round > validRound) bad('the block round does not fit the proposal round and validRound');
  if (blockHash(decoded.header) !== h) bad('payload.blockHash is not the hash of payload.block');
  return { block: decoded, blockHash: h, validRound };
}

export function encodeFinalizePayload(fb: FinalizedBlock): Record<string, unknown> {
  return { block: encodeFinalizedBlock(fb) as unknown as Record<string, unknown> };
}

/** Decodes a finalize payload; `known` (optional) skips decoding txs the receiver already holds. */
export function decodeFinalizePayload(e: Envelope, known?: KnownTxLookup): FinalizedBlock {
  for (const k of Object.keys(e.payload)) if (k !== 'block') bad(`unknown finalize payload field "${k}"`);
  try {
    const fb = decodeFinalizedBlock(e.payload.block, known);
    if (fb.block.header.height !== e.height) bad('the finalized block is not for the envelope height');
    return fb;
  } catch (err) {
    if (!(err instanceof FastposError) || err.code === ErrorCode.INVALID_MESSAGE) throw err;
    return bad(`payload.block is malformed: ${err.message}`);
  }
}
