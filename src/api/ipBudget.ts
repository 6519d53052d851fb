/**
 * A per-client-address budget of units (txs) over a window: a token bucket
 * per address, `max` units per `windowMs`, bursts up to `max`. The request
 * rate limit counts requests; this one counts what a request costs, so that a
 * batch route (`POST /p2p/txs`, up to 1,000 txs) cannot carry a thousand
 * times the work of one `POST /tx` through the same limit. Addresses are
 * kept in a bounded LRU: a flood of addresses cannot grow memory.
 * @module
 */
import { LRUCache } from 'lru-cache';

const MAX_ADDRESSES = 10_000;

export class IpBudget {
  private readonly buckets = new LRUCache<string, { tokens: number; at: number }>({ max: MAX_ADDRESSES });

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `units` from `ip`'s bucket: all of them, or none when there are not enough (then false). */
  take(ip: string, units: number): boolean {
    if (this.max <= 0) return true;
    const b = this.refill(ip);
    if (b.tokens < units) return false;
    b.tokens -= units;
    return true;
  }

  /** Units `ip` may spend now (Infinity when there is no limit). */
  available(ip: string): number {
    if (this.max <= 0) return Infinity;
    const b = this.refill(ip);
    return Math.max(0, b.tokens);
  }

  /** Spends `units` whether or not they are there: a debt is repaid by the refill before anything more is allowed. */
  spend(ip: string, units: number): void {
    if (this.max <= 0) return;
    this.refill(ip).tokens -= units;
  }

  private refill(ip: string): { tokens: number; at: number } {
    const t = this.now();
    const b = this.buckets.get(ip) ?? { tokens: this.max, at: t };
    b.tokens = Math.min(this.max, b.tokens + ((t - b.at) * this.max) / this.windowMs);
    b.at = t;
    this.buckets.set(ip, b);
    return b;
  }

  /** Milliseconds until `units` are available to `ip` (0 when they are). */
  waitMs(ip: string, units: number): number {
    const b = this.buckets.get(ip);
    if (b === undefined || this.max <= 0) return 0;
    const missing = Math.min(units, this.max) - b.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * this.windowMs) / this.max);
  }
}
