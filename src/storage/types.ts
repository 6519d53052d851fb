import type { StateValue } from '../codec/state.js';
import type { TxFilter } from '../mempool/txFilter.js';
import type { EpochRewards, FinalizedBlock, ProductChallenge, ProductProof, Settlement, TxResult } from '../types/index.js';
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

/**
 * Durable chain storage. A block, its certificate, its txs with their results
 * and the state rows it changed become durable together in `commitBlock` or
 * not at all; after a crash `open` returns the last block that was committed.
 */
export interface ChainStore {
  /** The product index's lists and statistics. */
  readonly productReads: ProductReads;
  readonly backend: 'sqlite' | 'snapshot';
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
  /** Copies a consistent backup of the store into `dir` (which must not exist or be empty). */
  backup(dir: string): Promise<void>;
  /** Waits for a commit in flight, then releases files and threads. */
  close(): Promise<void>;
}
