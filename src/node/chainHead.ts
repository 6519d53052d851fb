/**
 * The one chain head a node's parts share: the finalized tip, the world state
 * after it, the validator records and the validator sets by height. Loaded
 * from the store (and checked) at start; moved only by `advance`, after a
 * block is durable.
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { KEY_PREFIX, encodeStateValue, type StateValue } from '../codec/state.js';
import type { BlockEnv, ChainTip, ExecutedBlock } from '../consensus/block.js';
import { verifyCommit } from '../consensus/commit.js';
import { validatorSetForHeight } from '../consensus/validatorSet.js';
import { ErrorCode, FastposError } from '../errors.js';
import { epochOf, readEpoch } from '../state/epochs.js';
import { genesisEntries, genesisEntryStream, genesisHash as computeGenesisHash } from '../state/genesis.js';
import { LtHash, ltElement } from '../state/ltHash.js';
import { getValidator } from '../state/staking.js';
import { WorldState } from '../state/worldState.js';
import type { ChainStore, DiskState } from '../storage/types.js';
import type { ChainParams, FinalizedBlock, Genesis, Validator, ValidatorSet } from '../types/index.js';
import { allValidators } from './stakingView.js';

/** What a committed block changed that the other parts care about. */
export interface Advance {
  /** Addresses whose accounts the block changed. */
  readonly touched: readonly string[];
  /** Whether the validator set of the next height differs from the previous height's. */
  readonly setChanged: boolean;
}

export class ChainHead {
  readonly genesis: Genesis;
  readonly genesisHash: string;
  /** Public keys parsed once, shared by every signature check of the node. */
  readonly keyCache = new Map<string, KeyObject>();
  private worldState!: WorldState;
  private tipValue!: ChainTip;
  private latestBlock: FinalizedBlock | null = null;
  private nextSet!: ValidatorSet;
  private records = new Map<string, Validator>();
  /** Sets of other epochs than the next height's, by epoch. */
  private readonly setCache = new Map<number, ValidatorSet>();

  constructor(
    genesis: Genesis,
    private readonly store: ChainStore,
  ) {
    this.genesis = genesis;
    this.genesisHash = computeGenesisHash(genesis);
  }

  get chainId(): string {
    return this.genesis.chainId;
  }
  get params(): ChainParams {
    return this.genesis.params;
  }
  get world(): WorldState {
    return this.worldState;
  }
  get tip(): ChainTip {
    return this.tipValue;
  }
  get height(): number {
    return this.tipValue.height;
  }
  get latest(): FinalizedBlock | null {
    return this.latestBlock;
  }
  /** The validator set of the next height. */
  get set(): ValidatorSet {
    return this.nextSet;
  }
  get validators(): ReadonlyMap<string, Validator> {
    return this.records;
  }

  /**
   * Opens the store: a new store gets the genesis state; an existing one must
   * hold this genesis, and its state commitment, latest block and certificate
   * are checked before anything is served. Returns a line to log.
   */
  load(): { message: string; fields: Record<string, unknown> } {
    const g = this.genesis;
    const disk = this.store.diskState;
    const loaded = disk === undefined ? this.store.open() : disk.openWithoutEntries();
    let line: { message: string; fields: Record<string, unknown> };
    if (loaded.genesisHash === null && disk !== undefined) {
      this.worldState = initDiskGenesis(disk, g, this.genesisHash);
      this.tipValue = { height: 0, hash: this.genesisHash, timestamp: g.genesisTime, commit: null };
      line = { message: 'initialized a new chain from genesis', fields: { chainId: g.chainId, genesisHash: this.genesisHash } };
    } else if (loaded.genesisHash === null) {
      this.worldState = WorldState.fromEntries(genesisEntries(g));
      const encoded = new Map<string, string>();
      for (const [k, v] of this.worldState.allEntries()) encoded.set(k, encodeStateValue(k, v));
      this.store.initGenesis(this.genesisHash, encoded, this.worldState.accumulatorBytes);
      this.tipValue = { height: 0, hash: this.genesisHash, timestamp: g.genesisTime, commit: null };
      line = { message: 'initialized a new chain from genesis', fields: { chainId: g.chainId, genesisHash: this.genesisHash } };
    } else {
      if (loaded.genesisHash !== this.genesisHash) {
        throw new FastposError(ErrorCode.INVALID_GENESIS, `the data dir holds a chain of genesis ${loaded.genesisHash}, but the configured genesis hashes to ${this.genesisHash}`);
      }
      // A disk-backed state was checked against the stored accumulator by the store as its rows streamed by.
      this.worldState = disk === undefined || loaded.accumulator === null ? WorldState.fromEntries(loaded.entries) : WorldState.fromSource(disk.stateSource(), loaded.accumulator);
      this.verifyLoaded(loaded.accumulator, loaded.latest);
      this.latestBlock = loaded.latest;
      this.tipValue =
        loaded.latest === null
          ? { height: 0, hash: this.genesisHash, timestamp: g.genesisTime, commit: null }
          : { height: loaded.height, hash: loaded.latest.hash, timestamp: loaded.latest.block.header.timestamp, commit: loaded.latest.commit };
      line = { message: 'loaded chain from store', fields: { height: this.tipValue.height, hash: this.tipValue.hash, entries: this.worldState.size } };
    }
    this.refresh(true);
    return line;
  }

  /** Checks what the store returned: state commitment, latest block and its certificate. */
  private verifyLoaded(accumulator: Buffer | null, latest: FinalizedBlock | null): void {
    const file = this.store.backend === 'sqlite' ? 'chain.sqlite' : 'state.json';
    if (accumulator !== null && !accumulator.equals(this.worldState.accumulatorBytes)) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the stored state commitment does not match the stored state rows`);
    }
    if (latest === null) return;
    if (latest.block.header.stateRoot !== this.worldState.stateRoot) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: state root ${this.worldState.stateRoot} does not match block ${latest.block.header.height} (${latest.block.header.stateRoot})`);
    }
    const set = validatorSetForHeight(this.worldState, latest.block.header.height, this.genesis.params);
    try {
      verifyCommit({ chainId: this.genesis.chainId, set, commit: latest.commit, height: latest.block.header.height, blockHash: latest.hash });
    } catch (e) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `the certificate of stored block ${latest.block.header.height} does not verify: ${(e as Error).message}`);
    }
  }

  /**
   * Moves the head to a state installed from a snapshot (already durable in
   * the store): the world state after `block`, which becomes the tip.
   */
  reset(world: WorldState, block: FinalizedBlock): void {
    this.worldState = world;
    this.latestBlock = block;
    this.tipValue = { height: block.block.header.height, hash: block.hash, timestamp: block.block.header.timestamp, commit: block.commit };
    this.setCache.clear();
    this.refresh(true);
  }

  /** Moves the head past a block that is durable now: applies its state changes and re-reads what they touched. */
  advance(fb: FinalizedBlock, executed: ExecutedBlock): Advance {
    const height = fb.block.header.height;
    this.worldState.apply(executed.diff);
    this.latestBlock = fb;
    this.tipValue = { height, hash: fb.hash, timestamp: fb.block.header.timestamp, commit: fb.commit };
    const touched: string[] = [];
    let recordsChanged = false;
    for (const key of executed.diff.changes.keys()) {
      if (key.startsWith(KEY_PREFIX.account)) touched.push(key.slice(KEY_PREFIX.account.length));
      else if (key.startsWith(KEY_PREFIX.validator)) recordsChanged = true;
    }
    const before = this.nextSet.hash;
    this.refresh(recordsChanged);
    return { touched, setChanged: this.nextSet.hash !== before };
  }

  /** Re-reads the validator records (when a block changed one) and the set of the next height. */
  private refresh(recordsChanged: boolean): void {
    if (recordsChanged) this.records = new Map(allValidators(this.worldState).map((v) => [v.id, v]));
    this.nextSet = validatorSetForHeight(this.worldState, this.tipValue.height + 1, this.genesis.params);
  }

  /** Whether the validator set of `height` is known here (every height up to the end of the next height's epoch). */
  knowsSetAt(height: number): boolean {
    return height >= 1 && readEpoch(this.worldState, epochOf(height, this.genesis.params)) !== undefined;
  }

  /**
   * The validator set of `height` (its epoch's set). Throws NOT_FOUND for a
   * height whose epoch's set is not written yet: callers that may meet one
   * ask `knowsSetAt` first.
   */
  setAt(height: number): ValidatorSet {
    const params = this.genesis.params;
    const epoch = epochOf(height, params);
    if (epoch === epochOf(this.tipValue.height + 1, params)) return this.nextSet;
    let set = this.setCache.get(epoch);
    if (set === undefined) {
      set = validatorSetForHeight(this.worldState, height, params);
      if (this.setCache.size >= 16) this.setCache.delete(this.setCache.keys().next().value as number);
      this.setCache.set(epoch, set);
    }
    return set;
  }

  /** What building or checking a block of the next height needs. */
  env(): BlockEnv {
    return { chainId: this.genesis.chainId, params: this.genesis.params, treasury: this.genesis.treasury, set: this.nextSet, validator: (id) => getValidator(this.worldState, id) };
  }

  /** A finalized block by height (the latest from memory). */
  block(height: number): FinalizedBlock | undefined {
    if (this.latestBlock !== null && height === this.latestBlock.block.header.height) return this.latestBlock;
    return this.store.getBlock(height);
  }
}

/**
 * A new chain on a disk-backed store: the genesis entries are encoded and
 * hashed once for the accumulator, then encoded again as they are written in
 * one transaction, so that the state is never held twice in memory.
 */
/** The genesis rows written and hashed in one pass over the genesis's entries. */
function initDiskGenesis(disk: DiskState, g: Genesis, genesisHash: string): WorldState {
  const acc = new LtHash();
  disk.initGenesisRows(genesisHash, hashedRows(genesisEntryStream(g), acc), () => acc.toBytes());
  return WorldState.fromSource(disk.stateSource(), acc.toBytes());
}

function* hashedRows(entries: Iterable<readonly [string, StateValue]>, acc: LtHash): IterableIterator<[string, string]> {
  for (const [k, v] of entries) {
    const json = encodeStateValue(k, v);
    acc.add(ltElement(k, json));
    yield [k, json];
  }
}
