import { verifySignature } from '../crypto/ed25519.js';
import { ErrorCode, FastposError } from '../errors.js';
import { genesisEntries, genesisHash } from '../state/genesis.js';
import { WorldState } from '../state/worldState.js';
import type { FinalizedBlock, Genesis, Validator } from '../types/index.js';
import { KEY_PREFIX } from '../codec/state.js';
import { validateBlock, type BlockEnv, type ChainTip } from './block.js';
import { verifyCommit } from './commit.js';
import { buildValidatorSet } from './validatorSet.js';

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
 */
export function replayChain(genesis: Genesis, blocks: Iterable<FinalizedBlock>): ReplayResult {
  const state = WorldState.fromEntries(genesisEntries(genesis));
  const validators = (): Validator[] => {
    const out: Validator[] = [];
    for (const [k, v] of state.allEntries()) if (k.startsWith(KEY_PREFIX.validator)) out.push(v as Validator);
    return out;
  };
  let byId = new Map<string, Validator>();
  let set = buildValidatorSet([]);
  let env!: BlockEnv;
  const refresh = (): void => {
    byId = new Map(validators().map((v) => [v.id, v]));
    set = buildValidatorSet(byId.values());
    env = { chainId: genesis.chainId, params: genesis.params, treasury: genesis.treasury, set, validator: (id) => byId.get(id) };
  };
  refresh();
  let tip: ChainTip = { height: 0, hash: genesisHash(genesis), timestamp: genesis.genesisTime, commit: null };
  const hashes: string[] = [];
  /** The set that signed the previous block (its certificate rides in this one). */
  let lastSet = set;
  const keyCache = new Map();
  for (const fb of blocks) {
    const h = fb.block.header.height;
    fb.block.txs.forEach((d, i) => {
      if (!verifySignature(d.tx.pubKey, d.signBytes, d.tx.signature, keyCache)) {
        throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${h} tx ${i} (${d.id}): bad signature`);
      }
    });
    const executed = validateBlock({ env, state, tip, block: fb.block });
    if (executed.hash !== fb.hash) throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${h}: hash ${fb.hash} but replay gives ${executed.hash}`);
    verifyCommit({ chainId: genesis.chainId, set, commit: fb.commit, height: h, blockHash: fb.hash, keyCache });
    if (fb.block.lastCommit !== null) {
      verifyCommit({ chainId: genesis.chainId, set: lastSet, commit: fb.block.lastCommit, height: h - 1, blockHash: tip.hash, keyCache });
    }
    executed.results.forEach((r, i) => {
      const stored = fb.results[i];
      if (stored === undefined || stored.success !== r.success || stored.error !== r.error) {
        throw new FastposError(ErrorCode.INVALID_BLOCK, `block ${h} tx ${i}: stored result differs from replay`);
      }
    });
    const previousSet = set;
    state.apply(executed.diff);
    // The set of the next height comes from the state after this block.
    if ([...executed.diff.changes.keys()].some((k) => k.startsWith(KEY_PREFIX.validator))) refresh();
    lastSet = previousSet;
    hashes.push(fb.hash);
    tip = { height: h, hash: fb.hash, timestamp: fb.block.header.timestamp, commit: fb.commit };
  }
  return { height: tip.height, stateRoot: state.stateRoot, hashes, state };
}
