import type { StateValue } from '../codec/state.js';
import type { StateChanges, StateReader } from './worldState.js';

/**
 * Writes of one block on top of a base state, readable as the state after
 * them. A deletion is recorded as null (only when the base has the key: a key
 * created and deleted within the block leaves no trace). A journal lets a tx's
 * own rule be undone as a whole: `mark` starts one, `rollback` restores every
 * key written since, `release` keeps the writes.
 */
export class Overlay implements StateReader {
  private readonly writes = new Map<string, StateValue | null>();
  /** Keys written since `mark`, with what `writes` held before (undefined = no write). */
  private journal: Map<string, StateValue | null | undefined> | null = null;

  constructor(private readonly base: StateReader) {}

  get(key: string): StateValue | undefined {
    if (this.writes.has(key)) return this.writes.get(key) ?? undefined;
    return this.base.get(key);
  }

  private remember(key: string): void {
    if (this.journal !== null && !this.journal.has(key)) this.journal.set(key, this.writes.has(key) ? this.writes.get(key)! : undefined);
  }

  set(key: string, value: StateValue): void {
    this.remember(key);
    this.writes.set(key, value);
  }

  delete(key: string): void {
    this.remember(key);
    if (this.base.get(key) === undefined) this.writes.delete(key);
    else this.writes.set(key, null);
  }

  mark(): void {
    this.journal = new Map();
  }

  rollback(): void {
    const j = this.journal;
    this.journal = null;
    if (j === null) return;
    for (const [key, prev] of j) {
      if (prev === undefined) this.writes.delete(key);
      else this.writes.set(key, prev);
    }
  }

  release(): void {
    this.journal = null;
  }

  get changes(): StateChanges {
    return this.writes;
  }
}
