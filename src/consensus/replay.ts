import { verifySignature } from '../crypto/ed25519.js';
import { ErrorCode, FastposError } from '../errors.js';
import { genesisEntries, genesisHash } from '../state/genesis.js';
import { WorldState } from '../state/worldState.js';
import { getValidator } from '../state/staking.js';
import type { FinalizedBlock, Genesis } from '../types/index.js';
import { validateBlock, type BlockEnv, type ChainTip } from './block.js';
import { verifyCommit } from './commit.js';
import { validatorSetForHeight } from './validatorSet.js';

export interface ReplayResult {
  readonly height: number;
  readonly stateRoot: string;
  /** Hash of every replayed block, in order. */
  readonly hashes: string[];
  readonly state: WorldState;
}

/**
 * Rebuilds the chain from genesis and a sequence of finalized blocks, checking
 * everything a node that trusts nothing would: every tx signature, every
 * header field by re-execution (so every state root and block hash), and every
 * certificate. Deterministic: the same inputs give the same roots on any machine.
 * Each block is executed under the rules of its height (the schedule of rule
 * changes is state, see state/upgrades.ts), so a history made across a rule
 * change replays on a release that knows it; a block under a rule change this
 * release does not know is INVALID_BLOCK, naming it.
 */
export function replayChain(genesis: Genesis, blocks: Iterable<FinalizedBlock>): ReplayResult {
  const state = WorldState.fromEntries(genesisEntries(genesis));
  const params = genesis.params;
  const envAt = (height: number): BlockEnv => ({
    chainId: genesis.chainId,
    params,
    treasury: genesis.treasury,
    set: validatorSetForHeight(state, height, params),
    validator: (id) => getValidator(state, id),
  });
  let tip: ChainTip = { height: 0, hash: genesisHash(genesis), timestamp: genesis.genesisTime, commit: null };
  const hashes: string[] = [];
  const keyCache = new Map();
  for (const fb of blocks) {
    const h = fb.block.header.height;
    fb.block.txs.forEach((d, i) => {
      if (!verifySignature(d.tx.pubKey, d.signBytes, d.tx.signature, keyCache)) {
        throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${h} tx ${i} (${d.id}): bad signature`);
      }
    });
    const env = envAt(h);
    const prevSet = h > 1 ? validatorSetForHeight(state, h - 1, params) : null;
    const executed = validateBlock({ env, state, tip, block: fb.block });
    // The certificate carried by this block was signed by the set of the previous height (another epoch's at a boundary).
    if (fb.block.lastCommit !== null && prevSet !== null) {
      verifyCommit({ chainId: genesis.chainId, set: prevSet, commit: fb.block.lastCommit, height: h - 1, blockHash: tip.hash, keyCache });
    }
    if (executed.hash !== fb.hash) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${h}: hash ${fb.hash} but replay gives ${executed.hash}`);
    verifyCommit({ chainId: genesis.chainId, set: env.set, commit: fb.commit, height: h, blockHash: fb.hash, keyCache });
    executed.results.forEach((r, i) => {
      const stored = fb.results[i];
      if (stored === undefined || stored.success !== r.success || stored.error !== r.error) {
        throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${h} tx ${i}: stored result differs from replay`);
      }
    });
    state.apply(executed.diff);
    hashes.push(fb.hash);
    tip = { height: h, hash: fb.hash, timestamp: fb.block.header.timestamp, commit: fb.commit };
  }
  return { height: tip.height, stateRoot: state.stateRoot, hashes, state };
}
