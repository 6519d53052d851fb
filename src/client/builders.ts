/**
 * Typed builders of every tx kind (docs/api.md, "Kinds"): the payload of a
 * kind as the domain types name it (amounts as bigint), a tx built around it
 * and signed locally. A signed tx is decoded once by the node's own codec
 * before it is returned, so a payload the node would refuse at decoding
 * throws here, with the node's code, and never reaches the wire.
 * @module
 */
import { decodeTx } from '../codec/tx.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { addressFromPubKey } from '../crypto/keys.js';
import type { Tx, TxKind, UnsignedTx } from '../types/index.js';
import { signTx } from './sign.js';

/** The payload of a kind, as the domain types have it (amounts as bigint; the wire has decimal strings). */
export type TxPayloadOf<K extends TxKind> = Extract<Tx, { kind: K }>['payload'];

/** A signed tx: its id, its wire JSON (what `POST /tx` takes) and the unsigned tx it signs. */
export interface SignedTx<K extends TxKind = TxKind> {
  readonly id: string;
  readonly tx: Record<string, unknown>;
  readonly unsigned: Extract<UnsignedTx, { kind: K }>;
}

export interface BuildTxParams<K extends TxKind> {
  readonly chainId: string;
  readonly kind: K;
  readonly payload: TxPayloadOf<K>;
  readonly nonce: number;
  readonly fee: bigint;
}

/** A private seed (64 hex) or a Signer. */
export type SigningKey = string | Signer;

export function signerOf(key: SigningKey): Signer {
  return typeof key === 'string' ? createSigner(key) : key;
}

/** The unsigned tx of `kind` sent by the holder of `publicKey`. */
export function buildUnsignedTx<K extends TxKind>(publicKey: string, p: BuildTxParams<K>): Extract<UnsignedTx, { kind: K }> {
  return {
    chainId: p.chainId,
    kind: p.kind,
    from: addressFromPubKey(publicKey),
    pubKey: publicKey,
    nonce: p.nonce,
    fee: p.fee,
    payload: p.payload,
  } as unknown as Extract<UnsignedTx, { kind: K }>;
}

/**
 * Builds and signs a tx of any kind. Throws FastposError (INVALID_TX,
 * INVALID_AMOUNT, INVALID_EVIDENCE) for what the node would refuse at decoding:
 * an amount of 0, a malformed id, a field out of range.
 */
export function buildSignedTx<K extends TxKind>(key: SigningKey, p: BuildTxParams<K>): SignedTx<K> {
  const signer = signerOf(key);
  const unsigned = buildUnsignedTx(signer.publicKey, p);
  const { id, tx } = signTx(signer, unsigned);
  // The node's own decoding of the wire tx: the same checks, the same codes, the same id.
  const decoded = decodeTx(tx);
  if (decoded.id !== id) throw new Error(`invariant violated: tx id ${id} differs from the decoded id ${decoded.id}`);
  return { id, tx, unsigned };
}
