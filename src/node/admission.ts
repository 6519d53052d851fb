/**
 * Tx admission, one pipeline for clients and peers (a single tx is a batch of
 * one): decode, known?, cheap pool checks, then the batch's signatures
 * together (off the main thread), then the pool, which checks again against
 * the state that may have moved meanwhile.
 * @module
 */
import { decodeTx, encodeTx } from '../codec/tx.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { DroppedRecord, Mempool } from '../mempool/index.js';
import { getAccount } from '../state/execute.js';
import type { ChainStore, FinalizedTxRecord } from '../storage/types.js';
import type { DecodedTx } from '../types/index.js';
import { getSettlement } from '../state/product.js';
import type { ChainHead } from './chainHead.js';
import type { PartContext, SignatureVerifier } from './context.js';
import type { VerifiedTxs } from './verifiedTxs.js';

export type TxStatus =
  | { id: string; status: 'pending'; tx: Record<string, unknown> }
  | { id: string; status: 'finalized'; height: number; index: number; blockHash: string; success: boolean; error?: string; tx: Record<string, unknown> }
  | { id: string; status: 'dropped'; error: string; message: string; height: number; tx: Record<string, unknown> };

export interface AdmissionDeps extends PartContext {
  readonly head: ChainHead;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly verifier: SignatureVerifier;
  /** Txs whose signature was checked already (in a proposed block): admitted without a second check. */
  readonly verified?: VerifiedTxs;
  /** Whether txs may be admitted now (false while the node stops). */
  readonly open: () => boolean;
  /** A tx entered the pool. */
  readonly admitted: (d: DecodedTx, json: unknown, fromPeer: boolean) => void;
}

/** One tx's outcome in a batch: its status, or why it was refused. */
export type AdmissionResult = { readonly ok: true; readonly status: TxStatus; readonly known: boolean } | { readonly ok: false; readonly error: FastposError };

export class Admission {
  /** Admission time of pending txs (monotonic ms), for the finality latency metric. */
  private readonly admittedAt = new Map<string, number>();

  constructor(private readonly deps: AdmissionDeps) {}

  /**
   * Admits a batch of wire txs; answers per tx, in order. With `idempotent`,
   * a tx already known answers its status instead of DUPLICATE_TX.
   */
  async admit(txs: readonly unknown[], opts: { idempotent?: boolean; fromPeer?: boolean } = {}): Promise<AdmissionResult[]> {
    const { head, mempool, metrics, verifier, clock } = this.deps;
    const out: (AdmissionResult | undefined)[] = new Array(txs.length);
    const todo: { i: number; d: DecodedTx }[] = [];
    const refuse = (i: number, e: unknown): void => {
      if (!(e instanceof FastposError)) throw e;
      metrics.txRejected.inc({ code: e.code });
      out[i] = { ok: false, error: e };
    };
    const known = (i: number, d: DecodedTx): boolean => {
      const status = this.knownStatus(d);
      if (status === undefined) return false;
      if (opts.idempotent || opts.fromPeer) out[i] = { ok: true, status, known: true };
      else refuse(i, new FastposError(ErrorCode.DUPLICATE_TX, `tx ${d.id} is already ${status.status}`));
      return true;
    };
    txs.forEach((json, i) => {
      try {
        const d = decodeTx(json);
        if (known(i, d)) return;
        mempool.check(d, head.world);
        todo.push({ i, d });
      } catch (e) {
        refuse(i, e);
      }
    });
    if (todo.length > 0) {
      const v0 = clock.monotonic();
      const verified = this.deps.verified;
      const check = verified === undefined ? todo : todo.filter(({ d }) => !verified.has(d));
      if (check.length < todo.length) metrics.txSignatureReused.inc(todo.length - check.length);
      metrics.txSignatureChecks.inc({ path: 'admission' }, check.length);
      const checked = check.length === 0 ? [] : await verifier.verifyMany(check.map(({ d }) => ({ pubKey: d.tx.pubKey, message: d.signBytes, signature: d.tx.signature })));
      let next = 0;
      const ok = todo.map((t) => (check[next] === t ? checked[next++] === true : true));
      const waited = (clock.monotonic() - v0) / 1000;
      todo.forEach(({ i, d }, k) => {
        metrics.signatureWait.observe(waited);
        try {
          if (!ok[k]) throw new FastposError(ErrorCode.INVALID_SIGNATURE, `signature does not verify for pubKey ${d.tx.pubKey}`);
          if (!this.deps.open()) throw new FastposError(ErrorCode.NOT_READY, 'node is stopping');
          // The state may have moved while the signatures were checked (or the batch held the tx twice).
          if (known(i, d)) return;
          this.insert(d);
          out[i] = { ok: true, status: { id: d.id, status: 'pending', tx: txs[i] as Record<string, unknown> }, known: false };
        } catch (e) {
          refuse(i, e);
          return;
        }
        this.deps.admitted(d, txs[i], opts.fromPeer === true);
      });
    }
    return out as AdmissionResult[];
  }

  /** Txs gossiped by a peer: admitted like submissions; known ones are counted, not refused. */
  async admitFromPeer(txs: readonly unknown[]): Promise<{ accepted: number; known: number; rejected: number }> {
    let accepted = 0;
    let known = 0;
    for (const r of await this.admit(txs, { fromPeer: true })) {
      if (r.ok && r.known) known++;
      else if (r.ok) accepted++;
    }
    return { accepted, known, rejected: txs.length - accepted - known };
  }

  /** Puts a checked, verified tx into the pool (which checks it again against the current state). */
  private insert(d: DecodedTx): void {
    const { head, mempool, clock, metrics } = this.deps;
    if (d.tx.kind === 'product_settle') this.checkSettlementKey(d.tx.from, d.tx.payload.reference, d.tx.nonce);
    // Counted from the next height: the block in progress may have been built before this tx arrived.
    const { evicted, replaced } = mempool.add(d, head.world, head.height + 1, clock.now());
    for (const r of evicted) this.dropped(r);
    if (replaced !== undefined) this.dropped(replaced);
    this.admittedAt.set(d.id, clock.monotonic());
    metrics.txAccepted.inc();
    this.updatePoolGauges();
  }

  /**
   * A settlement's (payer, reference) is used once: refused here, before any
   * fee is charged, when it is already settled or another pending tx of the
   * payer (not one it replaces at the same nonce) settles it.
   */
  private checkSettlementKey(payer: string, reference: string, nonce: number): void {
    const { head, mempool } = this.deps;
    const done = getSettlement(head.world, payer, reference);
    if (done !== undefined) throw new FastposError(ErrorCode.SETTLEMENT_EXISTS, `payer ${payer} already settled reference ${JSON.stringify(reference)} (tx ${done.id} at height ${done.height})`);
    const { items } = mempool.pending({ from: payer, offset: 0, limit: Number.MAX_SAFE_INTEGER });
    const other = items.find((x) => x.tx.nonce !== nonce && x.tx.kind === 'product_settle' && x.tx.payload.reference === reference);
    if (other !== undefined) throw new FastposError(ErrorCode.SETTLEMENT_EXISTS, `a settlement of reference ${JSON.stringify(reference)} by payer ${payer} is pending (tx ${other.id})`);
  }

  /** Status of a tx already known here (pending or finalized); dropped txs may be submitted again. */
  private knownStatus(d: DecodedTx): TxStatus | undefined {
    if (this.deps.mempool.has(d.id)) return { id: d.id, status: 'pending', tx: encodeTx(d.tx) };
    const fin = this.finalizedRecord(d);
    return fin === undefined ? undefined : finalizedStatus(fin);
  }

  /** The stored record of a finalized tx. Only a tx whose nonce is already used can be finalized: the store is skipped otherwise. */
  private finalizedRecord(d: DecodedTx): FinalizedTxRecord | undefined {
    return d.tx.nonce < getAccount(this.deps.head.world, d.tx.from).nonce ? this.deps.store.getTx(d.id) : undefined;
  }

  /** The status of any tx: pending, finalized or recently dropped. */
  status(id: string): TxStatus | undefined {
    const { mempool, store } = this.deps;
    const pending = mempool.get(id);
    if (pending !== undefined) return { id, status: 'pending', tx: encodeTx(pending.tx) };
    const fin = store.getTx(id);
    if (fin !== undefined) return finalizedStatus(fin);
    const dropped = mempool.dropped(id);
    if (dropped !== undefined) return droppedStatus(dropped);
    return undefined;
  }

  /** A tx left the pool without being finalized. */
  dropped(r: DroppedRecord): void {
    this.admittedAt.delete(r.id);
    this.deps.metrics.mempoolDropped.inc({ reason: r.reason });
  }

  /** Finality latency of the txs of a finalized block that were admitted here, and the pool after the block. */
  finalized(ids: readonly string[]): void {
    const now = this.deps.clock.monotonic();
    for (const id of ids) {
      const at = this.admittedAt.get(id);
      if (at === undefined) continue;
      this.deps.metrics.finalityLatency.observe((now - at) / 1000);
      this.admittedAt.delete(id);
    }
    this.updatePoolGauges();
  }

  private updatePoolGauges(): void {
    this.deps.metrics.mempoolSize.set(this.deps.mempool.size);
    this.deps.metrics.mempoolBytes.set(this.deps.mempool.txBytes);
    this.deps.metrics.mempoolMemoryBytes.set(this.deps.mempool.bytes);
  }
}

function finalizedStatus(f: FinalizedTxRecord): TxStatus {
  return {
    id: f.id,
    status: 'finalized',
    height: f.height,
    index: f.index,
    blockHash: f.blockHash,
    success: f.result.success,
    ...(f.result.error === undefined ? {} : { error: f.result.error }),
    tx: f.tx,
  };
}

function droppedStatus(r: DroppedRecord): TxStatus {
  return { id: r.id, status: 'dropped', error: r.reason.toUpperCase(), message: r.message, height: r.height, tx: encodeTx(r.tx.tx) };
}
