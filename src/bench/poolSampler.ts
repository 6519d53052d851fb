/**
 * The mempool as the load scenarios see it from outside: `GET /status`'s
 * `mempool.txs` and `mempool.memoryBytes` (the estimate that
 * `mempoolMaxBytes` bounds), read every 250 ms while a run goes on, with the
 * largest reading kept.
 * @module
 */
import type { Pool } from 'undici';

export const SAMPLE_EVERY_MS = 250;

/** One reading of a node's pool. */
export interface PoolReading {
  readonly txs: number;
  readonly memoryBytes: number;
}

/** The pool of the node behind `pool` now; null when the node did not answer or its answer has no pool. */
export async function readPool(pool: Pool): Promise<PoolReading | null> {
  try {
    const r = await pool.request({ path: '/status', method: 'GET' });
    const st = JSON.parse(await r.body.text()) as { mempool?: { txs: number; memoryBytes?: number } };
    if (st.mempool === undefined) return null;
    return { txs: st.mempool.txs, memoryBytes: st.mempool.memoryBytes ?? 0 };
  } catch {
    return null;
  }
}

/** Calls `sample` every SAMPLE_EVERY_MS while `active()` holds and the deadline is ahead (a missed sample: the next one counts). */
export async function sampleWhile(active: () => boolean, deadline: number, sample: () => Promise<void>): Promise<void> {
  while (active() && performance.now() < deadline) {
    await sample();
    await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
  }
}

/** The largest reading of one pool (by memoryBytes) and how many readings were taken. */
export class PoolPeak {
  peak: PoolReading = { txs: 0, memoryBytes: 0 };
  samples = 0;

  add(r: PoolReading | null): void {
    if (r === null) return;
    this.samples++;
    if (r.memoryBytes > this.peak.memoryBytes) this.peak = r;
  }
}
