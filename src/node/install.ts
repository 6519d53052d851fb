/**
 * Moving a node's store and head to a state synced from a snapshot: the
 * store replaces its content atomically, the state is read back and must hash
 * to the snapshot block's state root, and the head moves to that block (on a
 * disk-backed store the rows are hashed as they are read and the head reads
 * them through the store's state source, so the state is not held in memory). Used
 * by `FastposNode.installSnapshot` and by the simulation's nodes; stopping
 * and restarting consensus around it is the caller's.
 * @module
 */
import { decodeStateValue, type StateValue } from '../codec/state.js';
import { FatalError } from '../errors.js';
import { LtHash, ltElement } from '../state/ltHash.js';
import { WorldState } from '../state/worldState.js';
import type { ChainStore } from '../storage/types.js';
import type { FinalizedBlock } from '../types/index.js';
import type { ChainHead } from './chainHead.js';

export async function installSnapshotState(
  parts: { readonly store: ChainStore; readonly head: ChainHead },
  block: FinalizedBlock,
  entries: Iterable<readonly [string, string]>,
  accumulator: Buffer,
): Promise<void> {
  const { store, head } = parts;
  await store.installState({ genesisHash: head.genesisHash, block, entries, accumulator });
  const disk = store.diskState;
  // On a disk-backed store the installed rows are hashed as they stream by and then read through the store's source.
  const world = disk === undefined ? WorldState.fromEntries(decodedEntries(store.stateEntries())) : WorldState.fromSource(disk.stateSource(), rowsAccumulator(store.stateEntries()));
  if (world.stateRoot !== block.block.header.stateRoot) {
    throw new FatalError(`the installed state hashes to ${world.stateRoot}, not the snapshot block's state root ${block.block.header.stateRoot}`);
  }
  head.reset(world, block);
}

/** The LtHash accumulator of rows of canonical JSON, none of them kept. */
function rowsAccumulator(rows: Iterable<[string, string]>): Buffer {
  const acc = new LtHash();
  for (const [k, v] of rows) acc.add(ltElement(k, v));
  return acc.toBytes();
}

/** Decoded state entries from the store's canonical JSON. */
function* decodedEntries(rows: Iterable<[string, string]>): IterableIterator<[string, StateValue]> {
  for (const [k, v] of rows) yield [k, decodeStateValue(k, v)];
}
