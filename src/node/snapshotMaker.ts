/**
 * Takes a state snapshot at every height that is a multiple of
 * `snapshotEveryBlocks`, for peers to sync from. The state at that height is
 * read in key order, cut into chunks of about `chunkBytes` and hashed in
 * slices between which the node goes on with its work. Two ways to read it:
 * a state held in memory is captured at once when the block is committed
 * (references to the values, which later blocks replace, never change in
 * place); a state on disk (SQLite) is walked row by row on a connection that
 * holds one read transaction for the whole walk, so later commits are not
 * seen and the state is never held in memory. The chunks' LtHashes must add
 * up to the block's state root, or nothing is written. One snapshot at a
 * time: a multiple reached while one is being taken is skipped.
 * @module
 */
import { encodeStateValue, type StateValue } from '../codec/state.js';
import { ChunkBuilder, SNAPSHOT_FORMAT, type SnapshotChunkInfo } from '../state/snapshot.js';
import { LtHash } from '../state/ltHash.js';
import type { FinalizedBlock } from '../types/index.js';
import type { Log } from './context.js';
import type { SnapshotWriter } from './snapshotFiles.js';

/** The state rows at one height, in ascending key order, and how to release them. */
export interface SnapshotRows {
  readonly height: number;
  /** Key and canonical JSON of each entry. */
  readonly rows: Iterator<readonly [string, string]>;
  close(): void;
}

export interface SnapshotMakerDeps {
  readonly everyBlocks: number;
  readonly chunkBytes: number;
  readonly chainId: string;
  readonly log: Log;
  readonly begin: (height: number) => SnapshotWriter;
  /** Lets other work run (between slices of entries). */
  readonly pause: () => Promise<void>;
  readonly monotonic: () => number;
  /** A snapshot was written (height, entries, seconds). */
  readonly taken?: (height: number, entries: number, seconds: number) => void;
}

/** Entries encoded between two pauses. */
const SLICE = 2000;

export class SnapshotMaker {
  private busy: Promise<void> | null = null;

  constructor(private readonly deps: SnapshotMakerDeps) {}

  /** A block is committed and `state` gives the state after it (asked only at a snapshot height). */
  committed(block: FinalizedBlock, state: () => Iterable<[string, StateValue]>): void {
    const height = block.block.header.height;
    if (this.deps.everyBlocks <= 0 || height % this.deps.everyBlocks !== 0) return;
    if (this.busy !== null) {
      this.deps.log.warn({ height }, 'state snapshot skipped: the previous one is still being taken');
      return;
    }
    const entries = Array.from(state());
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.start(block, { height, rows: encodedRows(entries), close: () => undefined });
  }

  /**
   * As `committed`, for a state read from disk: `open` gives the rows at the
   * committed height (called at once, before anything else commits). Rows
   * of another height mean the store moved on already: the snapshot is
   * skipped.
   */
  committedRows(block: FinalizedBlock, open: () => SnapshotRows): void {
    const height = block.block.header.height;
    if (this.deps.everyBlocks <= 0 || height % this.deps.everyBlocks !== 0) return;
    if (this.busy !== null) {
      this.deps.log.warn({ height }, 'state snapshot skipped: the previous one is still being taken');
      return;
    }
    let rows: SnapshotRows;
    try {
      rows = open();
    } catch (e) {
      this.deps.log.warn({ height, err: (e as Error).message }, 'state snapshot failed');
      return;
    }
    if (rows.height !== height) {
      rows.close();
      this.deps.log.warn({ height, stored: rows.height }, 'state snapshot skipped: the store is at another height');
      return;
    }
    this.start(block, rows);
  }

  private start(block: FinalizedBlock, rows: SnapshotRows): void {
    const height = block.block.header.height;
    this.busy = this.take(block, rows.rows)
      .catch((e: unknown) => this.deps.log.warn({ height, err: (e as Error).message }, 'state snapshot failed'))
      .finally(() => {
        rows.close();
        this.busy = null;
      });
  }

  /** Resolves when no snapshot is being taken. */
  async idle(): Promise<void> {
    await this.busy;
  }

  private async take(block: FinalizedBlock, rows: Iterator<readonly [string, string]>): Promise<void> {
    const t0 = this.deps.monotonic();
    const height = block.block.header.height;
    let count = 0;
    const writer = this.deps.begin(height);
    try {
      const chunks: SnapshotChunkInfo[] = [];
      const sum = new LtHash();
      const builder = new ChunkBuilder();
      const flush = async (): Promise<void> => {
        const { data, info, accumulator } = builder.finish();
        sum.add(accumulator.lanes);
        await writer.chunk(chunks.length, data);
        chunks.push(info);
      };
      for (let r = rows.next(); r.done !== true; r = rows.next()) {
        const [key, json] = r.value;
        builder.add(key, json);
        if (builder.bytes >= this.deps.chunkBytes) await flush();
        if (++count % SLICE === 0) await this.deps.pause();
      }
      if (builder.entries > 0) await flush();
      const root = sum.digest();
      if (root !== block.block.header.stateRoot) throw new Error(`the captured state hashes to ${root}, not block ${height}'s state root ${block.block.header.stateRoot}`);
      await writer.finish({ format: SNAPSHOT_FORMAT, chainId: this.deps.chainId, height, blockHash: block.hash, stateRoot: root, entries: count, chunks, block });
      const seconds = (this.deps.monotonic() - t0) / 1000;
      this.deps.log.info({ height, entries: count, chunks: chunks.length, seconds: Number(seconds.toFixed(3)) }, 'state snapshot taken');
      this.deps.taken?.(height, count, seconds);
    } catch (e) {
      await writer.abort().catch(() => undefined);
      throw e;
    }
  }
}

/** Canonical JSON of captured entries, encoded as they are read. */
function* encodedRows(entries: readonly [string, StateValue][]): IterableIterator<[string, string]> {
  for (const [key, value] of entries) yield [key, encodeStateValue(key, value)];
}
