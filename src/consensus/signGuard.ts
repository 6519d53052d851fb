/**
 * The double-sign guard's rules (CometBFT's priv_validator_state): per key,
 * the last signed (height, round, step, block hash, signature) and the lock.
 * A key never signs an earlier position, and at the same position signs only
 * the same block again (answering with the signature it gave before). The
 * record is handed to `persist` — which must make it durable — before the
 * signature is returned. Pure: persistence is injected (a file in a node, a
 * map that survives simulated crashes in the simulation).
 *
 * A failed write fails the guard for good: the records since the last durable
 * one may be lost, so from then on it signs nothing and every `flush()`
 * rejects, and nothing it signed can leave the node. Only a restart, which
 * reads back the last durable record, makes a validator sign again.
 * @module
 */
import type { SignGuard, SignResult, SignStep, SignedRecordAt } from './driver.js';
import type { LockState, PolkaVote } from './engine.js';
import type { Block } from '../types/index.js';

const STEP_RANK: Record<SignStep, number> = { proposal: 1, prevote: 2, precommit: 3 };

export interface SignedRecord {
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly blockHash: string | null;
  readonly signature: string;
}

export interface GuardState {
  /** Last signature per validator id. */
  readonly last: Record<string, SignedRecord>;
  /** Every record each key signed at its latest height (a restart inside the height re-sends them all). */
  readonly votes?: Readonly<Record<string, readonly SignedRecord[]>>;
  /** Lock of the current height, if any. */
  readonly lock: { readonly height: number; readonly round: number; readonly blockHash: string; readonly block?: Block; readonly polka?: readonly PolkaVote[] } | null;
}

export const EMPTY_GUARD_STATE: GuardState = { last: {}, lock: null };

export class SignGuardRules implements SignGuard {
  private state: GuardState;
  private dirty = false;
  /** The error of the first failed write; once set, the guard signs nothing and every flush rejects with it. */
  private failure: { readonly error: unknown } | null = null;

  /**
   * `persist` makes a state durable; it may return a promise. States are
   * persisted in order; a later state contains every earlier record.
   */
  constructor(
    initial: GuardState,
    private readonly persist: (s: GuardState) => void | Promise<void>,
  ) {
    this.state = initial;
  }

  get current(): GuardState {
    return this.state;
  }

  /**
   * Judged against everything signed before, including records not yet
   * flushed; the record moves at once. Nothing carrying the signature may
   * leave the node before `flush()` has made the record durable. null after a
   * failed write, for every position.
   */
  sign(p: Parameters<SignGuard['sign']>[0]): SignResult | null {
    if (this.failure !== null) return null;
    const last = this.state.last[p.validatorId];
    if (last !== undefined) {
      const cmp = p.height - last.height || p.round - last.round || STEP_RANK[p.step] - STEP_RANK[last.step];
      if (cmp < 0) return null;
      if (cmp === 0) return last.blockHash === p.blockHash ? { signature: last.signature } : null;
    }
    const signature = p.signer.sign(p.bytes);
    const record: SignedRecord = { height: p.height, round: p.round, step: p.step, blockHash: p.blockHash, signature };
    const sameHeight = (this.state.votes?.[p.validatorId] ?? []).filter((r) => r.height === p.height);
    this.state = { ...this.state, last: { ...this.state.last, [p.validatorId]: record }, votes: { ...this.state.votes, [p.validatorId]: [...sameHeight, record] } };
    this.dirty = true;
    return { signature };
  }

  recordLock(height: number, lock: LockState): void {
    this.state = {
      ...this.state,
      lock: {
        height,
        round: lock.round,
        blockHash: lock.blockHash,
        ...(lock.block === undefined ? {} : { block: lock.block }),
        ...(lock.polka === undefined ? {} : { polka: lock.polka.map((v) => ({ validatorId: v.validatorId, signature: v.signature })) }),
      },
    };
    this.dirty = true;
  }

  /** What each local key last signed at `height` (after a restart inside that height). */
  signedAt(height: number): SignedRecordAt[] {
    // All of them, not only the last: a vote of an earlier step or round may be the one a lock depends on.
    if (this.state.votes !== undefined) {
      return Object.entries(this.state.votes).flatMap(([validatorId, rs]) => rs.filter((r) => r.height === height).map((r) => ({ validatorId, ...r })));
    }
    return Object.entries(this.state.last)
      .filter(([, r]) => r.height === height)
      .map(([validatorId, r]) => ({ validatorId, ...r }));
  }

  lockAt(height: number): LockState | null {
    const l = this.state.lock;
    if (l === null || l.height !== height) return null;
    return { round: l.round, blockHash: l.blockHash, ...(l.block === undefined ? {} : { block: l.block }), ...(l.polka === undefined ? {} : { polka: l.polka }) };
  }

  /**
   * Makes every record so far durable; null when there was nothing to write or
   * it was written synchronously. After a failed write, a rejected promise,
   * always: also a write that completes after the failure reports it.
   */
  flush(): Promise<void> | null {
    if (this.failure !== null) return Promise.reject(this.failure.error);
    if (!this.dirty) return this.pending;
    this.dirty = false;
    let w: void | Promise<void>;
    try {
      w = this.persist(this.state);
    } catch (e) {
      this.failure = { error: e };
      return Promise.reject(e);
    }
    if (w === undefined) return null;
    const tracked = w
      .then(
        () => {
          if (this.failure !== null) throw this.failure.error;
        },
        (e: unknown) => {
          this.failure ??= { error: e };
          throw this.failure.error;
        },
      )
      .finally(() => {
        if (this.pending === tracked) this.pending = null;
      });
    this.pending = tracked;
    return tracked;
  }

  /** The latest write in flight (writes complete in order, so it covers every earlier one). */
  private pending: Promise<void> | null = null;
}
