/**
 * What the tx filters of the read APIs mean, defined once: the pool's pending
 * query (`Mempool.pending`) and every chain store's finalized-tx query apply
 * these same rules, so `GET /tx/pending` and `GET /tx/finalized` agree on
 * which txs a filter selects.
 *
 * - `from`: the sender.
 * - `to`: the recipient; only a `transfer` has one.
 * - `kind`: the tx kind.
 * - `validatorId`: the validator the tx concerns, as its payload names it:
 *   the id of the key a `validator_bond` bonds (the address of its consensus
 *   public key), the validator named by `validatorId` in the payload of every
 *   other staking kind (unbond, delegate, undelegate, governance slash, jail,
 *   unjail, work weight, and any later kind whose payload names a validator),
 *   and the validator whose double sign the evidence form of
 *   `validator_slash` proves. Not the proposer of the block a tx is in, and
 *   not a transfer to the validator's address.
 * - `minFee`, `maxFee`: the fee, inclusive, compared as integers.
 *
 * Pure: no I/O, no clock.
 * @module
 */
import { addressFromPubKey } from '../crypto/keys.js';
import type { Address, Tx } from '../types/index.js';

/** Filters on a tx itself (combined with AND; an absent one selects every tx). */
export interface TxFilter {
  readonly from?: Address;
  readonly to?: Address;
  readonly kind?: string;
  readonly validatorId?: Address;
  readonly minFee?: bigint;
  readonly maxFee?: bigint;
}

/** The recipient of a tx as the `to` filter sees it: only transfers have one. */
export function recipientOf(tx: Tx): Address | null {
  return tx.kind === 'transfer' ? tx.payload.to : null;
}

/** The validator a tx concerns as the `validatorId` filter sees it, or null (see the module comment). */
export function validatorOf(tx: Tx): Address | null {
  if (tx.kind === 'validator_bond') return addressFromPubKey(tx.payload.pubKey);
  const payload = tx.payload as { readonly validatorId?: unknown; readonly evidence?: { readonly a?: { readonly validatorId?: unknown } } };
  if (typeof payload.validatorId === 'string') return payload.validatorId;
  if (tx.kind === 'validator_slash' && typeof payload.evidence?.a?.validatorId === 'string') return payload.evidence.a.validatorId;
  return null;
}

/** Whether any filter of `f` is set. */
export function hasTxFilter(f: TxFilter): boolean {
  return f.from !== undefined || f.to !== undefined || f.kind !== undefined || f.validatorId !== undefined || f.minFee !== undefined || f.maxFee !== undefined;
}

/** The per-tx values the filters read, computed once per tx. */
export interface TxFilterFields {
  readonly sender: Address;
  readonly recipient: Address | null;
  readonly kind: string;
  readonly validator: Address | null;
  readonly fee: bigint;
}

export function txFilterFields(tx: Tx): TxFilterFields {
  return { sender: tx.from, recipient: recipientOf(tx), kind: tx.kind, validator: validatorOf(tx), fee: tx.fee };
}

/** Whether a tx (by its filter fields) passes every filter of `f`. */
export function matchesTxFilter(r: TxFilterFields, f: TxFilter): boolean {
  if (f.from !== undefined && r.sender !== f.from) return false;
  if (f.to !== undefined && r.recipient !== f.to) return false;
  if (f.kind !== undefined && r.kind !== f.kind) return false;
  if (f.validatorId !== undefined && r.validator !== f.validatorId) return false;
  if (f.minFee !== undefined && r.fee < f.minFee) return false;
  if (f.maxFee !== undefined && r.fee > f.maxFee) return false;
  return true;
}
