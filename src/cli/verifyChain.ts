/**
 * `fastpos verify-chain`: an offline audit of a data dir. Replays every stored
 * block from genesis with `replayChain` (every tx signature, every header field
 * by re-execution, every certificate against its epoch's validator set) and
 * checks that the stored state is the state the replay reaches. Run it on a
 * stopped node or on a backup copy.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeConfig } from '../config/index.js';
import { replayChain } from '../consensus/replay.js';
import { ErrorCode, FastposError } from '../errors.js';
import { genesisHash } from '../state/genesis.js';
import { WorldState } from '../state/worldState.js';
import { createChainStore } from '../storage/index.js';
import type { FinalizedBlock } from '../types/index.js';
import { loadGenesis } from '../node/run.js';

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
}

const BATCH = 200;

export async function verifyChain(config: Pick<NodeConfig, 'dataDir' | 'genesisFile' | 'stateBackend'>): Promise<VerifyChainReport> {
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
    let txs = 0;
    function* blocks(): Generator<FinalizedBlock> {
      for (let from = 1; from <= loaded.height; from += BATCH) {
        const batch = store.getBlocks(from, Math.min(BATCH, loaded.height - from + 1));
        if (batch.length === 0) throw new FastposError(ErrorCode.CORRUPT_DATA, `block ${from} is missing from the store (stored height ${loaded.height})`);
        for (const fb of batch) {
          txs += fb.block.txs.length;
          yield fb;
        }
      }
    }
    const r = replayChain(genesis, blocks());
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
      seconds: Math.round((performance.now() - t0) / 10) / 100,
    };
  } finally {
    await store.close();
  }
}
