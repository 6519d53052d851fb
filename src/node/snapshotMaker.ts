/**
 * Takes a state snapshot at every height that is a multiple of
 * `snapshotEveryBlocks`, for peers to sync from. The state's entries are
 * captured at once when the block is committed (references to the values,
 * which are replaced, never changed in place, by later blocks), then encoded,
 * cut into chunks of about `chunkBytes` in key order and hashed in slices
 * between which the node goes on with its work. The chunks' LtHashes must add
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
    this.busy = this.take(block, entries)
      .catch((e: unknown) => this.deps.log.warn({ height, err: (e as Error).message }, 'state snapshot failed'))
      .finally(() => {
        this.busy = null;
      });
  }

  /** Resolves when no snapshot is being taken. */
  async idle(): Promise<void> {
    await this.busy;
  }

  private async take(block: FinalizedBlock, entries: [string, StateValue][]): Promise<void> {
    const t0 = this.deps.monotonic();
    const height = block.block.header.height;
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
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
      for (let i = 0; i < entries.length; i++) {
        const [key, value] = entries[i]!;
        builder.add(key, encodeStateValue(key, value));
        if (builder.bytes >= this.deps.chunkBytes) await flush();
        if (i % SLICE === SLICE - 1) await this.deps.pause();
      }
      if (builder.entries > 0) await flush();
      const root = sum.digest();
      if (root !== block.block.header.stateRoot) throw new Error(`the captured state hashes to ${root}, not block ${height}'s state root ${block.block.header.stateRoot}`);
      await writer.finish({ format: SNAPSHOT_FORMAT, chainId: this.deps.chainId, height, blockHash: block.hash, stateRoot: root, entries: entries.length, chunks, block });
      const seconds = (this.deps.monotonic() - t0) / 1000;
      this.deps.log.info({ height, entries: entries.length, chunks: chunks.length, seconds: Number(seconds.toFixed(3)) }, 'state snapshot taken');
      this.deps.taken?.(height, entries.length, seconds);
    } catch (e) {
      await writer.abort().catch(() => undefined);
      throw e;
    }
  }
}
