/**
 * `fastpos verify-chain`: an offline audit of a data dir. Run it on a stopped
 * node or on a backup copy.
 *
 * A store that holds every block from height 1 is replayed from genesis with
 * `replayChain` (every tx signature, every header field by re-execution,
 * every certificate against its epoch's validator set), and the stored state
 * must be the state the replay reaches.
 *
 * A pruned store, or one that began from a state snapshot, lacks the blocks
 * (or the state) a replay from genesis needs. It is checked instead by its
 * headers: every stored header hashes to its hash and links to the one
 * before, every certificate holds 2/3 of its epoch's set (read from the
 * stored state), the whole blocks kept match their headers (tx root,
 * signatures) and the stored state hashes to the latest header's state root.
 * Re-execution needs the state before the earliest whole block, which a
 * store does not keep: the report says what was checked and what was not.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { blockHash } from '../codec/block.js';
import { txRoot } from '../codec/merkle.js';
import type { NodeConfig } from '../config/index.js';
import { verifyCommit } from '../consensus/commit.js';
import { replayChain } from '../consensus/replay.js';
import { validatorSetForHeight } from '../consensus/validatorSet.js';
import { verifySignature } from '../crypto/ed25519.js';
import { ErrorCode, FastposError } from '../errors.js';
import { genesisEntries, genesisHash } from '../state/genesis.js';
import { WorldState } from '../state/worldState.js';
import { createChainStore, type ChainStore, type LoadedChain } from '../storage/index.js';
import type { FinalizedBlock, Genesis } from '../types/index.js';
import { loadGenesis } from '../node/run.js';
import { Progress, type ProgressStream } from './progress.js';

export interface VerifyChainReport {
  readonly ok: true;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly height: number;
  readonly latestHash: string;
  readonly stateRoot: string;
  readonly blocks: number;
  readonly txs: number;
  readonly seconds: number;
  /** `replay`: every block re-executed from genesis; `headers`: the store lacks blocks or state from genesis (see `checked`, `notChecked`). */
  readonly mode: 'replay' | 'headers';
  readonly earliestBlockHeight: number;
  readonly earliestHeaderHeight: number;
  readonly checked?: readonly string[];
  readonly notChecked?: readonly string[];
}

export interface VerifyChainOptions {
  /** No progress output (--json). */
  readonly quiet?: boolean;
  readonly stream?: ProgressStream;
}

const BATCH = 200;

export async function verifyChain(config: Pick<NodeConfig, 'dataDir' | 'genesisFile' | 'stateBackend'>, opts: VerifyChainOptions = {}): Promise<VerifyChainReport> {
  const file = join(config.dataDir, config.stateBackend === 'sqlite' ? 'chain.sqlite' : 'state.json');
  if (!existsSync(file)) throw new FastposError(ErrorCode.INVALID_CONFIG, `${file} does not exist: nothing to verify (check --data-dir and --state-backend)`);
  const { genesis } = loadGenesis(config);
  const store = createChainStore(config.stateBackend, config.dataDir, { writerThread: false });
  const t0 = performance.now();
  try {
    const loaded = store.open();
    const gh = genesisHash(genesis);
    if (loaded.genesisHash !== gh) {
      throw new FastposError(ErrorCode.INVALID_GENESIS, `the data dir holds a chain of genesis ${loaded.genesisHash}, but the configured genesis hashes to ${gh}`);
    }
    const earliestBlock = store.earliestBlockHeight();
    const earliestHeader = store.earliestHeaderHeight();
    const progressOpts = { quiet: opts.quiet === true, ...(opts.stream === undefined ? {} : { stream: opts.stream }) };
    const seconds = (): number => Math.round((performance.now() - t0) / 10) / 100;
    if (earliestBlock > 1 && loaded.height > 0) {
      return { ...checkByHeaders(store, loaded, genesis, earliestBlock, earliestHeader, progressOpts), seconds: seconds() };
    }
    const progress = new Progress({ label: 'replaying blocks', total: loaded.height, unit: 'blocks', ...progressOpts });
    let txs = 0;
    function* blocks(): Generator<FinalizedBlock> {
      for (let from = 1; from <= loaded.height; from += BATCH) {
        const batch = store.getBlocks(from, Math.min(BATCH, loaded.height - from + 1));
        if (batch.length === 0) throw new FastposError(ErrorCode.CORRUPT_DATA, `block ${from} is missing from the store (stored height ${loaded.height})`);
        for (const fb of batch) {
          txs += fb.block.txs.length;
          yield fb;
          progress.tick();
        }
      }
    }
    const r = replayChain(genesis, blocks());
    progress.finish();
    if (r.height !== loaded.height) throw new FastposError(ErrorCode.CORRUPT_DATA, `replay reached height ${r.height}, the store says ${loaded.height}`);
    const stored = WorldState.fromEntries(loaded.entries);
    if (stored.stateRoot !== r.stateRoot) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `the stored state (root ${stored.stateRoot}) is not the state the blocks lead to (root ${r.stateRoot})`);
    }
    return {
      ok: true,
      chainId: genesis.chainId,
      genesisHash: gh,
      height: r.height,
      latestHash: r.hashes.at(-1) ?? gh,
      stateRoot: r.stateRoot,
      blocks: r.hashes.length,
      txs,
      seconds: seconds(),
      mode: 'replay',
      earliestBlockHeight: 1,
      earliestHeaderHeight: 1,
    };
  } finally {
    await store.close();
  }
}

/** The audit of a store without every block (or the state) from genesis; see the module comment. */
function checkByHeaders(
  store: ChainStore,
  loaded: LoadedChain,
  genesis: Genesis,
  earliestBlock: number,
  earliestHeader: number,
  progressOpts: { quiet: boolean; stream?: ProgressStream },
): Omit<VerifyChainReport, 'seconds'> {
  const gh = genesisHash(genesis);
  const tip = loaded.height;
  const latest = loaded.latest;
  if (latest === null) throw new FastposError(ErrorCode.CORRUPT_DATA, `the store is at height ${tip} but holds no latest block`);
  const world = WorldState.fromEntries(loaded.entries);
  if (world.stateRoot !== latest.block.header.stateRoot) {
    throw new FastposError(ErrorCode.CORRUPT_DATA, `the stored state (root ${world.stateRoot}) is not the state block ${tip} names (root ${latest.block.header.stateRoot})`);
  }
  // The sets of every epoch are kept in the state; epoch 0's must be the genesis set.
  // Epoch 0's set comes from the validators and params alone: the accounts (maybe a million) are left out.
  const genesisSet = validatorSetForHeight(WorldState.fromEntries(genesisEntries({ ...genesis, accounts: [] })), 1, genesis.params);
  const storedSet0 = validatorSetForHeight(world, 1, genesis.params);
  if (storedSet0.hash !== genesisSet.hash) throw new FastposError(ErrorCode.CORRUPT_DATA, `the stored state's epoch 0 set (${storedSet0.hash}) is not the genesis set (${genesisSet.hash})`);
  const keyCache = new Map();
  const progress = new Progress({ label: 'checking headers', total: tip - earliestHeader + 1, unit: 'headers', ...progressOpts });
  let prevHash: string | null = earliestHeader === 1 ? gh : null;
  let prevHeight = earliestHeader - 1;
  let gaps = 0;
  for (let from = earliestHeader; from <= tip; ) {
    const headers = store.getHeaders(from, Math.min(BATCH, tip - from + 1));
    if (headers.length === 0) throw new FastposError(ErrorCode.CORRUPT_DATA, `the header of height ${from} is missing from the store (stored height ${tip})`);
    for (const h of headers) {
      const height = h.header.height;
      if (height <= prevHeight) throw new FastposError(ErrorCode.CORRUPT_DATA, `the store returned the header of height ${height} after ${prevHeight}`);
      // Below the kept header window only checkpoints (each epoch's first header) remain: no link across a gap, the certificate still holds.
      if (height !== prevHeight + 1) {
        gaps++;
        prevHash = null;
      }
      prevHeight = height;
      if (h.header.chainId !== genesis.chainId) throw new FastposError(ErrorCode.INVALID_BLOCK, `header ${height} is of chain ${h.header.chainId}`);
      if (blockHash(h.header) !== h.hash) throw new FastposError(ErrorCode.INVALID_BLOCK, `header ${height} does not hash to its stored hash ${h.hash}`);
      if (prevHash !== null && h.header.prevHash !== prevHash) throw new FastposError(ErrorCode.INVALID_BLOCK, `header ${height} links to ${h.header.prevHash}, not to block ${height - 1} (${prevHash})`);
      verifyCommit({ chainId: genesis.chainId, set: validatorSetForHeight(world, height, genesis.params), commit: h.commit, height, blockHash: h.hash, keyCache });
      prevHash = h.hash;
      progress.tick();
    }
    from = prevHeight + 1;
  }
  progress.finish();
  if (prevHash !== latest.hash) throw new FastposError(ErrorCode.CORRUPT_DATA, `the header chain ends at ${prevHash}, the latest block is ${latest.hash}`);
  // The whole blocks kept: bound to their certified headers, every tx signature good.
  let txs = 0;
  let blocks = 0;
  const bodies = new Progress({ label: 'checking blocks', total: tip - earliestBlock + 1, unit: 'blocks', ...progressOpts });
  for (let from = earliestBlock; from <= tip; from += BATCH) {
    const batch = store.getBlocks(from, Math.min(BATCH, tip - from + 1));
    if (batch.length === 0) throw new FastposError(ErrorCode.CORRUPT_DATA, `block ${from} is missing from the store (earliest whole block ${earliestBlock}, height ${tip})`);
    for (const fb of batch) {
      const height = fb.block.header.height;
      if (blockHash(fb.block.header) !== fb.hash) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${height} does not hash to its stored hash ${fb.hash}`);
      const [certified] = store.getHeaders(height, 1);
      if (certified === undefined || certified.hash !== fb.hash) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${height} (${fb.hash}) is not the certified header of its height`);
      const ids = fb.block.txs.map((d) => d.id);
      if (txRoot(ids) !== fb.block.header.txRoot || ids.length !== fb.block.header.txCount) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${height}: its txs do not match the header's tx root`);
      if (fb.results.length !== ids.length) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${height}: ${fb.results.length} results for ${ids.length} txs`);
      fb.block.txs.forEach((d, i) => {
        if (!verifySignature(d.tx.pubKey, d.signBytes, d.tx.signature, keyCache)) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${height} tx ${i} (${d.id}): bad signature`);
      });
      txs += ids.length;
      blocks++;
      bodies.tick();
    }
  }
  bodies.finish();
  const pruned = earliestHeader === 1 ? `blocks 1-${earliestBlock - 1} are pruned (${gaps === 0 ? 'their headers are kept' : 'their headers are kept as checkpoints, each epoch\'s first'})` : `the store began from a state installed at height ${earliestHeader}`;
  return {
    ok: true,
    chainId: genesis.chainId,
    genesisHash: gh,
    height: tip,
    latestHash: latest.hash,
    stateRoot: world.stateRoot,
    blocks,
    txs,
    mode: 'headers',
    earliestBlockHeight: earliestBlock,
    earliestHeaderHeight: earliestHeader,
    checked: [
      `headers ${earliestHeader}-${tip}: hashes, links${earliestHeader === 1 ? ' from genesis' : ` (from height ${earliestHeader}; nothing below it is stored)`}${gaps === 0 ? '' : ` where consecutive (${gaps} gaps below the kept header window, where only each epoch's first header is kept)`}, certificates against each epoch's set`,
      `whole blocks ${earliestBlock}-${tip}: bound to their headers (tx root), tx signatures`,
      `stored state: hashes to block ${tip}'s state root; epoch 0's set is the genesis set`,
    ],
    notChecked: [
      `re-execution of blocks ${earliestBlock}-${tip} and of the state: ${pruned}, and the state before block ${earliestBlock} is not stored, so no block could be re-executed`,
    ],
  };
}
