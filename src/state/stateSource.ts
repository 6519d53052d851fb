/**
 * Where a `WorldState` reads its entries from. The state itself is a pure
 * key → value map with an LtHash commitment; a source only answers reads and
 * follows the applied blocks. Two kinds exist: the in-memory map below (the
 * default: snapshot backend, simulation, offline tools) and a disk-backed
 * source that a store provides (the SQLite backend, in `storage/sqlite`),
 * whose rows a block's commit has made durable before `apply` is called.
 * @module
 */
import type { StateValue } from '../codec/state.js';

/** The changes of one block: key -> new value, or null to delete the key. */
export type StateChanges = ReadonlyMap<string, StateValue | null>;

export interface StateSource {
  /** The value of `key` at the state's height, or undefined. */
  get(key: string): StateValue | undefined;
  /** Number of entries (read once, when a `WorldState` is built on the source). */
  count(): number;
  /** Every entry at the state's height (order is the source's). */
  entries(): IterableIterator<[string, StateValue]>;
  /** Follows a block whose changes the state applies (for a disk source: already durable). */
  apply(changes: StateChanges): void;
}

/** Entries held in a Map: the whole state in memory. */
export class MemoryStateSource implements StateSource {
  private readonly map = new Map<string, StateValue>();

  get(key: string): StateValue | undefined {
    return this.map.get(key);
  }

  count(): number {
    return this.map.size;
  }

  *entries(): IterableIterator<[string, StateValue]> {
    yield* this.map;
  }

  /** Adds an entry while a state is being built. */
  set(key: string, value: StateValue): void {
    this.map.set(key, value);
  }

  apply(changes: StateChanges): void {
    for (const [key, value] of changes) {
      if (value === null) this.map.delete(key);
      else this.map.set(key, value);
    }
  }
}
