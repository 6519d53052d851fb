/**
 * Durable chain storage: the `ChainStore` interface (types.ts) and its two
 * backends, SQLite (the default, for any chain size) and snapshot files (small
 * chains, backups). `createChainStore` picks one; the data dir is created if
 * it does not exist.
 * @module
 */
import fs from 'node:fs';
import { ErrorCode, FastposError } from '../errors.js';
import type { ChainParams } from '../types/index.js';
import type { ChainStoreOptions } from './common.js';
import { SnapshotChainStore } from './snapshot/snapshotStore.js';
import { SqliteChainStore } from './sqlite/sqliteStore.js';
import type { ChainStore } from './types.js';

export type { BlockCommit, CertifiedHeader, ChainStore, FinalizedTxRecord, LoadedChain, ProductReads, StateInstall, TxLocation, TxQuery } from './types.js';
export type {
  AttestationQuery,
  AttestationRecord,
  AttestationStats,
  AttestationStatus,
  ChallengeQuery,
  ChallengeStats,
  ProductList,
  ProductStatsQuery,
  ProofQuery,
  RewardQuery,
  SettlementQuery,
  SettlementStats,
  SettlementTotals,
} from './productIndex.js';
export type { ChainStoreOptions } from './common.js';
export { SqliteChainStore, SQLITE_FILE } from './sqlite/sqliteStore.js';
export { readSqliteTip, type StoreTip } from './sqlite/tip.js';
export { SnapshotChainStore } from './snapshot/snapshotStore.js';
export { STATE_FILE } from './snapshot/stateFile.js';
export { BLOCK_LOG_FILE } from './snapshot/blockLog.js';
export { HEADER_LOG_FILE } from './snapshot/headerLog.js';
export { copyChain, type CopyProgress, type CopyResult } from './migrate.js';
export { SCHEMA_VERSION } from './sqlite/migrations.js';

export type StorageBackend = 'sqlite' | 'snapshot';

/**
 * Creates a store of `backend` in `dataDir`. With `params` (the chain's
 * genesis parameters), a `pruneKeepBlocks` below the floor is refused
 * first (`checkPruneKeepBlocks`).
 */
export function createChainStore(
  backend: StorageBackend,
  dataDir: string,
  options: ChainStoreOptions & { readonly params?: Pick<ChainParams, 'evidenceMaxAgeBlocks'> } = {},
): ChainStore {
  if (options.params !== undefined) checkPruneKeepBlocks(options.pruneKeepBlocks ?? 0, options.params);
  fs.mkdirSync(dataDir, { recursive: true });
  switch (backend) {
    case 'sqlite':
      return new SqliteChainStore(dataDir, options);
    case 'snapshot':
      return new SnapshotChainStore(dataDir, options);
  }
}

/**
 * The smallest `pruneKeepBlocks` (other than 0, keep all) a node may run
 * with: max(100, evidenceMaxAgeBlocks). Evidence of double signing is valid
 * for evidenceMaxAgeBlocks and is checked against the blocks it names, and a
 * peer that fell behind catches up from the blocks the others still keep;
 * 100 blocks is the least headroom for that catch-up on a chain with a short
 * evidence window.
 */
export function pruneFloor(params: Pick<ChainParams, 'evidenceMaxAgeBlocks'>): number {
  return Math.max(100, params.evidenceMaxAgeBlocks);
}

/** Throws INVALID_CONFIG for a `pruneKeepBlocks` between 1 and the floor. */
export function checkPruneKeepBlocks(pruneKeepBlocks: number, params: Pick<ChainParams, 'evidenceMaxAgeBlocks'>): void {
  const floor = pruneFloor(params);
  if (pruneKeepBlocks > 0 && pruneKeepBlocks < floor) {
    throw new FastposError(
      ErrorCode.INVALID_CONFIG,
      `pruneKeepBlocks is ${pruneKeepBlocks}: keep at least ${floor} blocks (max(100, the genesis evidenceMaxAgeBlocks ${params.evidenceMaxAgeBlocks}): evidence and peers catching up need recent blocks), or 0 to keep every block`,
    );
  }
}
