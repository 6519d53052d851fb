/**
 * When a proposer builds its block: the pacing rules, free of clocks and
 * state so that they can be read and tested on their own. Blocks are sized
 * by time and bytes: a block is due at once when the pool holds a full block;
 * otherwise once txs have waited the block interval since the last decision
 * (the idle interval while the pool is empty). The interval's floor is
 * minBlockIntervalMs, or soloBlockIntervalMs when this node's keys alone hold
 * a quorum (a height then needs no other node); with blockIntervalPerKtps it
 * grows with the tx arrival rate up to maxBlockIntervalMs, so that under heavy
 * load each block carries more txs and each tx less of a height's fixed cost.
 * @module
 */

export interface PacingOptions {
  /** The interval's floor while txs wait. */
  readonly minBlockIntervalMs: number;
  /** The interval while the pool is empty. */
  readonly idleBlockIntervalMs: number;
  /** The floor instead of minBlockIntervalMs when this node's keys alone hold a quorum (default: minBlockIntervalMs). */
  readonly soloBlockIntervalMs?: number;
  /** Milliseconds of interval per 1,000 tx/s arriving (0 or unset: the interval does not follow the load). */
  readonly blockIntervalPerKtps?: number;
  /** Most the load may stretch the interval to (the floor applies even when it is longer). */
  readonly maxBlockIntervalMs?: number;
}

export interface PoolView {
  readonly txs: number;
  /** Encoded bytes of the pending txs. */
  readonly bytes: number;
}

/** Weight of the newest height in the smoothed arrival rate. */
const RATE_WEIGHT = 0.3;

/** The arrival rate (txs per ms) after a height in which `admitted` txs arrived over `elapsedMs`. */
export function nextArrivalRate(rate: number, admitted: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return rate;
  const sample = admitted / elapsedMs;
  return rate === 0 ? sample : (1 - RATE_WEIGHT) * rate + RATE_WEIGHT * sample;
}

/** The interval between blocks while txs wait, for an arrival rate in txs per ms (one per ms is 1,000 tx/s). */
export function blockInterval(o: PacingOptions, solo: boolean, arrivalRate: number): number {
  const floor = solo && o.soloBlockIntervalMs !== undefined ? o.soloBlockIntervalMs : o.minBlockIntervalMs;
  const perKtps = o.blockIntervalPerKtps ?? 0;
  if (perKtps <= 0) return floor;
  return Math.max(floor, Math.min(o.maxBlockIntervalMs ?? Infinity, arrivalRate * perKtps));
}

/** How long after the last decision a block is due (before waiting for missing precommits). */
export function proposalInterval(o: PacingOptions, pool: PoolView, full: { maxBlockTxs: number; maxBlockBytes: number }, solo: boolean, arrivalRate: number): number {
  if (pool.txs === 0) return o.idleBlockIntervalMs;
  if (pool.txs >= full.maxBlockTxs || pool.bytes >= full.maxBlockBytes) return 0;
  return blockInterval(o, solo, arrivalRate);
}
