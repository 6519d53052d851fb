import { sha256Hex } from '../crypto/hash.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { ErrorCode, FastposError } from '../errors.js';
import {
  EVIDENCE_MESSAGE_TYPES,
  TX_KINDS,
  type DecodedTx,
  type Evidence,
  type EvidenceMessageType,
  type SignedMessage,
  type Tx,
  type TxKind,
  type UnsignedTx,
} from '../types/index.js';
import { RawJson, canonicalJson, jsonDepthExceeds } from './canonical.js';

export const TX_DOMAIN = 'fastpos/tx/v1\n';

const ADDRESS_RE = /^[0-9a-f]{40}$/;
const PUBKEY_RE = /^[0-9a-f]{64}$/;
const SIG_RE = /^[0-9a-f]{128}$/;
const AMOUNT_RE = /^(0|[1-9][0-9]{0,38})$/;
const TX_FIELDS = new Set(['chainId', 'kind', 'from', 'pubKey', 'nonce', 'fee', 'payload', 'signature']);
const KINDS: ReadonlySet<string> = new Set(TX_KINDS);
/** Kinds whose execution rules exist in this version of the state machine. */
export const EXECUTABLE_KINDS: ReadonlySet<TxKind> = new Set<TxKind>(TX_KINDS);
/** Largest oracle set a product_set_oracles may name. */
export const MAX_ORACLES = 100;
/** A settlement's reference: 1 to 128 printable ASCII characters. */
export const REFERENCE_RE = /^[\x21-\x7e]{1,128}$/;
/** A proof reference: a hash or a URI, 1 to 256 printable ASCII characters. */
export const PROOF_REF_RE = /^[\x21-\x7e]{1,256}$/;
/** Largest epoch number an attestation may name. */
export const MAX_EPOCH = 1_000_000_000_000;
/** Largest work weight in basis points (100×). */
export const MAX_WORK_WEIGHT = 1_000_000;
/** Largest jail length a governance validator_jail may set. */
export const MAX_JAIL_BLOCKS = 1_000_000_000_000;
/** A rule change's name: 1 to 64 of lowercase letters, digits and '-', starting with a letter or digit. */
export const UPGRADE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Largest height an upgrade_schedule may name (keeps every height arithmetic a safe integer). */
export const MAX_UPGRADE_HEIGHT = 1_000_000_000_000;
/** Domain prefix of an evidence id. */
export const EVIDENCE_DOMAIN = 'fastpos/evidence/v1\n';

function invalid(message: string, code: typeof ErrorCode[keyof typeof ErrorCode] = ErrorCode.INVALID_TX): never {
  throw new FastposError(code, message);
}

export function isAddress(s: unknown): s is string {
  return typeof s === 'string' && ADDRESS_RE.test(s);
}

/** How a refused input value is named in an error message: short, and safe for any value (however deep). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 60 ? `${JSON.stringify(value.slice(0, 60))}…` : JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Parses a decimal-string amount (protocol §1). */
export function parseAmount(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !AMOUNT_RE.test(value)) {
    invalid(`${field} must be a decimal string of at most 39 digits without leading zeros, got ${describeValue(value)}`, ErrorCode.INVALID_AMOUNT);
  }
  return BigInt(value);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function payloadJson(tx: UnsignedTx): Record<string, unknown> {
  switch (tx.kind) {
    case 'transfer':
      return { to: tx.payload.to, amount: tx.payload.amount.toString() };
    case 'validator_set_work_weight':
      return { validatorId: tx.payload.validatorId, workWeight: tx.payload.workWeight };
    case 'validator_bond':
      return { pubKey: tx.payload.pubKey, amount: tx.payload.amount.toString() };
    case 'validator_unbond':
    case 'delegation_delegate':
    case 'delegation_undelegate':
      return { validatorId: tx.payload.validatorId, amount: tx.payload.amount.toString() };
    case 'validator_slash':
      return 'evidence' in tx.payload
        ? { evidence: encodeEvidence(tx.payload.evidence) }
        : { validatorId: tx.payload.validatorId, fractionBps: tx.payload.fractionBps };
    case 'validator_jail':
      return { validatorId: tx.payload.validatorId, jailBlocks: tx.payload.jailBlocks };
    case 'validator_unjail':
      return { validatorId: tx.payload.validatorId };
    case 'product_attest':
      return { validatorId: tx.payload.validatorId, epoch: tx.payload.epoch, score: tx.payload.score, proofRef: tx.payload.proofRef };
    case 'product_challenge':
      return { proofId: tx.payload.proofId };
    case 'product_resolve_challenge':
      return { challengeId: tx.payload.challengeId, upheld: tx.payload.upheld };
    case 'product_settle':
      return { validatorId: tx.payload.validatorId, amount: tx.payload.amount.toString(), reference: tx.payload.reference };
    case 'product_set_oracles':
      return { oracles: tx.payload.oracles.map((o) => ({ address: o.address, stake: o.stake.toString() })) };
    case 'upgrade_schedule':
      return { name: tx.payload.name, height: tx.payload.height };
  }
}

/** The JSON object that is signed: the tx without its signature. */
function unsignedJson(tx: UnsignedTx): Record<string, unknown> {
  return {
    chainId: tx.chainId,
    kind: tx.kind,
    from: tx.from,
    pubKey: tx.pubKey,
    nonce: tx.nonce,
    fee: tx.fee.toString(),
    payload: payloadJson(tx),
  };
}

/**
 * Canonical JSON of a transfer without its signature, written out directly
 * (the hot path: every tx is encoded once per node): keys in RFC 8785 order
 * (chainId, fee, from, kind, nonce, payload {amount, to}, pubKey), strings as
 * JSON.stringify writes them (RFC 8785's string form), the nonce as a safe
 * integer. The same bytes as `canonicalJson(unsignedJson(tx))`; a property
 * test holds them equal.
 */
function transferSignJson(tx: Extract<UnsignedTx, { kind: 'transfer' }>): string {
  const s = JSON.stringify;
  return `{"chainId":${s(tx.chainId)},"fee":"${tx.fee}","from":${s(tx.from)},"kind":"transfer","nonce":${s(tx.nonce)},"payload":{"amount":"${tx.payload.amount}","to":${s(tx.payload.to)}},"pubKey":${s(tx.pubKey)}}`;
}

/** Canonical JSON of a tx without its signature (the part after the domain prefix in its signing bytes). */
export function txSignJson(tx: UnsignedTx): string {
  return tx.kind === 'transfer' && Number.isSafeInteger(tx.nonce) ? transferSignJson(tx) : canonicalJson(unsignedJson(tx));
}

/** UTF-8 signing bytes of a tx: "fastpos/tx/v1\n" + canonicalJSON(tx without signature) (protocol §3). */
export function txSignBytes(tx: UnsignedTx): Buffer {
  return Buffer.from(TX_DOMAIN + txSignJson(tx), 'utf8');
}

/** The generic path, for tests that hold the fast path to it. */
export function txSignJsonGeneric(tx: UnsignedTx): string {
  return canonicalJson(unsignedJson(tx));
}

/** Wire JSON of a tx (amounts as decimal strings). */
export function encodeTx(tx: Tx): Record<string, unknown> {
  return { ...unsignedJson(tx), signature: tx.signature };
}

/** Builds the decoded form (id, sign bytes, size) of a structurally valid tx. */
export function toDecodedTx(tx: Tx): DecodedTx {
  return decodedWith(tx, txSignJson(tx));
}

/** The decoded form from a tx and its signing JSON (canonical JSON without the signature). */
function decodedWith(tx: Tx, signJson: string): DecodedTx {
  const signBytes = Buffer.from(TX_DOMAIN + signJson, 'utf8');
  // Canonical wire JSON with the signature is the unsigned JSON plus
  // `,"signature":"<128 hex>"` ("signature" sorts after every other field):
  // 143 more bytes than the signed JSON.
  const size = signBytes.length - TX_DOMAIN.length + 143;
  const json = `${signJson.slice(0, -1)},"signature":${JSON.stringify(tx.signature)}}`;
  return { tx, id: sha256Hex(signBytes), signBytes, size, json };
}

/**
 * Decodes and structurally validates a wire tx from any source (HTTP, peers,
 * storage). Checks shape, encodings and the sender/pubKey binding; does not check
 * the signature, the chain id or anything that depends on state.
 */
export function decodeTx(value: unknown): DecodedTx {
  // An in-process encoding (a block handed over without serialization) is decoded from its text.
  const json = value instanceof RawJson ? (JSON.parse(value.json) as unknown) : value;
  if (!isPlainObject(json)) invalid('tx must be a JSON object');
  for (const k of Object.keys(json)) if (!TX_FIELDS.has(k)) invalid(`unknown tx field "${k}"`);
  const { chainId, kind, from, pubKey, nonce, fee, payload, signature } = json;
  if (typeof chainId !== 'string' || chainId.length === 0 || chainId.length > 64) invalid('chainId must be a string of 1 to 64 characters');
  if (typeof kind !== 'string' || !KINDS.has(kind)) invalid(`kind must be one of ${TX_KINDS.join(', ')}`);
  if (!EXECUTABLE_KINDS.has(kind as TxKind)) invalid(`tx kind "${kind}" is not supported by this node version`, ErrorCode.UNSUPPORTED_TX_KIND);
  if (!isAddress(from)) invalid('from must be an address: 40 lowercase hex characters');
  if (typeof pubKey !== 'string' || !PUBKEY_RE.test(pubKey)) invalid('pubKey must be 64 lowercase hex characters');
  if (addressFromPubKey(pubKey) !== from) invalid(`from ${from} is not the address of pubKey (expected ${addressFromPubKey(pubKey)})`, ErrorCode.SENDER_MISMATCH);
  if (typeof nonce !== 'number' || !Number.isSafeInteger(nonce) || nonce < 0) invalid('nonce must be a non-negative safe integer');
  const feeValue = parseAmount(fee, 'fee');
  if (typeof signature !== 'string' || !SIG_RE.test(signature)) invalid('signature must be 128 lowercase hex characters');
  if (!isPlainObject(payload)) invalid('payload must be a JSON object');
  if (kind === 'transfer') return decodeTransfer(chainId, from, pubKey, nonce, feeValue, signature, payload);
  const base = { chainId, from, pubKey, nonce, fee: feeValue, signature };
  return toDecodedTx(decodePayload(kind as TxKind, base, payload));
}

/**
 * The hot path of decoding: a transfer whose common fields are checked. Same
 * rules and messages as the generic path (`decodePayload`); the signing JSON is
 * written knowing that the hex fields need no escaping (only chainId may) and
 * that the nonce is a safe integer. A test holds it equal to the generic path.
 */
function decodeTransfer(chainId: string, from: string, pubKey: string, nonce: number, fee: bigint, signature: string, payload: Record<string, unknown>): DecodedTx {
  for (const k in payload) if (k !== 'to' && k !== 'amount') invalid(`unknown transfer payload field "${k}"`);
  const to = payload.to;
  if (!isAddress(to)) invalid('payload.to must be an address: 40 lowercase hex characters');
  const amount = positiveAmount(payload);
  const tx: Tx = { chainId, kind: 'transfer', from, pubKey, nonce, fee, payload: { to, amount }, signature };
  const signJson = `{"chainId":${JSON.stringify(chainId)},"fee":"${fee}","from":"${from}","kind":"transfer","nonce":${nonce},"payload":{"amount":"${amount}","to":"${to}"},"pubKey":"${pubKey}"}`;
  return decodedWith(tx, signJson);
}

type TxBaseFields = Pick<Tx, 'chainId' | 'from' | 'pubKey' | 'nonce' | 'fee' | 'signature'>;

function onlyFields(payload: Record<string, unknown>, kind: string, allowed: readonly string[]): void {
  for (const k of Object.keys(payload)) if (!allowed.includes(k)) invalid(`unknown ${kind} payload field "${k}"`);
}

function validatorIdField(payload: Record<string, unknown>): string {
  const id = payload.validatorId;
  if (!isAddress(id)) invalid('payload.validatorId must be a validator id: 40 lowercase hex characters');
  return id;
}

function positiveAmount(payload: Record<string, unknown>): bigint {
  const amount = parseAmount(payload.amount, 'payload.amount');
  if (amount === 0n) invalid('payload.amount must be greater than 0', ErrorCode.INVALID_AMOUNT);
  return amount;
}

function intField(payload: Record<string, unknown>, field: string, min: number, max: number, what: string): number {
  const v = payload[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) invalid(`payload.${field} must be an integer from ${min} to ${max} (${what})`);
  return v;
}

/** The payload of each executable kind: exact fields, unknown ones refused. */
function decodePayload(kind: TxKind, base: TxBaseFields, payload: Record<string, unknown>): Tx {
  switch (kind) {
    case 'transfer':
      return decodeTransfer(base.chainId, base.from, base.pubKey, base.nonce, base.fee, base.signature, payload).tx;
    case 'validator_set_work_weight': {
      onlyFields(payload, kind, ['validatorId', 'workWeight']);
      const validatorId = validatorIdField(payload);
      return { ...base, kind, payload: { validatorId, workWeight: intField(payload, 'workWeight', 0, MAX_WORK_WEIGHT, 'basis points') } };
    }
    case 'validator_bond': {
      onlyFields(payload, kind, ['pubKey', 'amount']);
      if (typeof payload.pubKey !== 'string' || !PUBKEY_RE.test(payload.pubKey)) invalid('payload.pubKey must be the consensus public key: 64 lowercase hex characters');
      return { ...base, kind, payload: { pubKey: payload.pubKey, amount: positiveAmount(payload) } };
    }
    case 'validator_unbond':
    case 'delegation_delegate':
    case 'delegation_undelegate': {
      onlyFields(payload, kind, ['validatorId', 'amount']);
      const validatorId = validatorIdField(payload);
      return { ...base, kind, payload: { validatorId, amount: positiveAmount(payload) } };
    }
    case 'validator_slash': {
      if ('evidence' in payload) {
        onlyFields(payload, kind + ' (evidence)', ['evidence']);
        return { ...base, kind, payload: { evidence: decodeEvidence(payload.evidence, 'payload.evidence') } };
      }
      onlyFields(payload, kind, ['validatorId', 'fractionBps']);
      const validatorId = validatorIdField(payload);
      return { ...base, kind, payload: { validatorId, fractionBps: intField(payload, 'fractionBps', 1, 10_000, 'basis points') } };
    }
    case 'validator_jail': {
      onlyFields(payload, kind, ['validatorId', 'jailBlocks']);
      const validatorId = validatorIdField(payload);
      return { ...base, kind, payload: { validatorId, jailBlocks: intField(payload, 'jailBlocks', 1, MAX_JAIL_BLOCKS, 'blocks') } };
    }
    case 'validator_unjail': {
      onlyFields(payload, kind, ['validatorId']);
      return { ...base, kind, payload: { validatorId: validatorIdField(payload) } };
    }
    case 'product_attest': {
      onlyFields(payload, kind, ['validatorId', 'epoch', 'score', 'proofRef']);
      const validatorId = validatorIdField(payload);
      const epoch = intField(payload, 'epoch', 0, MAX_EPOCH, 'an epoch number');
      // Out of range is refused, never clamped.
      const score = intField(payload, 'score', 0, MAX_WORK_WEIGHT, 'basis points of neutral work');
      if (typeof payload.proofRef !== 'string' || !PROOF_REF_RE.test(payload.proofRef)) invalid('payload.proofRef must be 1 to 256 printable ASCII characters (a hash or a URI)');
      return { ...base, kind, payload: { validatorId, epoch, score, proofRef: payload.proofRef } };
    }
    case 'product_challenge': {
      onlyFields(payload, kind, ['proofId']);
      if (typeof payload.proofId !== 'string' || !HEX64_RE.test(payload.proofId)) invalid('payload.proofId must be a proof id: 64 lowercase hex characters');
      return { ...base, kind, payload: { proofId: payload.proofId } };
    }
    case 'product_settle': {
      onlyFields(payload, kind, ['validatorId', 'amount', 'reference']);
      const validatorId = validatorIdField(payload);
      if (typeof payload.reference !== 'string' || !REFERENCE_RE.test(payload.reference)) invalid('payload.reference must be 1 to 128 printable ASCII characters');
      return { ...base, kind, payload: { validatorId, amount: positiveAmount(payload), reference: payload.reference } };
    }
    case 'product_set_oracles': {
      onlyFields(payload, kind, ['oracles']);
      const list = payload.oracles;
      if (!Array.isArray(list) || list.length > MAX_ORACLES) invalid(`payload.oracles must be an array of at most ${MAX_ORACLES} oracles`);
      const seen = new Set<string>();
      const oracles = list.map((x: unknown, i) => {
        if (!isPlainObject(x)) invalid(`payload.oracles[${i}] must be an object`);
        for (const k of Object.keys(x)) if (k !== 'address' && k !== 'stake') invalid(`unknown payload.oracles[${i}] field "${k}"`);
        if (!isAddress(x.address)) invalid(`payload.oracles[${i}].address must be an address: 40 lowercase hex characters`);
        if (seen.has(x.address)) invalid(`payload.oracles[${i}].address appears twice`);
        seen.add(x.address);
        const stake = parseAmount(x.stake, `payload.oracles[${i}].stake`);
        if (stake === 0n) invalid(`payload.oracles[${i}].stake must be greater than 0`, ErrorCode.INVALID_AMOUNT);
        return { address: x.address, stake };
      });
      return { ...base, kind, payload: { oracles } };
    }
    case 'product_resolve_challenge': {
      onlyFields(payload, kind, ['challengeId', 'upheld']);
      if (typeof payload.challengeId !== 'string' || !HEX64_RE.test(payload.challengeId)) invalid('payload.challengeId must be a challenge id: 64 lowercase hex characters');
      if (typeof payload.upheld !== 'boolean') invalid('payload.upheld must be true (the proof was fraudulent) or false');
      return { ...base, kind, payload: { challengeId: payload.challengeId, upheld: payload.upheld } };
    }
    case 'upgrade_schedule': {
      onlyFields(payload, kind, ['name', 'height']);
      if (typeof payload.name !== 'string' || !UPGRADE_NAME_RE.test(payload.name)) {
        invalid('payload.name must be an upgrade name: 1 to 64 of lowercase letters, digits and "-", starting with a letter or digit');
      }
      return { ...base, kind, payload: { name: payload.name, height: intField(payload, 'height', 0, MAX_UPGRADE_HEIGHT, 'the first height of the new rule, or 0 to cancel') } };
    }
    default:
      return invalid(`tx kind "${kind}" is not supported by this node version`, ErrorCode.UNSUPPORTED_TX_KIND);
  }
}

// ---------------------------------------------------------------- reuse of held txs

/** Deep equality of two JSON values (objects compared key by key, order ignored). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * Where a receiver may already hold a decoded tx: looked up by the wire tx's
 * signature. The decoded tx is used only when its wire form equals the wire tx
 * field by field, so the result is exactly what `decodeTx` would give.
 */
export type KnownTxLookup = (signature: string) => DecodedTx | undefined;

/** Whether a wire transfer is exactly the JSON value of a decoded one (field by field, no allocation of an encoding). */
function isWireTransfer(w: Record<string, unknown>, d: DecodedTx): boolean {
  const t = d.tx;
  if (t.kind !== 'transfer') return false;
  const p = w.payload;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  const pw = p as Record<string, unknown>;
  return (
    w.signature === t.signature &&
    w.chainId === t.chainId &&
    w.kind === 'transfer' &&
    w.from === t.from &&
    w.pubKey === t.pubKey &&
    w.nonce === t.nonce &&
    w.fee === t.fee.toString() &&
    Object.keys(w).length === 8 &&
    pw.to === t.payload.to &&
    pw.amount === t.payload.amount.toString() &&
    Object.keys(pw).length === 2
  );
}

/**
 * Decodes tx `i` of a proposal's or finalize's wire list. A tx the receiver already holds
 * (looked up by signature) is reused when the wire value equals its encoding
 * exactly; the list entry is then replaced by that tx's canonical text, the
 * same text the signature covers, so that checking the envelope signature
 * does not encode it again.
 */
export function decodeTxReusing(list: unknown[], i: number, known: KnownTxLookup | undefined): DecodedTx {
  const wire = list[i];
  if (known !== undefined && typeof wire === 'object' && wire !== null && !Array.isArray(wire)) {
    const w = wire as Record<string, unknown>;
    const d = typeof w.signature === 'string' ? known(w.signature) : undefined;
    if (d !== undefined && (isWireTransfer(w, d) || jsonEqual(w, encodeTx(d.tx)))) {
      list[i] = new RawJson(d.json);
      return d;
    }
  }
  return decodeTx(wire);
}

// ---------------------------------------------------------------- evidence

const HEX64_RE = /^[0-9a-f]{64}$/;
const EVIDENCE_TYPES: ReadonlySet<string> = new Set(EVIDENCE_MESSAGE_TYPES);
/**
 * Deepest nesting of an evidence message's payload (a vote payload nests 1
 * level, a proposal payload about 8, plus 7 per proposal double sign carried
 * inside it). Evidence deeper than this is refused when decoded and is not
 * valid in a block (`evidenceShapeProblem`), so that a block holding valid
 * evidence always fits the envelope limit (`MAX_ENVELOPE_PAYLOAD_DEPTH`).
 */
export const MAX_EVIDENCE_PAYLOAD_DEPTH = 64;
const MESSAGE_FIELDS = ['type', 'chainId', 'height', 'round', 'validatorId', 'payload', 'signature'];

function badEvidence(message: string): never {
  throw new FastposError(ErrorCode.INVALID_EVIDENCE, message);
}

/** Canonical JSON of a payload, or INVALID_EVIDENCE if it is not plain JSON. */
function payloadCanonical(payload: unknown, where: string): string {
  try {
    return canonicalJson(payload);
  } catch (e) {
    return badEvidence(`${where}.payload is not plain JSON: ${(e as Error).message}`);
  }
}

function decodeSignedMessage(j: unknown, where: string): SignedMessage {
  if (!isPlainObject(j)) badEvidence(`${where} must be a JSON object`);
  for (const k of Object.keys(j)) if (!MESSAGE_FIELDS.includes(k)) badEvidence(`unknown ${where} field "${k}"`);
  const { type, chainId, height, round, validatorId, payload, signature } = j;
  if (typeof type !== 'string' || !EVIDENCE_TYPES.has(type)) badEvidence(`${where}.type must be one of ${EVIDENCE_MESSAGE_TYPES.join(', ')}`);
  if (typeof chainId !== 'string' || chainId.length === 0 || chainId.length > 64) badEvidence(`${where}.chainId must be a string of 1 to 64 characters`);
  if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 1) badEvidence(`${where}.height must be a positive integer`);
  if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 0 || round > 1_000_000) badEvidence(`${where}.round must be an integer from 0 to 1000000`);
  if (!isAddress(validatorId)) badEvidence(`${where}.validatorId must be 40 lowercase hex characters`);
  if (!isPlainObject(payload)) badEvidence(`${where}.payload must be a JSON object`);
  if (jsonDepthExceeds(payload, MAX_EVIDENCE_PAYLOAD_DEPTH)) badEvidence(`${where}.payload nests deeper than ${MAX_EVIDENCE_PAYLOAD_DEPTH} levels`);
  if (typeof signature !== 'string' || !SIG_RE.test(signature)) badEvidence(`${where}.signature must be 128 lowercase hex characters`);
  if (type === 'prevote' || type === 'precommit') {
    const keys = Object.keys(payload);
    const h = payload.blockHash;
    if (keys.length !== 1 || keys[0] !== 'blockHash' || !(h === null || (typeof h === 'string' && HEX64_RE.test(h)))) {
      badEvidence(`${where}.payload of a vote must be exactly {blockHash: 64 lowercase hex or null}`);
    }
  }
  // A normalized copy: the canonical JSON (what was signed) is unchanged.
  const copy = JSON.parse(payloadCanonical(payload, where)) as Record<string, unknown>;
  return { type: type as EvidenceMessageType, chainId, height, round, validatorId, payload: copy, signature };
}

/**
 * Decodes equivocation evidence `{a, b}` (a tx payload's or a block's) and
 * checks what needs no state: both messages well formed, of one type
 * (proposal, prevote or precommit), chain, height, round and validator, with
 * different payloads. Signatures, the validator's key at that height and the
 * evidence age are checked at execution (state/evidence.ts).
 * Throws INVALID_EVIDENCE naming the first problem.
 */
export function decodeEvidence(j: unknown, where = 'evidence'): Evidence {
  if (!isPlainObject(j)) badEvidence(`${where} must be a JSON object {a, b}`);
  for (const k of Object.keys(j)) if (k !== 'a' && k !== 'b') badEvidence(`unknown ${where} field "${k}"`);
  const a = decodeSignedMessage(j.a, `${where}.a`);
  const b = decodeSignedMessage(j.b, `${where}.b`);
  const problem = evidenceShapeProblem({ a, b });
  if (problem !== null) badEvidence(`${where}: ${problem}`);
  return { a, b };
}

/** Why two messages are not a double sign by their content alone, or null. */
export function evidenceShapeProblem(e: Evidence): string | null {
  const { a, b } = e;
  if (a.type !== b.type) return `the messages have different types (${a.type}, ${b.type})`;
  if (!EVIDENCE_TYPES.has(a.type)) return `type ${a.type} cannot be evidence`;
  if (a.chainId !== b.chainId) return 'the messages are for different chains';
  if (a.height !== b.height) return `the messages are for different heights (${a.height}, ${b.height})`;
  if (a.round !== b.round) return `the messages are for different rounds (${a.round}, ${b.round})`;
  if (a.validatorId !== b.validatorId) return 'the messages are from different validators';
  if (jsonDepthExceeds(a.payload, MAX_EVIDENCE_PAYLOAD_DEPTH) || jsonDepthExceeds(b.payload, MAX_EVIDENCE_PAYLOAD_DEPTH)) return `a payload nests deeper than ${MAX_EVIDENCE_PAYLOAD_DEPTH} levels`;
  let same: boolean;
  try {
    same = canonicalJson(a.payload) === canonicalJson(b.payload);
  } catch {
    return 'a payload is not plain JSON';
  }
  if (same) return 'the messages have identical payloads: no equivocation';
  return null;
}

function messageJson(m: SignedMessage): Record<string, unknown> {
  return { type: m.type, chainId: m.chainId, height: m.height, round: m.round, validatorId: m.validatorId, payload: m.payload, signature: m.signature };
}

/** Wire JSON of evidence. */
export function encodeEvidence(e: Evidence): { a: Record<string, unknown>; b: Record<string, unknown> } {
  return { a: messageJson(e.a), b: messageJson(e.b) };
}

/**
 * Id of evidence: hex(sha256("fastpos/evidence/v1\n" + canonicalJSON({a, b})))
 * with a and b ordered by their canonical JSON, so (a, b) and (b, a) have one id.
 */
export function evidenceId(e: Evidence): string {
  const ca = canonicalJson(messageJson(e.a));
  const cb = canonicalJson(messageJson(e.b));
  const [first, second] = ca <= cb ? [ca, cb] : [cb, ca];
  return sha256Hex(`${EVIDENCE_DOMAIN}{"a":${first},"b":${second}}`);
}
