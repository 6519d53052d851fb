/**
 * Wires snapshot sync into a running node (called by `runNode`): the
 * snapshot files in the data dir, the maker that takes one every
 * `snapshotEveryBlocks`, the state sync client over the transport, the
 * coordinator that chooses between snapshot and blocks, and the sync gauges.
 * @module
 */
import type { Logger } from 'pino';
import type { NodeConfig } from '../config/index.js';
import { validatorSetFromEntries } from '../consensus/validatorSet.js';
import { epochKey } from '../codec/state.js';
import type { Metrics } from '../metrics/index.js';
import type { HttpTransport } from '../p2p/httpTransport.js';
import { genesisEntryStream } from '../state/genesis.js';
import type { EpochRecord, FinalizedBlock, Genesis, ValidatorSet } from '../types/index.js';
import type { FastposNode } from './node.js';
import { DiskChunkStaging, SnapshotFiles } from './snapshotFiles.js';
import { SnapshotMaker } from './snapshotMaker.js';
import { StateSync, type SnapshotSource } from './stateSync.js';
import type { SyncSource } from './sync.js';
import { SyncCoordinator, type SyncProgressView } from './syncCoordinator.js';

export interface StateSyncWiring {
  readonly snapshots: SnapshotFiles;
  readonly coordinator: SyncCoordinator;
  close(): void;
}

export function wireStateSync(w: {
  readonly config: NodeConfig;
  readonly genesis: Genesis;
  readonly node: FastposNode;
  readonly transport: HttpTransport;
  /** The block sync source (catch-up by blocks). */
  readonly blocks: SyncSource;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly random: () => number;
}): StateSyncWiring {
  const { config, genesis, node, transport, logger, metrics } = w;
  const snapshots = new SnapshotFiles(config.dataDir, config.snapshotKeep, (message) => logger.warn(message));
  snapshots.open();
  const maker = new SnapshotMaker({
    everyBlocks: config.snapshotEveryBlocks,
    chunkBytes: config.snapshotChunkBytes,
    chainId: genesis.chainId,
    log: logger,
    begin: (height) => snapshots.begin(height),
    pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
    monotonic: () => performance.now(),
    taken: (_height, _entries, seconds) => {
      metrics.snapshotsTaken.inc();
      metrics.snapshotSeconds.set(seconds);
    },
  });
  const disk = node.store.diskState;
  node.on('finalized', (fb: FinalizedBlock) => (disk === undefined ? maker.committed(fb, () => node.stateSnapshot().entries) : maker.committedRows(fb, () => disk.walkState())));
  const source: SnapshotSource = {
    peers: () => transport.syncPeers(),
    status: (peer) => transport.syncStatus(peer),
    snapshots: (peer) => transport.syncSnapshots(peer),
    manifest: (peer, height) => transport.syncManifest(peer, height),
    chunk: (peer, height, index, bytes) => transport.syncChunk(peer, height, index, bytes),
    headers: (peer, from, limit) => transport.syncHeaders(peer, from, limit),
    epoch: (peer, epoch) => transport.syncEpoch(peer, epoch),
    penalize: (peer, reason) => w.blocks.penalize?.(peer, reason),
    served: (peer) => transport.served(peer),
  };
  const staging = new DiskChunkStaging(config.dataDir);
  // Chunks of an attempt cut short by a stop are not resumed: the next attempt may pick another snapshot.
  staging.clear();
  let genesisSet: ValidatorSet | undefined;
  const stateSync = new StateSync({
    chainId: genesis.chainId,
    genesisHash: node.genesisHash,
    params: genesis.params,
    // The genesis entries are not hashed: only epoch 0's set is read from them, and only when a snapshot is checked.
    genesisSet: () => (genesisSet ??= validatorSetFromEntries(epochZero(genesis).validators)),
    trust: config.syncTrustHeight > 0 && config.syncTrustHash !== undefined ? { height: config.syncTrustHeight, hash: config.syncTrustHash } : undefined,
    log: logger,
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    staging,
    install: (block, entries, accumulator) => node.installSnapshot(block, entries, accumulator),
    timeoutMs: config.snapshotSyncTimeoutMs,
    random: w.random,
  });
  node.alsoSyncing(() => stateSync.progress !== null);
  const coordinator = new SyncCoordinator({
    mode: config.syncMode,
    minLag: config.snapshotSyncMinLag,
    height: () => node.height,
    stateSync,
    snapshots: source,
    blocks: (minLead) => node.syncFromPeers(w.blocks, minLead),
    blockProgress: () => node.blockSyncProgress,
    clock: { now: () => Date.now() },
    log: logger,
  });
  const gauges = setInterval(() => observeSync(metrics, coordinator.progress()), 1000);
  gauges.unref();
  return { snapshots, coordinator, close: () => clearInterval(gauges) };
}

/** Sync gauges from the sync in progress (all zero when none). */
function observeSync(metrics: Metrics, p: SyncProgressView | null): void {
  for (const mode of ['snapshot', 'blocks'] as const) metrics.syncing.set({ mode }, p?.mode === mode ? 1 : 0);
  metrics.syncTargetHeight.set(p?.targetHeight ?? 0);
  metrics.syncProgress.set(p === null || p.total <= 0 ? 0 : Math.min(1, p.current / p.total));
  metrics.syncRate.set(p?.rate ?? 0);
  metrics.syncEtaSeconds.set(p?.etaSeconds ?? -1);
}

/** The genesis record of epoch 0's validator set. */
function epochZero(genesis: Genesis): EpochRecord {
  // Entries made one at a time: a genesis of many accounts is not built whole to find one record.
  for (const [key, value] of genesisEntryStream(genesis)) if (key === epochKey(0)) return value as EpochRecord;
  throw new Error('the genesis state has no epoch 0 record');
}
