import { encodeStateValue, type StateValue } from '../codec/state.js';
import { LtHash, ltElement, type LtElement } from './ltHash.js';

/** Read access to state entries. */
export interface StateReader {
  get(key: string): StateValue | undefined;
}

/** The changes of one block: key -> new value, or null to delete the key. */
export type StateChanges = ReadonlyMap<string, StateValue | null>;

/** A computed but not yet applied state update: what storage persists and the root it yields. */
export interface StateDiff {
  readonly changes: StateChanges;
  /** Canonical JSON of each changed value, as storage writes it; null = delete the key. */
  readonly encoded: ReadonlyMap<string, string | null>;
  readonly accumulator: LtHash;
  readonly stateRoot: string;
  /** New lattice element per written key (kept to make the next removal free); none for a deleted key. */
  readonly elements: ReadonlyMap<string, LtElement>;
}

const ELEMENT_CACHE_MAX = 16_384;

/**
 * The full state in memory with its LtHash commitment. Deterministic and free
 * of I/O; storage persists what `diff` returns and the node calls `apply` once
 * the block is durable. Cost of `diff` and `apply` grows with the number of
 * changed entries, never with the size of the state.
 */
export class WorldState implements StateReader {
  private readonly entries = new Map<string, StateValue>();
  private accumulator: LtHash;
  /** Elements of recently written entries: removing them from the accumulator costs no hashing. */
  private readonly elementCache = new Map<string, LtElement>();

  private constructor(accumulator: LtHash) {
    this.accumulator = accumulator;
  }

  /** Builds a state from entries, computing the commitment from scratch. */
  static fromEntries(entries: Iterable<[string, StateValue]>): WorldState {
    const ws = new WorldState(new LtHash());
    for (const [k, v] of entries) {
      ws.entries.set(k, v);
      ws.accumulator.add(ltElement(k, encodeStateValue(k, v)));
    }
    return ws;
  }

  get(key: string): StateValue | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  get stateRoot(): string {
    return this.accumulator.digest();
  }

  get accumulatorBytes(): Buffer {
    return this.accumulator.toBytes();
  }

  *allEntries(): IterableIterator<[string, StateValue]> {
    yield* this.entries;
  }

  private elementOf(key: string, value: StateValue): LtElement {
    return this.elementCache.get(key) ?? ltElement(key, encodeStateValue(key, value));
  }

  /** Computes the commitment after `changes` without applying them. */
  diff(changes: StateChanges): StateDiff {
    const acc = this.accumulator.clone();
    const encoded = new Map<string, string | null>();
    const elements = new Map<string, LtElement>();
    for (const [key, value] of changes) {
      const old = this.entries.get(key);
      if (old !== undefined) acc.remove(this.elementOf(key, old));
      if (value === null) {
        // A deleted entry leaves the multiset: its old element is removed, nothing is added.
        encoded.set(key, null);
        continue;
      }
      const json = encodeStateValue(key, value);
      const el = ltElement(key, json);
      acc.add(el);
      encoded.set(key, json);
      elements.set(key, el);
    }
    return { changes, encoded, accumulator: acc, stateRoot: acc.digest(), elements };
  }

  /** Applies a diff computed by `diff` on this same state. */
  apply(d: StateDiff): void {
    for (const [key, value] of d.changes) {
      if (value === null) {
        this.entries.delete(key);
        this.elementCache.delete(key);
      } else {
        this.entries.set(key, value);
      }
    }
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
