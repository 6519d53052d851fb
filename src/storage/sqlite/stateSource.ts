/**
 * The state source of a node on the SQLite backend: the world state's
 * entries are read from the `state` table by key (a prepared statement on the
 * main thread's connection), decoded once and kept in a bounded LRU cache, so
 * a node's memory does not grow with the number of accounts.
 *
 * Consistency with the writer thread: block H's rows become durable before
 * the node applies H, and in between every read must still give H−1's state.
 * The store calls `pin` with the keys block H changes just before it sends
 * the commit; their current values (absent included) are kept here and
 * answer reads of those keys until `apply(H)`. Keys H does not change read
 * the same at H−1 and H.
 * @module
 */
import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { decodeStateValue, type StateValue } from '../../codec/state.js';
import type { StateChanges, StateSource } from '../../state/stateSource.js';
import type { StateWalk } from '../types.js';
import { corrupt, orCorrupt } from '../common.js';

/** Decoded values kept (absent keys included): about 50,000 × ~0.5 KiB, a few tens of MiB at most. */
export const STATE_CACHE_ENTRIES = 50_000;

/** A key known to be absent (cached like a value). */
const ABSENT = Symbol('absent');
type Cached = StateValue | typeof ABSENT;

/** What the source needs from the store's connection. */
export interface StateStatements {
  /** `SELECT value FROM state WHERE key = ?`, plucked. */
  readonly valueOf: Database.Statement;
  /** `SELECT COUNT(*) FROM state`, plucked. */
  readonly count: Database.Statement;
  /** `SELECT key, value FROM state ORDER BY key`, raw. */
  readonly all: Database.Statement;
}

export class SqliteStateSource implements StateSource {
  private readonly cache: LRUCache<string, Cached>;
  /**
   * Values at the head's height of the keys that commits not yet applied
   * change, oldest commit first (one layer per commit in flight or durable
   * but not applied); null = absent at the head's height.
   */
  private readonly pins: Map<string, StateValue | null>[] = [];

  constructor(
    private readonly file: string,
    private readonly st: StateStatements,
    cacheEntries = STATE_CACHE_ENTRIES,
  ) {
    this.cache = new LRUCache<string, Cached>({ max: Math.max(1, cacheEntries) });
  }

  /** Entries kept decoded (for tests and metrics). */
  get cached(): number {
    return this.cache.size;
  }

  private read(key: string): StateValue | undefined {
    const json = this.st.valueOf.get(key) as string | undefined;
    return json === undefined ? undefined : orCorrupt(this.file, `state row ${key}`, () => decodeStateValue(key, json));
  }

  private pinned(key: string): StateValue | null | undefined {
    for (const layer of this.pins) {
      const v = layer.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  get(key: string): StateValue | undefined {
    if (this.pins.length > 0) {
      const p = this.pinned(key);
      if (p !== undefined) return p ?? undefined;
    }
    const c = this.cache.get(key);
    if (c !== undefined) return c === ABSENT ? undefined : c;
    const v = this.read(key);
    this.cache.set(key, v ?? ABSENT);
    return v;
  }

  count(): number {
    return this.st.count.get() as number;
  }

  /**
   * Keeps the values of `keys` as they are before a commit that changes them
   * (called by the store just before the commit is sent: the rows on disk are
   * those of every commit made so far).
   */
  pin(keys: Iterable<string>): void {
    const layer = new Map<string, StateValue | null>();
    for (const key of keys) {
      // A key an earlier unapplied commit changes: the rows on disk hold that commit's value, the one this commit replaces.
      const v = this.pinned(key) !== undefined ? this.read(key) : this.get(key);
      layer.set(key, v ?? null);
    }
    this.pins.push(layer);
  }

  /** The latest pinned commit failed (nothing of it is durable): its pins go. */
  unpinLatest(): void {
    this.pins.pop();
  }

  /** The oldest pinned commit is applied: its values become the cached ones. */
  apply(changes: StateChanges): void {
    this.pins.shift();
    for (const [key, value] of changes) {
      if (this.pinned(key) === undefined) this.cache.set(key, value ?? ABSENT);
      else this.cache.delete(key);
    }
  }

  /** Forgets everything kept (the rows were replaced: a state install). */
  reset(): void {
    this.pins.length = 0;
    this.cache.clear();
  }

  /**
   * Every entry at the head's height in key order, decoded: the rows, with
   * the pinned values of keys a commit not yet applied changes. The main
   * connection is busy until the iteration ends: read it through before
   * using the store again.
   */
  *entries(): IterableIterator<[string, StateValue]> {
    const pinned = new Map<string, StateValue | null>();
    for (let i = this.pins.length - 1; i >= 0; i--) for (const [k, v] of this.pins[i]!) pinned.set(k, v);
    const extra = [...pinned].filter(([, v]) => v !== null).map(([k]) => k).sort();
    let e = 0;
    let prev: string | null = null;
    for (const [key, json] of this.st.all.iterate() as IterableIterator<[string, string]>) {
      if (prev !== null && !(prev < key)) throw corrupt(this.file, `state keys out of order: ${JSON.stringify(prev)} before ${JSON.stringify(key)}`);
      prev = key;
      while (e < extra.length && extra[e]! < key) {
        const k = extra[e++]!;
        yield [k, pinned.get(k)!];
      }
      if (e < extra.length && extra[e] === key) e++;
      if (pinned.has(key)) {
        const v = pinned.get(key)!;
        if (v !== null) yield [key, v];
        continue;
      }
      yield [key, orCorrupt(this.file, `state row ${key}`, () => decodeStateValue(key, json))];
    }
    while (e < extra.length) {
      const k = extra[e++]!;
      yield [k, pinned.get(k)!];
    }
  }
}

/**
 * The state rows of the database `file` at its committed height, in key
 * order, on a read-only connection of their own that holds one read
 * transaction until `close`: commits made meanwhile by the writer thread are
 * not seen, however many turns of the event loop the walk takes.
 */
export function walkStateRows(file: string): StateWalk {
  const db = new Database(file, { readonly: true });
  let open = true;
  let rows: IterableIterator<[string, string]> | null = null;
  const close = (): void => {
    if (!open) return;
    open = false;
    try {
      // Ends a walk cut short (its statement), then the read transaction.
      rows?.return?.();
      if (db.inTransaction) db.exec('COMMIT');
    } catch {
      // Closing the connection ends the transaction anyway.
    }
    db.close();
  };
  try {
    db.pragma('cache_size = -4096');
    db.exec('BEGIN');
    const height = db.prepare(`SELECT value FROM meta WHERE key = 'height'`).pluck().get() as number;
    const stmt = db.prepare('SELECT key, value FROM state ORDER BY key').raw();
    rows = (function* (): IterableIterator<[string, string]> {
      let prev: string | null = null;
      for (const row of stmt.iterate() as IterableIterator<[string, string]>) {
        if (prev !== null && !(prev < row[0])) throw corrupt(file, `state keys out of order: ${JSON.stringify(prev)} before ${JSON.stringify(row[0])}`);
        prev = row[0];
        yield row;
      }
    })();
    return { height, rows, close };
  } catch (e) {
    close();
    throw e;
  }
}
