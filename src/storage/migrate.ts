/**
 * A storage-level copy of a chain from one store into another (another
 * backend, another data dir): the source's tip state, its kept whole blocks
 * and the headers below them, installed into the target in one
 * `installState`, every part read lazily from the source. Both stores must be
 * open; the target's earlier content is replaced.
 * @module
 */
import { ErrorCode, FastposError } from '../errors.js';
import type { CertifiedHeader, ChainStore, LoadedChain } from './types.js';
import type { FinalizedBlock } from '../types/index.js';
import { WorldState } from '../state/worldState.js';

/** Blocks or headers read from the source per call. */
const PAGE = 256;

/** Progress of a copy: what is being read and how far it got. */
export interface CopyProgress {
  readonly phase: 'entries' | 'headers' | 'blocks';
  readonly done: number;
}

/** What `copyChain` copied. */
export interface CopyResult {
  readonly height: number;
  readonly entries: number;
  readonly headers: number;
  readonly blocks: number;
  /** The tip block's state root, which the reopened target's state hashes to. */
  readonly stateRoot: string;
}

/**
 * Copies `from` into `to` and checks the copy: the target is closed and
 * reopened, and what it loads must be the source's (height, tip hash,
 * genesis hash, accumulator, earliest heights), with a state that hashes to
 * the tip block's state root. The target is left open (`reopened` is what its
 * `open` returned).
 */
export async function copyChain(
  from: ChainStore,
  to: ChainStore,
  onProgress?: (p: CopyProgress) => void,
): Promise<{ result: CopyResult; reopened: LoadedChain }> {
  const source = from.committed();
  const height = source.height;
  if (height === 0 || source.genesisHash === null || source.accumulator === null) {
    throw new FastposError(ErrorCode.INVALID_REQUEST, 'the source store holds no block to copy');
  }
  const accumulator = source.accumulator;
  const tip = from.getBlock(height);
  if (tip === undefined) throw new FastposError(ErrorCode.CORRUPT_DATA, `the source store has no block at its height ${height}`);
  const firstBlock = from.earliestBlockHeight();
  const firstHeader = from.earliestHeaderHeight();
  const counts = { entries: 0, headers: 0, blocks: 0 };
  const report = (phase: CopyProgress['phase'], done: number): void => {
    if (done % 10_000 === 0) onProgress?.({ phase, done });
  };
  function* entries(): Generator<readonly [string, string]> {
    for (const e of from.stateEntries()) {
      counts.entries++;
      report('entries', counts.entries);
      yield e;
    }
  }
  /** Items of heights lo..hi-1 read a page at a time, counted as `what`. */
  function* paged<T>(lo: number, hi: number, read: (h: number, limit: number) => T[], heightOf: (x: T) => number, what: 'headers' | 'blocks'): Generator<T> {
    for (let h = lo; h < hi; ) {
      const page = read(h, Math.min(PAGE, hi - h));
      if (page.length === 0) throw new FastposError(ErrorCode.CORRUPT_DATA, `the source store has no ${what === 'headers' ? 'header' : 'block'} at height ${h}`);
      let last = h - 1;
      for (const x of page) {
        counts[what]++;
        report(what, counts[what]);
        yield x;
        last = heightOf(x);
      }
      // Headers below the kept window are sparse (checkpoints): go on after the last one read.
      h = last + 1;
    }
  }
  const headers = (): Generator<CertifiedHeader> => paged(firstHeader, firstBlock, (h, n) => from.getHeaders(h, n).filter((x) => x.header.height < firstBlock), (x) => x.header.height, 'headers');
  const blocks = (): Generator<FinalizedBlock> => paged(firstBlock, height, (h, n) => from.getBlocks(h, n), (x) => x.block.header.height, 'blocks');
  await to.installState({
    genesisHash: source.genesisHash,
    block: tip,
    entries: entries(),
    accumulator,
    headers: headers(),
    blocks: blocks(),
  });
  await to.close();
  const reopened = to.open();
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new FastposError(ErrorCode.CORRUPT_DATA, `the copy does not match its source: ${what}`);
  };
  check(reopened.height === height, `height ${reopened.height}, expected ${height}`);
  check(reopened.latest?.hash === tip.hash, `tip hash ${reopened.latest?.hash ?? 'none'}, expected ${tip.hash}`);
  check(reopened.accumulator !== null && reopened.accumulator.equals(accumulator), 'the state accumulators differ');
  // The state root: recomputed from the copied entries, it must be the tip block's.
  const world = WorldState.fromEntries(reopened.entries);
  check(world.stateRoot === tip.block.header.stateRoot, `the copied state hashes to ${world.stateRoot}, block ${height} names ${tip.block.header.stateRoot}`);
  check(reopened.genesisHash === source.genesisHash, 'the genesis hashes differ');
  check(reopened.entries.length === counts.entries, `${reopened.entries.length} state entries, expected ${counts.entries}`);
  check(to.earliestBlockHeight() === firstBlock && to.earliestHeaderHeight() === firstHeader, 'the earliest heights differ');
  return {
    result: { height, entries: counts.entries, headers: counts.headers, blocks: counts.blocks + 1, stateRoot: tip.block.header.stateRoot },
    reopened,
  };
}
