/**
 * The finalized-tx index the snapshot and memory stores keep in memory: one
 * row per tx with the values every `TxQuery` filter reads, how a query
 * matches a row, and how a query's height and time bounds become the range
 * of heights to look at (block timestamps strictly increase with height, so
 * a time window is a height range, found by binary search). The SQLite store
 * answers the same queries from its tables and indexes; the shared store
 * tests hold all three to one model.
 *
 * Pure: no I/O, no clock (the memory store, which the simulation runs, uses it).
 * @module
 */
import { matchesTxFilter, txFilterFields, type TxFilterFields } from '../mempool/txFilter.js';
import type { FinalizedBlock } from '../types/index.js';
import type { TxQuery } from './types.js';

/** What the in-memory indexes keep per finalized tx: enough to evaluate every `TxQuery` filter. */
export interface TxIndexRow extends TxFilterFields {
  readonly id: string;
  readonly height: number;
  readonly index: number;
  readonly success: boolean;
}

export function txIndexRows(fb: FinalizedBlock): TxIndexRow[] {
  const height = fb.block.header.height;
  return fb.block.txs.map((d, index) => ({ id: d.id, height, index, success: fb.results[index]!.success, ...txFilterFields(d.tx) }));
}

/**
 * Whether a row passes every filter of `q` other than its height and time
 * bounds, which `heightBounds` turns into the range of rows to visit.
 */
export function matchesQuery(r: TxIndexRow, q: TxQuery): boolean {
  if (!matchesTxFilter(r, q)) return false;
  if (q.address !== undefined && r.sender !== q.address && r.recipient !== q.address) return false;
  if (q.success !== undefined && r.success !== q.success) return false;
  return true;
}

/** Whether `q` filters on anything but heights and times (then its total is not just a count of rows in a range). */
export function filtersRows(q: TxQuery): boolean {
  return (
    q.from !== undefined ||
    q.to !== undefined ||
    q.address !== undefined ||
    q.kind !== undefined ||
    q.validatorId !== undefined ||
    q.minFee !== undefined ||
    q.maxFee !== undefined ||
    q.success !== undefined
  );
}

/** The first height in [lo, hi] for which `pred` holds, given that it holds for every height after one where it does; hi + 1 if none. */
function firstWhere(lo: number, hi: number, pred: (h: number) => boolean): number {
  let a = lo;
  let b = hi + 1;
  while (a < b) {
    const mid = a + Math.floor((b - a) / 2);
    if (pred(mid)) b = mid;
    else a = mid + 1;
  }
  return a;
}

/**
 * The heights `q` selects by its height bounds and time window, as an
 * inclusive range within `first`..`height` (empty when `lo > hi`); `first` is
 * the earliest height whose txs are kept (1 without pruning).
 * `timestampAt(h)` is the timestamp of block h, strictly increasing with h; it
 * is called O(log height) times, for heights in `first`..`height` only.
 */
export function heightBounds(
  q: Pick<TxQuery, 'fromHeight' | 'toHeight' | 'fromTime' | 'toTime'>,
  height: number,
  timestampAt: (h: number) => number,
  first = 1,
): { lo: number; hi: number } {
  let lo = Math.max(first, 1, q.fromHeight ?? 1);
  let hi = Math.min(height, q.toHeight ?? height);
  if (lo > hi) return { lo: 1, hi: 0 };
  const fromTime = q.fromTime;
  const toTime = q.toTime;
  if (fromTime !== undefined) lo = firstWhere(lo, hi, (h) => timestampAt(h) >= fromTime);
  if (toTime !== undefined) hi = firstWhere(lo, hi, (h) => timestampAt(h) > toTime) - 1;
  return lo > hi ? { lo: 1, hi: 0 } : { lo, hi };
}

/**
 * The finalized-tx index of the snapshot and memory stores: one row per tx
 * of the kept blocks `first`..`height`, in (height, index) order, with
 * positions that never change (a row keeps its position when older rows are
 * pruned), the running tx count at the end of each kept height and the
 * blocks' timestamps. Pruning drops rows from the front; the arrays are
 * compacted once the dropped part is as long as the kept one, so dropping
 * costs O(1) amortized per row.
 */
export class MemoryTxIndex {
  /** rows[i] is the row at position base + i. */
  private rows: TxIndexRow[] = [];
  private base = 0;
  /** Rows at the front of `rows` that were pruned (not yet compacted away). */
  private dead = 0;
  private readonly byId = new Map<string, number>();
  /** ends[k] = running count of txs at the end of height first - 1 + k (from any origin). */
  private ends: number[] = [0];
  /** times[k] = timestamp of height first - 1 + k (times[0] unused). */
  private times: number[] = [0];
  /** Heights dropped from the front of `ends`/`times` (not yet compacted away). */
  private deadHeights = 0;
  private firstHeight = 1;

  /** Earliest height whose txs are indexed. */
  get first(): number {
    return this.firstHeight;
  }

  /** Latest indexed height (first - 1 when empty). */
  get height(): number {
    return this.firstHeight - 1 + this.ends.length - 1 - this.deadHeights;
  }

  /** Empties the index; the next block added has height `first`. */
  reset(first = 1): void {
    this.rows = [];
    this.base = 0;
    this.dead = 0;
    this.byId.clear();
    this.ends = [0];
    this.times = [0];
    this.deadHeights = 0;
    this.firstHeight = first;
  }

  /** Adds the txs of the next block. */
  add(fb: FinalizedBlock): void {
    const height = fb.block.header.height;
    if (height !== this.height + 1) throw new Error(`tx index: block ${height} added on top of ${this.height}`);
    for (const row of txIndexRows(fb)) {
      this.byId.set(row.id, this.base + this.rows.length);
      this.rows.push(row);
    }
    this.ends.push(this.base + this.rows.length);
    this.times.push(fb.block.header.timestamp);
  }

  /** Drops the rows of every block below `height` (at most up to the latest indexed height + 1). */
  dropBelow(height: number): void {
    const to = Math.min(height, this.height + 1);
    if (to <= this.firstHeight) return;
    const endPos = this.txEnd(to - 1);
    for (let p = this.base + this.dead; p < endPos; p++) this.byId.delete(this.rows[p - this.base]!.id);
    this.dead = endPos - this.base;
    this.deadHeights += to - this.firstHeight;
    this.firstHeight = to;
    if (this.dead >= this.rows.length - this.dead) {
      this.rows = this.rows.slice(this.dead);
      this.base += this.dead;
      this.dead = 0;
    }
    if (this.deadHeights >= this.ends.length - this.deadHeights) {
      this.ends = this.ends.slice(this.deadHeights);
      this.times = this.times.slice(this.deadHeights);
      this.deadHeights = 0;
    }
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The row of a kept tx. */
  get(id: string): TxIndexRow | undefined {
    const p = this.byId.get(id);
    return p === undefined ? undefined : this.rows[p - this.base];
  }

  /** Running count at the end of a kept height (or of first - 1). */
  private txEnd(h: number): number {
    return this.ends[h - this.firstHeight + 1 + this.deadHeights]!;
  }

  /** Timestamp of a kept block. */
  timeAt(h: number): number {
    return this.times[h - this.firstHeight + 1 + this.deadHeights]!;
  }

  /**
   * Answers `q` over the kept blocks: the total number of matching rows and
   * the page. The height and time bounds select a slice of rows; without
   * other filters the page is a sub-slice of it (no walk), otherwise the
   * slice is walked in the query's order.
   */
  query(q: TxQuery): { total: number; page: TxIndexRow[] } {
    const { lo: fromH, hi: toH } = heightBounds(q, this.height, (h) => this.timeAt(h), this.firstHeight);
    const lo = fromH > toH ? 0 : this.txEnd(fromH - 1) - this.base;
    const hi = fromH > toH ? 0 : this.txEnd(toH) - this.base;
    const rows = this.rows;
    if (!filtersRows(q)) {
      const total = hi - lo;
      const n = Math.max(0, Math.min(q.limit, total - q.offset));
      const first = q.order === 'asc' ? lo + q.offset : hi - 1 - q.offset;
      return { total, page: Array.from({ length: n }, (_, k) => rows[q.order === 'asc' ? first + k : first - k]!) };
    }
    const page: TxIndexRow[] = [];
    let total = 0;
    const visit = (i: number): void => {
      const r = rows[i]!;
      if (!matchesQuery(r, q)) return;
      if (total >= q.offset && page.length < q.limit) page.push(r);
      total++;
    };
    if (q.order === 'asc') for (let i = lo; i < hi; i++) visit(i);
    else for (let i = hi - 1; i >= lo; i--) visit(i);
    return { total, page };
  }
}
