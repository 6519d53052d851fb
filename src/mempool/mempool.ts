import { ErrorCode, FastposError, assert } from '../errors.js';
import { getAccount, txSpend, validateTxBasics, type TxContext } from '../state/execute.js';
import type { StateReader } from '../state/worldState.js';
import type { Address, DecodedTx, Hex } from '../types/index.js';
import { Heap } from './heap.js';
import { hasTxFilter, matchesTxFilter, txFilterFields, type TxFilter, type TxFilterFields } from './txFilter.js';

export interface MempoolOptions {
  /** Pool size limit: number of pending txs. */
  readonly maxTxs: number;
  /** Pool size limit: sum of the pending txs' costs (`costOf`, by default `DecodedTx.size`). */
  readonly maxBytes: number;
  /**
   * What a pending tx counts against `maxBytes` (default: its size). A node
   * passes an estimate of the memory the decoded tx holds, so the limit bounds
   * the pool's memory.
   */
  readonly costOf?: (d: DecodedTx) => number;
  /** Pending txs one sender may have at most. */
  readonly maxPerSender: number;
  /** Admitted nonces are in [accountNonce, accountNonce + nonceWindow). */
  readonly nonceWindow: number;
  /**
   * A tx admitted while the chain was at height h and still pending once block
   * h + ttlBlocks is finalized is dropped ('expired').
   */
  readonly ttlBlocks: number;
  /**
   * A tx with the same (sender, nonce) as a pending one but another id replaces
   * it only if fee >= oldFee * (100 + replaceBumpPercent) / 100.
   */
  readonly replaceBumpPercent: number;
  /** Dropped records kept at most (count) ... */
  readonly droppedMax: number;
  /** ... and for at most this long (ms). */
  readonly droppedTtlMs: number;
}

/**
 * Why a tx left the pool without being finalized. Stable snake_case codes:
 * - `evicted`: the pool was full and a tx paying more than every tx it
 *   displaced took its room (only a sender's highest pending nonce is evicted);
 * - `replaced`: a tx with the same sender and nonce and a high enough fee replaced it;
 * - `expired`: still pending `ttlBlocks` blocks after admission;
 * - `stale_nonce`: a finalized block used its nonce with another tx;
 * - `insufficient_funds`: after a block, the sender's balance no longer pays it
 *   together with the sender's pending txs with lower nonces;
 * - `stranded`: a pending tx of the same sender with a lower nonce was dropped
 *   (expired or unpayable), so this one could no longer execute.
 */
export type DropReason = 'evicted' | 'replaced' | 'expired' | 'stale_nonce' | 'insufficient_funds' | 'stranded';

/** What the pool remembers (for a while) about a tx it dropped. */
export interface DroppedRecord {
  readonly id: Hex;
  readonly tx: DecodedTx;
  /** A `DropReason`, or the reason given to `drop` (snake_case, e.g. 'insufficient_funds'). */
  readonly reason: string;
  readonly message: string;
  /** Chain height given to the call that dropped it. */
  readonly height: number;
  /** Time (ms) given to the call that dropped it. */
  readonly at: number;
}

export interface AddResult {
  /**
   * Txs removed to make room ('evicted'), in removal order: each was the last
   * pending tx of its sender when it went, so none strands another tx.
   */
  readonly evicted: readonly DroppedRecord[];
  /** The pending tx with the same sender and nonce that this one replaced. */
  readonly replaced?: DroppedRecord;
}

/** What `update` needs to know about a newly finalized block. */
export interface MempoolUpdate {
  /** Height of the finalized block. */
  readonly height: number;
  readonly now: number;
  /** Ids of the txs in the finalized block. */
  readonly included: Iterable<Hex>;
  /** Accounts the block changed. */
  readonly touched: Iterable<Address>;
  /** State after the block. */
  readonly state: StateReader;
}

/**
 * A page of pending txs (`Mempool.pending`). The filters of `TxFilter` (see
 * txFilter.ts) and the admission time window are combined with AND.
 */
export interface PendingQuery extends TxFilter {
  /** Only this sender's txs, in nonce order. Without it: txs in arrival order. */
  readonly from?: Address;
  /** Admitted at or after this time (ms, the `now` given to `add`). */
  readonly fromTime?: number;
  /** Admitted at or before this time (ms). */
  readonly toTime?: number;
  /** 'asc' (default): oldest (or lowest nonce) first; 'desc': newest (or highest nonce) first. */
  readonly order?: 'asc' | 'desc';
  readonly offset: number;
  readonly limit: number;
}

export interface PendingPage {
  /** Number of txs matching the query (ignoring offset and limit). */
  readonly total: number;
  readonly items: DecodedTx[];
}

interface Entry {
  readonly d: DecodedTx;
  readonly fee: bigint;
  readonly nonce: number;
  /** Fee plus what the tx spends (`txSpend`), computed once. */
  readonly spend: bigint;
  /** What it counts against maxBytes. */
  readonly cost: number;
  /** Arrival order: increases with every admitted tx. */
  readonly seq: number;
  /** Chain height when admitted. */
  readonly height: number;
  /** Time (ms) when admitted: the `now` given to `add`. */
  readonly at: number;
  /** What the pending query's filters read. */
  readonly fields: TxFilterFields;
  readonly sender: SenderQueue;
  /** Neighbours in the admission list (oldest first). */
  older: Entry | undefined;
  newer: Entry | undefined;
}

interface SenderQueue {
  readonly address: Address;
  /** Pending txs of this sender sorted by nonce (nonces are unique). */
  readonly txs: Entry[];
  /** Sum of `spend` over `txs`: admission of the next nonce needs no walk over the queue. */
  spendTotal: bigint;
  /** Position in the sender heap. */
  heapPos: number;
  /** Position in the tail heap. */
  tailPos: number;
}

interface Plan {
  readonly replaced: Entry | undefined;
  /** Txs to evict, in removal order (each the last of its sender when it goes). */
  readonly evict: readonly Entry[];
}

/** Entries with higher priority for block building: fee descending, then earlier arrival. */
const better = (a: Entry, b: Entry): boolean => a.fee > b.fee || (a.fee === b.fee && a.seq < b.seq);
/** Entries evicted first (among senders' last txs): fee ascending, then later arrival. */
const evictFirst = (a: Entry, b: Entry): boolean => a.fee < b.fee || (a.fee === b.fee && a.seq > b.seq);

/** First index in `txs` (sorted by nonce) whose nonce is >= `nonce`. */
function lowerBound(txs: readonly Entry[], nonce: number): number {
  let lo = 0;
  let hi = txs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (txs[mid]!.nonce < nonce) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The page [offset, offset + limit) of the entries `keep` selects, and how many it selects in all. */
function pageOf(entries: Iterable<Entry>, keep: (e: Entry) => boolean, offset: number, limit: number): PendingPage {
  const items: DecodedTx[] = [];
  let total = 0;
  for (const e of entries) {
    if (!keep(e)) continue;
    if (total >= offset && items.length < limit) items.push(e.d);
    total++;
  }
  return { total, items };
}

/**
 * An estimate of the memory a pending tx holds, in bytes: its decoded fields,
 * its wire JSON, its signing bytes and the pool's indexes. Measured on a
 * transfer (409 bytes on the wire): about 2.2 KB.
 */
export function estimatedMemory(d: DecodedTx): number {
  return 4 * d.size + 600;
}

function checkOption(opts: MempoolOptions, key: Exclude<keyof MempoolOptions, 'costOf'>, min: number): void {
  const v = opts[key];
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`mempool option ${key} must be an integer >= ${min}, got ${v}`);
}

/**
 * The pool of pending txs.
 *
 * Indexes: txs by id (Map); per sender, its txs sorted by nonce; a heap of
 * senders keyed by their lowest-nonce tx (block building); a heap of senders
 * keyed by their highest-nonce tx, the only one eviction may take (the tail
 * heap); and a doubly linked list in admission order (expiry and `pending`). Every operation costs O(log n) per tx it adds, removes or
 * yields, plus O(maxPerSender) per sender it looks at: nothing scans the whole
 * pool unless the caller asks for all of it (a full `candidates` or `pending`,
 * or a `pending` query with filters but no sender).
 *
 * Invariant kept when the caller passes the state after every finalized block to
 * `update` (with every account the block changed in `touched`): a sender's
 * lowest pending nonce is at or above its account nonce.
 */
export class Mempool {
  private readonly byId = new Map<Hex, Entry>();
  /** Pending txs by signature: lets a proposal's txs be matched without decoding them again. */
  private readonly bySignature = new Map<Hex, Entry>();
  private readonly senders = new Map<Address, SenderQueue>();
  private readonly senderHeap = new Heap<SenderQueue>(
    (a, b) => better(a.txs[0]!, b.txs[0]!),
    (q, i) => {
      q.heapPos = i;
    },
  );
  private readonly tailHeap = new Heap<SenderQueue>(
    (a, b) => evictFirst(a.txs[a.txs.length - 1]!, b.txs[b.txs.length - 1]!),
    (q, i) => {
      q.tailPos = i;
    },
  );
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private totalBytes = 0;
  private totalTxBytes = 0;
  private seq = 0;
  /** Changes on every insertion and removal: lets `candidates` detect misuse. */
  private version = 0;

  private readonly droppedById = new Map<Hex, DroppedRecord>();
  /** Dropped records in the order they were made; may hold records since superseded or forgotten. */
  private droppedLog: DroppedRecord[] = [];
  private droppedHead = 0;

  constructor(
    private readonly opts: MempoolOptions,
    private readonly ctx: TxContext,
  ) {
    checkOption(opts, 'maxTxs', 1);
    checkOption(opts, 'maxBytes', 1);
    checkOption(opts, 'maxPerSender', 1);
    checkOption(opts, 'nonceWindow', 1);
    checkOption(opts, 'ttlBlocks', 1);
    checkOption(opts, 'replaceBumpPercent', 0);
    checkOption(opts, 'droppedMax', 0);
    checkOption(opts, 'droppedTtlMs', 0);
  }

  /** Number of pending txs. */
  get size(): number {
    return this.byId.size;
  }

  /** Sum of the costs of pending txs (what `maxBytes` limits). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Sum of the sizes (`DecodedTx.size`) of pending txs. */
  get txBytes(): number {
    return this.totalTxBytes;
  }

  private cost(d: DecodedTx): number {
    return this.opts.costOf === undefined ? d.size : this.opts.costOf(d);
  }

  /** Addresses of the senders with pending txs. */
  senderAddresses(): Address[] {
    return [...this.senders.keys()];
  }

  /** Number of senders with pending txs. */
  get senderCount(): number {
    return this.senders.size;
  }

  /** The pending tx carrying this signature, if any (the caller still compares the rest of the tx). */
  getBySignature(signature: Hex): DecodedTx | undefined {
    return this.bySignature.get(signature)?.d;
  }

  get(id: Hex): DecodedTx | undefined {
    return this.byId.get(id)?.d;
  }

  has(id: Hex): boolean {
    return this.byId.has(id);
  }

  /** The record of a recently dropped tx (bounded by droppedMax and droppedTtlMs). */
  dropped(id: Hex): DroppedRecord | undefined {
    return this.droppedById.get(id);
  }

  /**
   * All cheap admission checks, without changing anything: meant to run before
   * the (expensive) signature verification. Throws a FastposError with the code
   * of the first failing rule: the state machine's own `validateTxBasics`
   * (WRONG_CHAIN_ID, FEE_TOO_LOW, TX_TOO_LARGE), then DUPLICATE_TX,
   * NONCE_TOO_LOW, NONCE_TOO_HIGH, NONCE_CONFLICT, SENDER_LIMIT,
   * INSUFFICIENT_FUNDS, MEMPOOL_FULL.
   */
  check(d: DecodedTx, state: StateReader): void {
    this.plan(d, state);
  }

  /**
   * Checks again (the state may have changed while the signature was being
   * verified) and admits the tx, replacing the pending tx with the same sender
   * and nonce and evicting senders' last txs as `check` allowed. `height` is the
   * current (last finalized) chain height, `now` the time in ms.
   */
  add(d: DecodedTx, state: StateReader, height: number, now: number): AddResult {
    const plan = this.plan(d, state);
    let replaced: DroppedRecord | undefined;
    if (plan.replaced !== undefined) {
      const old = plan.replaced;
      this.removeEntry(old);
      replaced = this.record(old, 'replaced', `replaced by tx ${d.id} with fee ${d.tx.fee} (was ${old.fee})`, height, now);
    }
    const evicted = plan.evict.map((e) => {
      this.removeEntry(e);
      return this.record(
        e,
        'evicted',
        `evicted by tx ${d.id} with fee ${d.tx.fee}: the pool was full and fee ${e.fee} was among the lowest of the senders' last pending txs`,
        height,
        now,
      );
    });
    this.insert(d, height, now);
    this.droppedById.delete(d.id);
    this.pruneDropped(now);
    return replaced === undefined ? { evicted } : { evicted, replaced };
  }

  /**
   * Txs for a block, best first: the highest fee across senders (ties: earlier
   * arrival), each sender's txs strictly in nonce order from its account nonce
   * in `state` (a missing nonce stops that sender). Costs O(log s) per yielded
   * tx (s = senders) plus O(log s) per sender passed over because its next
   * nonce is missing: a best-first walk of the sender heap, which is not
   * changed. The pool must not change while the iteration is in progress.
   */
  *candidates(state: StateReader): Generator<DecodedTx, void, undefined> {
    const version = this.version;
    const senderHeap = this.senderHeap;
    // A frontier item is either a node of the sender heap not yet looked at
    // (keyed by that sender's lowest-nonce tx, an upper bound for all txs in its
    // subtree) or a sender in progress (keyed by its next tx).
    type Item = { readonly node: number; readonly key: Entry } | { readonly q: SenderQueue; readonly i: number; readonly key: Entry };
    const frontier = new Heap<Item>((a, b) => better(a.key, b.key));
    const pushNode = (node: number): void => {
      const q = senderHeap.at(node);
      if (q !== undefined) frontier.push({ node, key: q.txs[0]! });
    };
    pushNode(0);
    for (let item = frontier.pop(); item !== undefined; item = frontier.pop()) {
      if ('node' in item) {
        pushNode(2 * item.node + 1);
        pushNode(2 * item.node + 2);
        const q = senderHeap.at(item.node)!;
        const accountNonce = getAccount(state, q.address).nonce;
        const i = lowerBound(q.txs, accountNonce);
        const e = q.txs[i];
        if (e !== undefined && e.nonce === accountNonce) frontier.push({ q, i, key: e });
        continue;
      }
      const { q, i, key: e } = item;
      yield e.d;
      if (this.version !== version) throw new Error('mempool changed while its candidates were being iterated');
      const next = q.txs[i + 1];
      if (next !== undefined && next.nonce === e.nonce + 1) frontier.push({ q, i: i + 1, key: next });
    }
  }

  /**
   * After every finalized block: removes the block's txs (they are final, not
   * dropped); for every touched sender with pending txs, drops txs whose nonce
   * is now used ('stale_nonce') and, walking the rest in nonce order, the first
   * the balance can no longer pay together with those before it
   * ('insufficient_funds') and all after it ('stranded'); drops txs admitted
   * `ttlBlocks` or more blocks ago ('expired', later txs of the sender
   * 'stranded'); prunes dropped records. Returns the records of the txs it
   * dropped. Cost grows with the block, the touched senders and the number of
   * txs dropped, not with the size of the pool.
   */
  update(p: MempoolUpdate): DroppedRecord[] {
    const out: DroppedRecord[] = [];
    const recheck = new Set<Address>();
    for (const id of p.included) {
      const e = this.byId.get(id);
      if (e === undefined) continue;
      recheck.add(e.sender.address);
      this.removeEntry(e);
    }
    for (const a of p.touched) recheck.add(a);
    for (const a of recheck) this.recheckSender(a, p, out);
    for (let e = this.oldest; e !== undefined && e.height + this.opts.ttlBlocks <= p.height; e = this.oldest) {
      this.dropWithSuccessors(e, 'expired', `still pending ${p.height - e.height} blocks after admission at height ${e.height} (ttl ${this.opts.ttlBlocks})`, p, out);
    }
    this.pruneDropped(p.now);
    return out;
  }

  /**
   * Drops one pending tx for a reason found outside the pool (e.g. the block
   * builder could not apply it: `reason` is then its error code in snake_case).
   * Only that tx goes: the sender's later txs stay, waiting behind the gap
   * until it is filled again or they expire. Returns its record, or undefined
   * if the tx is not pending.
   */
  drop(id: Hex, reason: string, message: string, height: number, now: number): DroppedRecord | undefined {
    const e = this.byId.get(id);
    if (e === undefined) return undefined;
    this.removeEntry(e);
    const r = this.record(e, reason, message, height, now);
    this.pruneDropped(now);
    return r;
  }

  /**
   * A page of pending txs matching the query's filters (`PendingQuery`). With
   * `from`: that sender's txs in nonce order, read from the sender index
   * (cost grows with the sender's pending txs, at most maxPerSender). Without
   * `from` and without filters: txs in arrival order (cost grows with offset +
   * limit). Without `from` but with other filters: the pool is walked in
   * arrival order (cost grows with the pool, bounded by maxTxs). `total`
   * counts every matching tx; `order: 'desc'` reverses the order.
   */
  pending(q: PendingQuery): PendingPage {
    const offset = Math.max(0, Math.floor(q.offset));
    const limit = Math.max(0, Math.floor(q.limit));
    const desc = q.order === 'desc';
    const timed = q.fromTime !== undefined || q.toTime !== undefined;
    const keep = (e: Entry): boolean =>
      matchesTxFilter(e.fields, q) && (q.fromTime === undefined || e.at >= q.fromTime) && (q.toTime === undefined || e.at <= q.toTime);
    if (q.from !== undefined) {
      const txs = this.senders.get(q.from)?.txs ?? [];
      return pageOf(desc ? [...txs].reverse() : txs, keep, offset, limit);
    }
    if (!hasTxFilter(q) && !timed) {
      const items: DecodedTx[] = [];
      const step = (e: Entry): Entry | undefined => (desc ? e.older : e.newer);
      let e = desc ? this.newest : this.oldest;
      for (let skip = offset; e !== undefined && skip > 0; skip--) e = step(e);
      for (; e !== undefined && items.length < limit; e = step(e)) items.push(e.d);
      return { total: this.byId.size, items };
    }
    return pageOf(this.inArrivalOrder(desc), keep, offset, limit);
  }

  /** Pending entries oldest first (or newest first). */
  private *inArrivalOrder(desc: boolean): Generator<Entry, void, undefined> {
    for (let e = desc ? this.newest : this.oldest; e !== undefined; e = desc ? e.older : e.newer) yield e;
  }

  /** The next nonce the sender should use: its account nonce plus its run of contiguous pending nonces. */
  pendingNonce(address: Address, state: StateReader): number {
    let nonce = getAccount(state, address).nonce;
    const txs = this.senders.get(address)?.txs;
    if (txs === undefined) return nonce;
    for (let i = lowerBound(txs, nonce); txs[i]?.nonce === nonce; i++) nonce++;
    return nonce;
  }

  // ---- admission ----

  private plan(d: DecodedTx, state: StateReader): Plan {
    validateTxBasics(d, this.ctx);
    const { tx } = d;
    if (this.byId.has(d.id)) throw new FastposError(ErrorCode.DUPLICATE_TX, `tx ${d.id} is already pending`);
    const account = getAccount(state, tx.from);
    if (tx.nonce < account.nonce) {
      throw new FastposError(ErrorCode.NONCE_TOO_LOW, `expected nonce >= ${account.nonce}, got ${tx.nonce}`, { expected: account.nonce, got: tx.nonce });
    }
    const limit = account.nonce + this.opts.nonceWindow;
    if (tx.nonce >= limit) {
      throw new FastposError(ErrorCode.NONCE_TOO_HIGH, `expected nonce < ${limit} (account nonce ${account.nonce} + window ${this.opts.nonceWindow}), got ${tx.nonce}`, {
        expected: limit - 1,
        got: tx.nonce,
      });
    }
    const queue = this.senders.get(tx.from);
    const txs = queue?.txs ?? [];
    const at = lowerBound(txs, tx.nonce);
    const same = txs[at]?.nonce === tx.nonce ? txs[at] : undefined;
    if (same !== undefined) {
      const factor = BigInt(100 + this.opts.replaceBumpPercent);
      if (tx.fee * 100n < same.fee * factor) {
        const needed = (same.fee * factor + 99n) / 100n;
        throw new FastposError(
          ErrorCode.NONCE_CONFLICT,
          `nonce ${tx.nonce} is taken by pending tx ${same.d.id} with fee ${same.fee}; a replacement needs fee >= ${needed}, got ${tx.fee}`,
          { pending: same.d.id, needed: needed.toString(), got: tx.fee.toString() },
        );
      }
    } else if (txs.length >= this.opts.maxPerSender) {
      throw new FastposError(ErrorCode.SENDER_LIMIT, `sender ${tx.from} has ${txs.length} pending txs, the limit is ${this.opts.maxPerSender}`, {
        pending: txs.length,
        limit: this.opts.maxPerSender,
      });
    }
    let prior = 0n;
    let priorCount = 0;
    const first = lowerBound(txs, account.nonce);
    if (first === 0 && at === txs.length && queue !== undefined) {
      // The usual case: the next nonce after every pending tx of the sender.
      prior = queue.spendTotal;
      priorCount = txs.length;
    } else {
      for (let i = first; i < at; i++) {
        prior += txs[i]!.spend;
        priorCount++;
      }
    }
    const spend = txSpend(d);
    if (prior + spend > account.balance) {
      throw new FastposError(
        ErrorCode.INSUFFICIENT_FUNDS,
        `balance ${account.balance} cannot pay ${spend} (fee + amount) plus ${prior} for ${priorCount} pending txs with lower nonces`,
        { balance: account.balance.toString(), spend: spend.toString(), pending: prior.toString() },
      );
    }
    return { replaced: same, evict: this.planEviction(d, same) };
  }

  /**
   * Which txs to evict to make room for `d` (docs/api.md, "Full pool"). Only a
   * sender's last pending tx (highest nonce) can be evicted, so an eviction
   * never strands a tx; once it is planned, that sender's previous tx becomes
   * a candidate. Candidates are taken cheapest first (the newest first on
   * ties) until `d` fits, and `d` is admitted only if its fee is strictly
   * higher than the sum of the fees of all the txs it evicts (hence than each
   * of them). `d`'s own sender only loses txs with nonces above `d`'s: a lower
   * one would strand `d`. Costs O(k log k) for the k candidates looked at
   * (about the number evicted, plus one): a best-first walk of the tail heap,
   * which is not changed.
   */
  private planEviction(d: DecodedTx, replaced: Entry | undefined): Entry[] {
    const { maxTxs, maxBytes } = this.opts;
    let count = this.byId.size + 1 - (replaced === undefined ? 0 : 1);
    let bytes = this.totalBytes + this.cost(d) - (replaced?.cost ?? 0);
    const fits = (): boolean => count <= maxTxs && bytes <= maxBytes;
    if (fits()) return [];
    const full = (why: string): FastposError =>
      new FastposError(ErrorCode.MEMPOOL_FULL, `mempool is full (${this.byId.size} txs, ${this.totalBytes} bytes; limits ${maxTxs} txs, ${maxBytes} bytes): ${why}`);
    // A frontier item is either a node of the tail heap not yet looked at (keyed
    // by that sender's last tx, a lower bound for every tail in its subtree) or
    // the tx before one already planned (keyed by itself).
    type Item = { readonly node: number; readonly key: Entry } | { readonly q: SenderQueue; readonly i: number; readonly key: Entry };
    const frontier = new Heap<Item>((a, b) => evictFirst(a.key, b.key));
    const pushNode = (node: number): void => {
      const q = this.tailHeap.at(node);
      if (q !== undefined) frontier.push({ node, key: q.txs[q.txs.length - 1]! });
    };
    pushNode(0);
    const out: Entry[] = [];
    let fees = 0n;
    while (!fits()) {
      const item = frontier.pop();
      if (item === undefined) throw full('no pending tx can be evicted for this one');
      let q: SenderQueue;
      let i: number;
      if ('node' in item) {
        pushNode(2 * item.node + 1);
        pushNode(2 * item.node + 2);
        q = this.tailHeap.at(item.node)!;
        i = q.txs.length - 1;
      } else {
        ({ q, i } = item);
      }
      const e = item.key;
      // The sender's own tx at or below d's nonce: the replaced one, or one d needs.
      if (q.address === d.tx.from && e.nonce <= d.tx.nonce) continue;
      // Every other candidate costs at least e.fee: if this one is too dear, all are.
      if (fees + e.fee >= d.tx.fee) {
        throw full(
          out.length === 0
            ? `fee ${d.tx.fee} must be higher than ${e.fee}, the lowest fee among the senders' last pending txs`
            : `fee ${d.tx.fee} must be higher than ${fees + e.fee}, the total fee of the ${out.length + 1} txs it would evict`,
        );
      }
      fees += e.fee;
      out.push(e);
      count--;
      bytes -= e.cost;
      if (i > 0) frontier.push({ q, i: i - 1, key: q.txs[i - 1]! });
    }
    return out;
  }

  // ---- recheck after a block ----

  private recheckSender(address: Address, p: MempoolUpdate, out: DroppedRecord[]): void {
    const q = this.senders.get(address);
    if (q === undefined) return;
    const account = getAccount(p.state, address);
    for (let e = q.txs[0]; e !== undefined && e.nonce < account.nonce; e = q.txs[0]) {
      this.removeEntry(e);
      out.push(this.record(e, 'stale_nonce', `nonce ${e.nonce} was used by another tx: the account nonce is now ${account.nonce}`, p.height, p.now));
    }
    let total = 0n;
    for (const e of q.txs) {
      total += e.spend;
      if (total > account.balance) {
        this.dropWithSuccessors(e, 'insufficient_funds', `balance ${account.balance} cannot pay ${total} for this tx and the sender's pending txs with lower nonces`, p, out);
        return;
      }
    }
  }

  /** Drops `e` and the same sender's txs with higher nonces ('stranded'). */
  private dropWithSuccessors(e: Entry, reason: DropReason, message: string, p: { height: number; now: number }, out: DroppedRecord[]): void {
    const txs = e.sender.txs;
    const successors = txs.slice(lowerBound(txs, e.nonce) + 1);
    this.removeEntry(e);
    out.push(this.record(e, reason, message, p.height, p.now));
    for (const s of successors) {
      this.removeEntry(s);
      out.push(this.record(s, 'stranded', `tx ${e.d.id} with nonce ${e.nonce} of the same sender was dropped (${reason})`, p.height, p.now));
    }
  }

  // ---- indexes ----

  private insert(d: DecodedTx, height: number, at: number): void {
    let q = this.senders.get(d.tx.from);
    if (q === undefined) {
      q = { address: d.tx.from, txs: [], spendTotal: 0n, heapPos: -1, tailPos: -1 };
      this.senders.set(q.address, q);
    }
    const e: Entry = {
      d,
      fee: d.tx.fee,
      nonce: d.tx.nonce,
      spend: txSpend(d),
      cost: this.cost(d),
      seq: this.seq++,
      height,
      at,
      fields: txFilterFields(d.tx),
      sender: q,
      older: this.newest,
      newer: undefined,
    };
    const i = lowerBound(q.txs, e.nonce);
    assert(q.txs[i]?.nonce !== e.nonce, 'mempool: one pending tx per (sender, nonce)');
    q.txs.splice(i, 0, e);
    q.spendTotal += e.spend;
    if (q.heapPos < 0) this.senderHeap.push(q);
    else if (i === 0) this.senderHeap.fix(q.heapPos);
    if (q.tailPos < 0) this.tailHeap.push(q);
    else if (i === q.txs.length - 1) this.tailHeap.fix(q.tailPos);
    if (this.newest === undefined) this.oldest = e;
    else this.newest.newer = e;
    this.newest = e;
    this.byId.set(d.id, e);
    this.bySignature.set(d.tx.signature, e);
    this.totalBytes += e.cost;
    this.totalTxBytes += d.size;
    this.version++;
  }

  private removeEntry(e: Entry): void {
    assert(this.byId.get(e.d.id) === e, 'mempool: removing a tx that is not pending');
    this.byId.delete(e.d.id);
    if (this.bySignature.get(e.d.tx.signature) === e) this.bySignature.delete(e.d.tx.signature);
    const q = e.sender;
    const i = lowerBound(q.txs, e.nonce);
    assert(q.txs[i] === e, 'mempool: sender index out of sync');
    q.txs.splice(i, 1);
    q.spendTotal -= e.spend;
    if (q.txs.length === 0) {
      this.senderHeap.removeAt(q.heapPos);
      this.tailHeap.removeAt(q.tailPos);
      this.senders.delete(q.address);
    } else {
      if (i === 0) this.senderHeap.fix(q.heapPos);
      if (i === q.txs.length) this.tailHeap.fix(q.tailPos);
    }
    if (e.older === undefined) this.oldest = e.newer;
    else e.older.newer = e.newer;
    if (e.newer === undefined) this.newest = e.older;
    else e.newer.older = e.older;
    e.older = undefined;
    e.newer = undefined;
    this.totalBytes -= e.cost;
    this.totalTxBytes -= e.d.size;
    this.version++;
  }

  // ---- dropped records ----

  private record(e: Entry, reason: string, message: string, height: number, at: number): DroppedRecord {
    const r: DroppedRecord = { id: e.d.id, tx: e.d, reason, message, height, at };
    this.droppedById.set(r.id, r);
    this.droppedLog.push(r);
    return r;
  }

  /** Forgets records beyond droppedMax (oldest first) and older than droppedTtlMs. */
  private pruneDropped(now: number): void {
    const log = this.droppedLog;
    while (this.droppedHead < log.length) {
      const r = log[this.droppedHead]!;
      if (this.droppedById.get(r.id) === r) {
        if (this.droppedById.size <= this.opts.droppedMax && now - r.at <= this.opts.droppedTtlMs) break;
        this.droppedById.delete(r.id);
      }
      this.droppedHead++;
    }
    // Keep the log O(live records): drop the consumed prefix and records since
    // superseded (the tx was admitted again, or dropped again).
    const held = log.length - this.droppedHead;
    if (this.droppedHead > 1024 && this.droppedHead * 2 > log.length) {
      this.droppedLog = log.slice(this.droppedHead);
      this.droppedHead = 0;
    } else if (held > 2 * this.droppedById.size + 1024) {
      this.droppedLog = log.slice(this.droppedHead).filter((r) => this.droppedById.get(r.id) === r);
      this.droppedHead = 0;
    }
  }
}
