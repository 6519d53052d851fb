/**
 * The virtual clock: a priority queue of (time, seq) events. Time only moves
 * when the simulation pops the next event, so a run takes as long as its
 * events take to compute, not as long as its timeouts.
 * @module
 */

export interface TimerEvent {
  readonly time: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  private heap: TimerEvent[] = [];
  private seq = 0;
  private nowMs = 0;

  get now(): number {
    return this.nowMs;
  }
  get pending(): number {
    return this.heap.length;
  }

  /** Runs `fn` at now + ms (ms < 0 counts as 0). Events at one time run in scheduling order. */
  schedule(ms: number, fn: () => void): TimerEvent {
    return this.scheduleAt(this.nowMs + Math.max(0, ms), fn);
  }

  scheduleAt(time: number, fn: () => void): TimerEvent {
    const ev: TimerEvent = { time: Math.max(time, this.nowMs), seq: this.seq++, fn, cancelled: false };
    this.push(ev);
    return ev;
  }

  cancel(ev: TimerEvent): void {
    ev.cancelled = true;
  }

  /** Time of the next live event, or null. */
  peekTime(): number | null {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap.length === 0 ? null : this.heap[0]!.time;
  }

  /** Pops the next live event and advances the clock to its time. */
  next(): TimerEvent | null {
    for (;;) {
      const ev = this.pop();
      if (ev === null) return null;
      if (ev.cancelled) continue;
      this.nowMs = ev.time;
      return ev;
    }
  }

  private less(a: TimerEvent, b: TimerEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(ev: TimerEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      const t = h[i]!;
      h[i] = h[p]!;
      h[p] = t;
      i = p;
    }
  }

  private pop(): TimerEvent | null {
    const h = this.heap;
    if (h.length === 0) return null;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        const t = h[i]!;
        h[i] = h[m]!;
        h[m] = t;
        i = m;
      }
    }
    return top;
  }
}
