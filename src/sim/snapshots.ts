/**
 * State snapshots in the simulation (scenario `snapshot-join`): what a node
 * keeps of the snapshots its `SnapshotMaker` takes (`SnapshotHolder`, part of
 * its disk: it survives a crash and goes when the disk is wiped), where a
 * syncing node stages checked chunks (`MemoryChunkStaging`), and the lies a
 * Byzantine snapshot server tells:
 * - `corrupt-chunk`: every chunk it serves has one byte flipped;
 * - `wrong-root`: every manifest it serves names another state root than its
 *   chunks add up to;
 * - `forged-state`: it also lists a snapshot at its tip height whose state
 *   holds one entry more and whose block header carries that state's root:
 *   a manifest that checks in itself, for a block no certificate signs.
 * @module
 */
import { blockHash } from '../codec/block.js';
import type { SnapshotWriter } from '../node/snapshotFiles.js';
import type { ChunkStaging } from '../node/stateSync.js';
import { LtHash } from '../state/ltHash.js';
import { ChunkBuilder, checkChunk, summarize, type SnapshotManifest, type SnapshotSummary } from '../state/snapshot.js';
import type { FinalizedBlock } from '../types/index.js';

export type SnapshotLie = 'corrupt-chunk' | 'wrong-root' | 'forged-state';
export const SNAPSHOT_LIES: readonly SnapshotLie[] = ['corrupt-chunk', 'wrong-root', 'forged-state'];

export interface HeldSnapshot {
  readonly manifest: SnapshotManifest;
  readonly chunks: readonly Buffer[];
  readonly summary: SnapshotSummary;
}

/** The snapshots a node holds, newest first; only the newest `keep` are kept. */
export class SnapshotHolder {
  private held: HeldSnapshot[] = [];
  /** Snapshots written (taken whole). */
  taken = 0;

  constructor(private readonly keep: number) {}

  /** A writer for one snapshot; nothing is kept unless it finishes while `alive()` (a dead process writes nothing). */
  writer(alive: () => boolean): SnapshotWriter {
    const chunks: Buffer[] = [];
    return {
      chunk: async (index, data) => {
        chunks[index] = Buffer.from(data);
      },
      finish: async (manifest) => {
        if (!alive()) return;
        this.add({ manifest, chunks, summary: summarize(manifest) });
        this.taken++;
      },
      abort: async () => undefined,
    };
  }

  private add(s: HeldSnapshot): void {
    this.held = [s, ...this.held.filter((h) => h.manifest.height !== s.manifest.height)].sort((a, b) => b.manifest.height - a.manifest.height).slice(0, this.keep);
  }

  list(): SnapshotSummary[] {
    return this.held.map((h) => h.summary);
  }

  get(height: number): HeldSnapshot | undefined {
    return this.held.find((h) => h.manifest.height === height);
  }

  get newest(): HeldSnapshot | undefined {
    return this.held[0];
  }
}

/** Checked chunks of a sync in progress, in memory (the node's staging area). */
export class MemoryChunkStaging implements ChunkStaging {
  private chunks: Buffer[] = [];
  reset(n: number): void {
    this.chunks = new Array<Buffer>(n);
  }
  async put(index: number, data: Buffer): Promise<void> {
    this.chunks[index] = Buffer.from(data);
  }
  *entries(): IterableIterator<[string, string]> {
    for (const c of this.chunks) {
      for (const line of c.toString('utf8').split('\n')) if (line !== '') yield JSON.parse(line) as [string, string];
    }
  }
  clear(): void {
    this.chunks = [];
  }
}

/** A copy of `data` with one byte flipped (where the rng says). */
export function corruptChunk(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  const i = Math.min(copy.length - 1, Math.max(0, at));
  copy[i] = copy[i]! ^ 0x01;
  return copy;
}

/** Another valid-looking state root (64 hex) than `root`. */
export function otherRoot(root: string): string {
  return (root[0] === 'a' ? 'b' : 'a') + root.slice(1);
}

/**
 * A forged snapshot at the height of `tip`: the chunks of `base` with one
 * entry added to the last chunk, a manifest whose state root is what the
 * chunks add up to, and `tip`'s block with that root in its header (so
 * another block hash) and `tip`'s certificate, which does not sign it.
 */
export function forgeSnapshot(base: HeldSnapshot, tip: FinalizedBlock): HeldSnapshot {
  const m = base.manifest;
  const last = m.chunks.length - 1;
  const { entries } = checkChunk(base.chunks[last]!, m.chunks[last]!);
  const builder = new ChunkBuilder();
  for (const [k, v] of entries) builder.add(k, v);
  const [lastKey, lastValue] = entries[entries.length - 1]!;
  builder.add(`${lastKey}0`, lastValue);
  const forgedLast = builder.finish();
  const chunks = [...base.chunks.slice(0, last), forgedLast.data];
  const infos = [...m.chunks.slice(0, last), forgedLast.info];
  const sum = new LtHash();
  for (const c of infos) sum.add(LtHash.fromBytes(Buffer.from(c.ltHash, 'hex')).lanes);
  const stateRoot = sum.digest();
  const header = { ...tip.block.header, stateRoot };
  const block: FinalizedBlock = { ...tip, block: { ...tip.block, header }, hash: blockHash(header) };
  const manifest: SnapshotManifest = { ...m, height: header.height, blockHash: block.hash, stateRoot, entries: m.entries + 1, chunks: infos, block };
  return { manifest, chunks, summary: summarize(manifest) };
}
