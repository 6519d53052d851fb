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
 * inclusive range within 1..`height` (empty when `lo > hi`). `timestampAt(h)`
 * is the timestamp of block h, strictly increasing with h; it is called
 * O(log height) times.
 */
export function heightBounds(q: Pick<TxQuery, 'fromHeight' | 'toHeight' | 'fromTime' | 'toTime'>, height: number, timestampAt: (h: number) => number): { lo: number; hi: number } {
  let lo = Math.max(1, q.fromHeight ?? 1);
  let hi = Math.min(height, q.toHeight ?? height);
  if (lo > hi) return { lo: 1, hi: 0 };
  const fromTime = q.fromTime;
  const toTime = q.toTime;
  if (fromTime !== undefined) lo = firstWhere(lo, hi, (h) => timestampAt(h) >= fromTime);
  if (toTime !== undefined) hi = firstWhere(lo, hi, (h) => timestampAt(h) > toTime) - 1;
  return lo > hi ? { lo: 1, hi: 0 } : { lo, hi };
}

/** An in-memory finalized-tx index: rows in (height, index) order, and per height where its rows end and its block's timestamp. */
export interface TxIndexView {
  readonly rows: readonly TxIndexRow[];
  /** txEnd[h] = number of txs in blocks 1..h (txEnd[0] = 0). */
  readonly txEnd: readonly number[];
  /** times[h] = timestamp of block h (times[0] unused). */
  readonly times: readonly number[];
  /** Latest height. */
  readonly height: number;
}

/**
 * Answers `q` from an in-memory index: the total number of matching rows and
 * the positions (in `rows`) of the page. The height and time bounds select a
 * slice of rows; without other filters the page is a sub-slice of it (no walk),
 * otherwise the slice is walked in the query's order.
 */
export function queryTxIndex(ix: TxIndexView, q: TxQuery): { total: number; page: number[] } {
  const { lo: fromH, hi: toH } = heightBounds(q, ix.height, (h) => ix.times[h]!);
  const lo = fromH > toH ? 0 : ix.txEnd[fromH - 1]!;
  const hi = fromH > toH ? 0 : ix.txEnd[toH]!;
  if (!filtersRows(q)) {
    const total = hi - lo;
    const n = Math.max(0, Math.min(q.limit, total - q.offset));
    const first = q.order === 'asc' ? lo + q.offset : hi - 1 - q.offset;
    return { total, page: Array.from({ length: n }, (_, k) => (q.order === 'asc' ? first + k : first - k)) };
  }
  const page: number[] = [];
  let total = 0;
  const visit = (i: number): void => {
    if (!matchesQuery(ix.rows[i]!, q)) return;
    if (total >= q.offset && page.length < q.limit) page.push(i);
    total++;
  };
  if (q.order === 'asc') for (let i = lo; i < hi; i++) visit(i);
  else for (let i = hi - 1; i >= lo; i--) visit(i);
  return { total, page };
}
