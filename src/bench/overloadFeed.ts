/**
 * What the overload scenario sends next, as a careful client would: each
 * sender has at most one tx out at a time (sent, or refused and waiting to be
 * sent again), so its next nonce goes only once the previous one was admitted
 * and the pool never holds a tx stuck behind a missing nonce. A tx refused
 * with MEMPOOL_FULL is sent again after a backoff (50 ms, doubling, at most
 * 1 s) up to `retries` times; after that the client gives up on it and on its
 * sender's later txs (they could never be included). Fresh txs are drawn
 * round-robin over the senders, retries that are due first. The time is
 * passed in, so the schedule is the same in every run.
 * @module
 */
import type { Body } from './benchNodes.js';

export const POOL_FULL = 'MEMPOOL_FULL';

/** The wait before the `attempt`-th send of a refused tx (attempt ≥ 1), ms. */
export function backoffMs(attempt: number): number {
  return Math.min(1000, 50 * 2 ** (attempt - 1));
}

/** One tx handed out: the body and how many times it was sent before. */
export interface Draw {
  readonly body: Body;
  readonly attempt: number;
}

/** The feeder's counts so far. */
export interface FeedCounts {
  /** Tx sends (fresh and again), and of them the sends again. */
  sends: number;
  resends: number;
  admitted: number;
  poolFull: number;
  /** Txs given up on after `retries` sends again. */
  givenUp: number;
  /** Refusals other than MEMPOOL_FULL, by code (not sent again). */
  readonly otherRefusals: Map<string, number>;
}

interface Waiting extends Draw {
  readonly due: number;
}

/** The txs of the senders that one node is sent, and what happened to them. */
export class OverloadFeed {
  readonly counts: FeedCounts = { sends: 0, resends: 0, admitted: 0, poolFull: 0, givenUp: 0, otherRefusals: new Map() };
  /** Per sender (index into `senders`): its txs in nonce order, the next fresh one, whether one is out, whether it stopped. */
  private readonly txs: Body[][];
  private readonly next: number[];
  private readonly busy: boolean[];
  private readonly stopped: boolean[];
  private readonly slot = new Map<number, number>();
  /** Refused txs by the attempt they will be sent at: each list is in due order (same backoff, refused in order). */
  private readonly waiting: Waiting[][];
  private readonly waitingHead: number[];
  private rr = 0;
  private out = 0;

  /** `bySender`: each sender's txs in nonce order. */
  constructor(bySender: readonly (readonly Body[])[], private readonly retries: number) {
    this.txs = bySender.map((l) => [...l]);
    this.txs.forEach((l, i) => {
      if (l[0] !== undefined) this.slot.set(l[0].sender, i);
    });
    this.next = this.txs.map(() => 0);
    this.busy = this.txs.map(() => false);
    this.stopped = this.txs.map(() => false);
    this.waiting = Array.from({ length: retries + 1 }, () => []);
    this.waitingHead = this.waiting.map(() => 0);
  }

  /** Up to `max` txs to send now: due retries first (oldest attempt level last), then fresh txs round-robin. */
  draw(max: number, now: number): Draw[] {
    const got: Draw[] = [];
    for (let a = 1; a < this.waiting.length && got.length < max; a++) {
      const list = this.waiting[a]!;
      while (got.length < max && this.waitingHead[a]! < list.length && list[this.waitingHead[a]!]!.due <= now) {
        const w = list[this.waitingHead[a]!]!;
        this.waitingHead[a]!++;
        got.push({ body: w.body, attempt: w.attempt });
      }
      if (this.waitingHead[a] === list.length) {
        list.length = 0;
        this.waitingHead[a] = 0;
      }
    }
    const n = this.txs.length;
    for (let step = 0; step < n && got.length < max; step++) {
      const s = this.rr;
      this.rr = (this.rr + 1) % n;
      if (this.busy[s] || this.stopped[s] || this.next[s]! >= this.txs[s]!.length) continue;
      got.push({ body: this.txs[s]![this.next[s]!++]!, attempt: 0 });
      this.busy[s] = true;
    }
    this.counts.sends += got.length;
    this.counts.resends += got.filter((d) => d.attempt > 0).length;
    this.out += got.filter((d) => d.attempt === 0).length;
    return got;
  }

  /** Records the node's answer for a drawn tx: null = admitted, else the error code. */
  settle(d: Draw, code: string | null, now: number): void {
    const s = this.slot.get(d.body.sender)!;
    if (code === null) {
      this.counts.admitted++;
      this.release(s);
      return;
    }
    if (code !== POOL_FULL) {
      this.counts.otherRefusals.set(code, (this.counts.otherRefusals.get(code) ?? 0) + 1);
      this.stopped[s] = true;
      this.release(s);
      return;
    }
    this.counts.poolFull++;
    if (d.attempt >= this.retries) {
      this.counts.givenUp++;
      this.stopped[s] = true;
      this.release(s);
      return;
    }
    const attempt = d.attempt + 1;
    this.waiting[attempt]!.push({ body: d.body, attempt, due: now + backoffMs(attempt) });
  }

  /** When the next refused tx is due to be sent again (Infinity when none waits). */
  nextDue(): number {
    let due = Infinity;
    this.waiting.forEach((list, a) => {
      const w = list[this.waitingHead[a]!];
      if (w !== undefined && w.due < due) due = w.due;
    });
    return due;
  }

  /** True once every sender is done: nothing out, nothing waiting, no fresh tx left to send. */
  finished(): boolean {
    return this.out === 0 && this.txs.every((l, s) => this.stopped[s] || this.next[s]! >= l.length);
  }

  private release(s: number): void {
    this.busy[s] = false;
    this.out--;
  }
}
