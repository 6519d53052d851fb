/** A snapshot of a TestChain's tip taken by the node's own SnapshotMaker, kept in memory. */
import assert from 'node:assert/strict';
import { SnapshotMaker } from '../../src/node/snapshotMaker.js';
import type { SnapshotManifest } from '../../src/state/snapshot.js';
import type { TestChain } from './chain.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, fatal: () => undefined };

export async function takeSnapshot(chain: TestChain, chunkBytes: number): Promise<{ manifest: SnapshotManifest; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  let manifest: SnapshotManifest | null = null;
  const maker = new SnapshotMaker({
    everyBlocks: 1,
    chunkBytes,
    chainId: chain.chainId,
    log: silent,
    begin: () => ({
      chunk: async (i, data) => {
        chunks[i] = data;
      },
      finish: async (m) => {
        manifest = m;
      },
      abort: async () => undefined,
    }),
    pause: async () => undefined,
    monotonic: () => 0,
  });
  maker.committed(chain.blocks.at(-1)!, () => [...chain.state.allEntries()]);
  await maker.idle();
  assert.ok(manifest !== null, 'the snapshot was taken');
  return { manifest, chunks };
}

/** The entries of chunks, in order: [key, canonical JSON]. */
export function chunkEntries(chunks: readonly Buffer[]): [string, string][] {
  return chunks.flatMap((c) => c.toString('utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as [string, string]));
}
