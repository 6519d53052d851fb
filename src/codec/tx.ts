import { sha256Hex } from '../crypto/hash.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { ErrorCode, FastposError } from '../errors.js';
import { TX_KINDS, type DecodedTx, type Tx, type TxKind, type UnsignedTx } from '../types/index.js';
import { canonicalJson } from './canonical.js';

export const TX_DOMAIN = 'fastpos/tx/v1\n';

const ADDRESS_RE = /^[0-9a-f]{40}$/;
const PUBKEY_RE = /^[0-9a-f]{64}$/;
const SIG_RE = /^[0-9a-f]{128}$/;
const AMOUNT_RE = /^(0|[1-9][0-9]{0,38})$/;
const TX_FIELDS = new Set(['chainId', 'kind', 'from', 'pubKey', 'nonce', 'fee', 'payload', 'signature']);
const KINDS: ReadonlySet<string> = new Set(TX_KINDS);
/** Kinds whose execution rules exist in this version of the state machine. */
export const EXECUTABLE_KINDS: ReadonlySet<TxKind> = new Set<TxKind>(['transfer', 'validator_set_work_weight']);
/** Largest work weight in basis points (100×). */
export const MAX_WORK_WEIGHT = 1_000_000;

function invalid(message: string, code: typeof ErrorCode[keyof typeof ErrorCode] = ErrorCode.INVALID_TX): never {
  throw new FastposError(code, message);
}

export function isAddress(s: unknown): s is string {
  return typeof s === 'string' && ADDRESS_RE.test(s);
}

/** Parses a decimal-string amount (protocol §1). */
export function parseAmount(value: unknown, field: string): bigint {
  if (typeof value !== 'string' || !AMOUNT_RE.test(value)) {
    invalid(`${field} must be a decimal string of at most 39 digits without leading zeros, got ${JSON.stringify(value)?.slice(0, 60)}`, ErrorCode.INVALID_AMOUNT);
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

/** UTF-8 signing bytes of a tx: "fastpos/tx/v1\n" + canonicalJSON(tx without signature) (protocol §3). */
export function txSignBytes(tx: UnsignedTx): Buffer {
  return Buffer.from(TX_DOMAIN + canonicalJson(unsignedJson(tx)), 'utf8');
}

/** Wire JSON of a tx (amounts as decimal strings). */
export function encodeTx(tx: Tx): Record<string, unknown> {
  return { ...unsignedJson(tx), signature: tx.signature };
}

/** Builds the decoded form (id, sign bytes, size) of a structurally valid tx. */
export function toDecodedTx(tx: Tx): DecodedTx {
  const signBytes = txSignBytes(tx);
  // Canonical wire JSON with the signature is the unsigned JSON plus
  // `,"signature":"<128 hex>"`: 143 more bytes than the signed JSON.
  const size = signBytes.length - TX_DOMAIN.length + 143;
  return { tx, id: sha256Hex(signBytes), signBytes, size };
}

/**
 * Decodes and structurally validates a wire tx from any source (HTTP, peers,
 * storage). Checks shape, encodings and the sender/pubKey binding; does not check
 * the signature, the chain id or anything that depends on state.
 */
export function decodeTx(json: unknown): DecodedTx {
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
  const base = { chainId, from, pubKey, nonce, fee: feeValue, signature };
  let tx: Tx;
  if (kind === 'transfer') {
    for (const k of Object.keys(payload)) if (k !== 'to' && k !== 'amount') invalid(`unknown transfer payload field "${k}"`);
    if (!isAddress(payload.to)) invalid('payload.to must be an address: 40 lowercase hex characters');
    const amount = parseAmount(payload.amount, 'payload.amount');
    if (amount === 0n) invalid('payload.amount must be greater than 0', ErrorCode.INVALID_AMOUNT);
    tx = { ...base, kind, payload: { to: payload.to, amount } };
  } else {
    for (const k of Object.keys(payload)) if (k !== 'validatorId' && k !== 'workWeight') invalid(`unknown validator_set_work_weight payload field "${k}"`);
    if (!isAddress(payload.validatorId)) invalid('payload.validatorId must be a validator id: 40 lowercase hex characters');
    const w = payload.workWeight;
    if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 0 || w > MAX_WORK_WEIGHT) invalid(`payload.workWeight must be an integer from 0 to ${MAX_WORK_WEIGHT} (basis points)`);
    tx = { ...base, kind: 'validator_set_work_weight', payload: { validatorId: payload.validatorId, workWeight: w } };
  }
  return toDecodedTx(tx);
}
