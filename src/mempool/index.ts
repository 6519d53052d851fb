/**
 * The mempool: pending txs waiting for a block. Pure and deterministic (no I/O,
 * no clock, no randomness: heights and times come from the caller). Admission
 * reuses the state machine's `validateTxBasics` and adds pool policy (nonce
 * window, replacement by fee bump, per-sender cap, funds for the sender's whole
 * pending run, size limits with eviction of senders' last txs only, and only
 * for a tx that pays more than all it displaces); `candidates` yields txs in
 * block-building order; `update` follows finalized blocks (inclusion, recheck
 * of touched senders, expiry) and keeps bounded records of dropped txs.
 * `txFilter.ts` defines what the tx filters of the read APIs mean, for the
 * pending query here and the finalized-tx queries of the stores.
 * @module
 */
export {
  Mempool,
  estimatedMemory,
  type AddResult,
  type DropReason,
  type DroppedRecord,
  type MempoolOptions,
  type MempoolUpdate,
  type PendingPage,
  type PendingQuery,
} from './mempool.js';
export { hasTxFilter, matchesTxFilter, recipientOf, txFilterFields, validatorOf, type TxFilter, type TxFilterFields } from './txFilter.js';
