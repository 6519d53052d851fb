import type { StateValue } from '../codec/state.js';
import type { StateSource } from '../state/stateSource.js';
import type { TxFilter } from '../mempool/txFilter.js';
import type { BlockHeader, Commit, EpochRewards, FinalizedBlock, ProductChallenge, ProductProof, Settlement, TxResult } from '../types/index.js';
import type {
  AttestationQuery,
  AttestationRecord,
  AttestationStats,
  ChallengeQuery,
  ChallengeStats,
  ProductList,
  ProductStatsQuery,
  ProofQuery,
  RewardQuery,
  SettlementQuery,
  SettlementStats,
} from './productIndex.js';

/** Where a finalized tx is: block, position and result. */
export interface TxLocation {
  readonly height: number;
  readonly index: number;
  readonly blockHash: string;
  readonly result: TxResult;
}

/** One finalized tx as the read APIs list it. */
export interface FinalizedTxRecord extends TxLocation {
  readonly id: string;
  /** Wire JSON of the tx. */
  readonly tx: Record<string, unknown>;
}

/**
 * A query of finalized txs. The filters of `TxFilter` (from, to, kind,
 * validatorId, minFee, maxFee: see mempool/txFilter.ts, shared with the
 * pending query) and the ones below are combined with AND.
 */
export interface TxQuery extends TxFilter {
  /** Txs that involve the address as sender or recipient. */
  readonly address?: string;
  readonly success?: boolean;
  readonly fromHeight?: number;
  readonly toHeight?: number;
  /** In a block whose timestamp (ms) is at or after this. */
  readonly fromTime?: number;
  /** In a block whose timestamp (ms) is at or before this. */
  readonly toTime?: number;
  readonly offset: number;
  readonly limit: number;
  /** Newest first (default) or oldest first, by (height, index). */
  readonly order: 'asc' | 'desc';
}

/** What a store holds after `open`: enough to resume the chain. */
export interface LoadedChain {
  /** Genesis hash the data dir was created with (null for a new, empty store). */
  readonly genesisHash: string | null;
  readonly height: number;
  /** Full state at `height`. */
  readonly entries: [string, StateValue][];
  /** LtHash accumulator bytes at `height` as stored (checked against a recomputation by the node). */
  readonly accumulator: Buffer | null;
  /** The block at `height` (null at height 0). */
  readonly latest: FinalizedBlock | null;
}

/** Everything one finalized block changes, written atomically. */
export interface BlockCommit {
  readonly block: FinalizedBlock;
  /** Changed state entries: key -> canonical JSON of the new value. */
  /** New canonical JSON per changed key; null deletes the key. */
  readonly changes: ReadonlyMap<string, string | null>;
  /** LtHash accumulator bytes after the block. */
  readonly accumulator: Buffer;
}

/**
 * What is kept of every block, pruned or not: its header, hash and commit
 * certificate. Enough for a light client to follow the chain (hash links and
 * certificates) and for snapshot sync to check a snapshot's height.
 */
export interface CertifiedHeader {
  readonly header: BlockHeader;
  readonly hash: string;
  readonly commit: Commit;
}

/**
 * A whole chain state to put into a store in place of what it holds (state
 * sync from a snapshot, migration between backends, restore). Installed
 * atomically: after a crash the store holds either its old content or all of
 * this.
 */
export interface StateInstall {
  readonly genesisHash: string;
  /** The finalized block at the state's height, stored whole: it becomes the tip. */
  readonly block: FinalizedBlock;
  /** Every state entry at that height: key and canonical JSON of the value, in any order (read once, may be lazy). */
  readonly entries: Iterable<readonly [string, string]>;
  /** LtHash accumulator bytes of `entries` (its digest is `block.block.header.stateRoot`). */
  readonly accumulator: Buffer;
  /** Headers and certificates of heights below the first whole block, ascending (migration keeps them; state sync has none). */
  readonly headers?: Iterable<CertifiedHeader>;
  /** Whole blocks below `block`, ascending and contiguous up to `block`'s height - 1 (migration); none for state sync. */
  readonly blocks?: Iterable<FinalizedBlock>;
}

/**
 * The product index's reads (productIndex.ts): lists of the finalized state's
 * product records with filters and pages, and statistics from running
 * totals. The index is fed by each committed block's state changes.
 */
export interface ProductReads {
  queryProofs(q: ProofQuery): ProductList<ProductProof>;
  queryAttestations(q: AttestationQuery): ProductList<AttestationRecord>;
  queryChallenges(q: ChallengeQuery): ProductList<ProductChallenge>;
  querySettlements(q: SettlementQuery): ProductList<Settlement>;
  queryRewards(q: RewardQuery): ProductList<EpochRewards>;
  attestationStats(q: ProductStatsQuery): AttestationStats;
  challengeStats(): ChallengeStats;
  settlementStats(q: ProductStatsQuery): SettlementStats;
}

/** State rows at one committed height, read on their own connection; `close` when done (or on a break). */
export interface StateWalk {
  readonly height: number;
  /** Key and canonical JSON of each entry, in ascending key order. */
  readonly rows: IterableIterator<[string, string]>;
  close(): void;
}

/**
 * What a backend that keeps the state on disk offers (SQLite): a node opens
 * it without reading the whole state into memory and reads entries through
 * a source with a bounded cache.
 */
export interface DiskState {
  /** As `open`, but `entries` is empty; the damage check (accumulator = LtHash of the rows) streams the rows. */
  openWithoutEntries(): LoadedChain;
  /**
   * The state at the head's height, read from the rows. Reads of keys a
   * commit changes keep giving their previous values until the state applies
   * that commit; an install resets it. Only while the store is open.
   */
  stateSource(): StateSource;
  /** `initGenesis` from rows read once, in order of arrival, without holding them (`accumulator` may be computed once they are written). */
  initGenesisRows(genesisHash: string, entries: Iterable<readonly [string, string]>, accumulator: Buffer | (() => Buffer)): void;
  /** The state rows at the committed height, consistent however long the walk takes. */
  walkState(): StateWalk;
}

/**
 * Durable chain storage. A block, its certificate, its txs with their results
 * and the state rows it changed become durable together in `commitBlock` or
 * not at all; after a crash `open` returns the last block that was committed.
 */
export interface ChainStore {
  /** The product index's lists and statistics. */
  readonly productReads: ProductReads;
  readonly backend: 'sqlite' | 'snapshot';
  /** Present when the backend keeps the state on disk (see DiskState); the others return every entry from `open`. */
  readonly diskState?: DiskState;
  /** Opens or creates the store; throws FastposError CORRUPT_DATA naming the file when data is damaged. */
  open(): LoadedChain;
  /** Records the genesis of a new store with its state (height 0). */
  initGenesis(genesisHash: string, entries: ReadonlyMap<string, string>, accumulator: Buffer): void;
  /** Resolves once the block is durable; one commit at a time. */
  commitBlock(c: BlockCommit): Promise<void>;
  getBlock(height: number): FinalizedBlock | undefined;
  /** Blocks from `from` upward, at most `limit`. */
  getBlocks(from: number, limit: number): FinalizedBlock[];
  /**
   * Stored wire JSON of blocks from `from` upward, at most `limit`, and no
   * more than `maxChars` characters in all except that the first block is
   * always included (served by the API as is).
   */
  getBlocksJson(from: number, limit: number, maxChars?: number): string[];
  getTx(id: string): FinalizedTxRecord | undefined;
  queryTxs(q: TxQuery): { total: number; items: FinalizedTxRecord[] };
  /**
   * Lowest height whose whole block (txs, results, tx index rows) is stored:
   * 1 for a full history, higher after pruning or a state install; the tip's
   * height + 1 when no block is stored (a new chain at height 0).
   */
  earliestBlockHeight(): number;
  /** Lowest height whose header and certificate are stored (1 unless the store began from a state install). */
  earliestHeaderHeight(): number;
  /**
   * The kept headers with certificates at heights from `from` upward, at
   * most `limit`, ascending: every height of the kept header window and of
   * the whole blocks, and below them the checkpoints (`headerKeepBlocks`;
   * without it every header is kept, pruned heights included).
   */
  getHeaders(from: number, limit: number): CertifiedHeader[];
  /**
   * The state entries at the committed height: key and canonical JSON of the
   * value, in ascending key order (UTF-16 code units, as canonical JSON sorts).
   */
  stateEntries(): IterableIterator<[string, string]>;
  /**
   * What the store holds at its committed height, as `open` returned it and
   * kept current by commits and installs (not while a commit is in flight):
   * genesis hash (null for a new store), height, accumulator bytes.
   */
  committed(): { readonly genesisHash: string | null; readonly height: number; readonly accumulator: Buffer | null };
  /** Replaces everything the store holds by `s`, atomically (see StateInstall). The store must be open. */
  installState(s: StateInstall): Promise<void>;
  /** Copies a consistent backup of the store into `dir` (which must not exist or be empty). */
  backup(dir: string): Promise<void>;
  /** Waits for a commit in flight, then releases files and threads. */
  close(): Promise<void>;
}
