/**
 * Durable chain storage: the `ChainStore` interface (types.ts) and its two
 * backends, SQLite (the default, for any chain size) and snapshot files (small
 * chains, backups). `createChainStore` picks one; the data dir is created if
 * it does not exist.
 * @module
 */
import fs from 'node:fs';
import type { ChainStoreOptions } from './common.js';
import { SnapshotChainStore } from './snapshot/snapshotStore.js';
import { SqliteChainStore } from './sqlite/sqliteStore.js';
import type { ChainStore } from './types.js';

export type { BlockCommit, ChainStore, FinalizedTxRecord, LoadedChain, ProductReads, TxLocation, TxQuery } from './types.js';
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
export { SnapshotChainStore } from './snapshot/snapshotStore.js';
export { STATE_FILE } from './snapshot/stateFile.js';
export { BLOCK_LOG_FILE } from './snapshot/blockLog.js';
export { SCHEMA_VERSION } from './sqlite/migrations.js';

export type StorageBackend = 'sqlite' | 'snapshot';

export function createChainStore(backend: StorageBackend, dataDir: string, options: ChainStoreOptions = {}): ChainStore {
  fs.mkdirSync(dataDir, { recursive: true });
  switch (backend) {
    case 'sqlite':
      return new SqliteChainStore(dataDir, options);
    case 'snapshot':
      return new SnapshotChainStore(dataDir, options);
  }
}
