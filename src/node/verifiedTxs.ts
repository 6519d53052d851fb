/**
 * Txs whose signature this node has already checked outside the pool: those
 * of a proposed block that gossip had not brought yet. When the same tx then
 * arrives by gossip (or from a client), admission takes it without checking
 * the signature again. Keyed by tx id with the signature that was checked, so
 * a tx with the same id and another signature is checked as usual. Bounded:
 * the oldest entries go first.
 * @module
 */
import { LRUCache } from 'lru-cache';
import type { DecodedTx } from '../types/index.js';

/** Entries kept: several full blocks' worth. */
const MAX_ENTRIES = 16_384;

export class VerifiedTxs {
  private readonly byId = new LRUCache<string, string>({ max: MAX_ENTRIES });

  /** Records txs whose signatures verified. */
  add(txs: Iterable<DecodedTx>): void {
    for (const d of txs) this.byId.set(d.id, d.tx.signature);
  }

  /** Whether this exact tx (id and signature) has been checked already. */
  has(d: DecodedTx): boolean {
    return this.byId.get(d.id) === d.tx.signature;
  }
}
