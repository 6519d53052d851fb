/**
 * A binary heap with optional position tracking, so that an item can be removed
 * or re-keyed in O(log n) once its position is known. `before(a, b)` is true
 * when `a` must come out before `b`. Internal to the mempool.
 * @module
 */
export class Heap<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly before: (a: T, b: T) => boolean,
    /** Told every item's new index whenever it moves; -1 when it leaves the heap. */
    private readonly onIndex: (item: T, index: number) => void = () => {},
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** The item at array index `i` (0 is the top; children of i are 2i+1 and 2i+2). */
  at(i: number): T | undefined {
    return this.items[i];
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.onIndex(item, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Removes and returns the item at index `i`. */
  removeAt(i: number): T {
    const items = this.items;
    const item = items[i];
    if (item === undefined) throw new RangeError(`heap index ${i} out of range`);
    const last = items.pop()!;
    this.onIndex(item, -1);
    if (i < items.length) {
      items[i] = last;
      this.onIndex(last, i);
      this.fix(i);
    }
    return item;
  }

  /** Restores order after the key of the item at index `i` changed. */
  fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private up(i: number): boolean {
    const items = this.items;
    const item = items[i]!;
    let moved = false;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (!this.before(item, parent)) break;
      items[i] = parent;
      this.onIndex(parent, i);
      i = p;
      moved = true;
    }
    if (moved) {
      items[i] = item;
      this.onIndex(item, i);
    }
    return moved;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(items[r]!, items[l]!) ? r : l;
      const child = items[c]!;
      if (!this.before(child, item)) break;
      items[i] = child;
      this.onIndex(child, i);
      i = c;
    }
    items[i] = item;
    this.onIndex(item, i);
  }
}
