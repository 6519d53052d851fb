import { encodeStateValue, type StateValue } from '../codec/state.js';
import { LtHash, ltElement, ltElementInput, ltElementOf, type LtElement } from './ltHash.js';
import { MemoryStateSource, type StateChanges, type StateSource } from './stateSource.js';

export { MemoryStateSource, type StateChanges, type StateSource } from './stateSource.js';

/** Read access to state entries. */
export interface StateReader {
  get(key: string): StateValue | undefined;
}

/** A computed but not yet applied state update: what storage persists and the root it yields. */
export interface StateDiff {
  readonly changes: StateChanges;
  /** Canonical JSON of each changed value, as storage writes it; null = delete the key. */
  readonly encoded: ReadonlyMap<string, string | null>;
  readonly accumulator: LtHash;
  readonly stateRoot: string;
  /** New lattice element per written key (kept to make the next removal free); none for a deleted key. */
  readonly elements: ReadonlyMap<string, LtElement>;
  /** Entries added less entries deleted. */
  readonly sizeDelta: number;
}

/**
 * Lattice elements kept for recently written entries (2 KiB each: 4,096 of
 * them are 8 MiB). A changed entry whose element is not kept costs one
 * SHAKE-256 hash of its old value.
 */
const ELEMENT_CACHE_MAX = 4_096;

/**
 * The state with its LtHash commitment. Deterministic and free of I/O: its
 * entries are read through a `StateSource`, an in-memory map by default or a
 * source over a store's rows that the node injects. Storage persists what
 * `diff` returns and the node calls `apply` once the block is durable. Cost
 * of `diff` and `apply` grows with the number of changed entries, never with
 * the size of the state.
 */
export class WorldState implements StateReader {
  private accumulator: LtHash;
  private entryCount: number;
  /** Elements of recently written entries: removing them from the accumulator costs no hashing. */
  private readonly elementCache = new Map<string, LtElement>();

  private constructor(
    private readonly source: StateSource,
    accumulator: LtHash,
    entryCount: number,
  ) {
    this.accumulator = accumulator;
    this.entryCount = entryCount;
  }

  /** Builds a state in memory from entries, computing the commitment from scratch. */
  static fromEntries(entries: Iterable<[string, StateValue]>): WorldState {
    const source = new MemoryStateSource();
    const acc = new LtHash();
    for (const [k, v] of entries) {
      source.set(k, v);
      acc.add(ltElement(k, encodeStateValue(k, v)));
    }
    return new WorldState(source, acc, source.count());
  }

  /**
   * A state read through `source`, whose entries hash to `accumulator` (the
   * caller has checked that, e.g. a store's damage check at open: nothing is
   * recomputed here).
   */
  static fromSource(source: StateSource, accumulator: Uint8Array): WorldState {
    return new WorldState(source, LtHash.fromBytes(accumulator), source.count());
  }

  get(key: string): StateValue | undefined {
    return this.source.get(key);
  }

  get size(): number {
    return this.entryCount;
  }

  get stateRoot(): string {
    return this.accumulator.digest();
  }

  get accumulatorBytes(): Buffer {
    return this.accumulator.toBytes();
  }

  /** Every entry (a disk source reads them all: not for a node's hot paths). */
  *allEntries(): IterableIterator<[string, StateValue]> {
    yield* this.source.entries();
  }

  private elementOf(key: string, value: StateValue, precomputed: ReadonlyMap<string, LtElement> | undefined): LtElement {
    const cached = this.elementCache.get(key);
    if (cached !== undefined) return cached;
    const input = ltElementInput(key, encodeStateValue(key, value));
    return precomputed?.get(input) ?? ltElementOf(input);
  }

  /**
   * The element inputs (`ltElementInput`) that `diff(changes)` would hash: the
   * new values, and the old values whose elements are not kept. Their elements
   * may be computed elsewhere (on other threads) and handed to `diff`.
   */
  elementInputs(changes: StateChanges): string[] {
    const out: string[] = [];
    for (const [key, value] of changes) {
      if (!this.elementCache.has(key)) {
        const old = this.source.get(key);
        if (old !== undefined) out.push(ltElementInput(key, encodeStateValue(key, old)));
      }
      if (value !== null) out.push(ltElementInput(key, encodeStateValue(key, value)));
    }
    return out;
  }

  /**
   * Computes the commitment after `changes` without applying them.
   * `precomputed` maps element inputs to their elements (see `elementInputs`);
   * an element is looked up by the exact text it hashes, so a missing or
   * unrelated entry only means the element is computed here.
   */
  diff(changes: StateChanges, precomputed?: ReadonlyMap<string, LtElement>): StateDiff {
    const acc = this.accumulator.clone();
    const encoded = new Map<string, string | null>();
    const elements = new Map<string, LtElement>();
    let sizeDelta = 0;
    for (const [key, value] of changes) {
      const old = this.source.get(key);
      if (old !== undefined) acc.remove(this.elementOf(key, old, precomputed));
      sizeDelta += (value === null ? 0 : 1) - (old === undefined ? 0 : 1);
      if (value === null) {
        // A deleted entry leaves the multiset: its old element is removed, nothing is added.
        encoded.set(key, null);
        continue;
      }
      const json = encodeStateValue(key, value);
      const input = ltElementInput(key, json);
      const el = precomputed?.get(input) ?? ltElementOf(input);
      acc.add(el);
      encoded.set(key, json);
      elements.set(key, el);
    }
    return { changes, encoded, accumulator: acc, stateRoot: acc.digest(), elements, sizeDelta };
  }

  /** Applies a diff computed by `diff` on this same state. */
  apply(d: StateDiff): void {
    this.source.apply(d.changes);
    for (const [key, value] of d.changes) if (value === null) this.elementCache.delete(key);
    this.entryCount += d.sizeDelta;
    this.accumulator = d.accumulator.clone();
    for (const [key, el] of d.elements) {
      this.elementCache.delete(key);
      this.elementCache.set(key, el);
    }
    while (this.elementCache.size > ELEMENT_CACHE_MAX) {
      const first = this.elementCache.keys().next().value as string;
      this.elementCache.delete(first);
    }
  }
}
