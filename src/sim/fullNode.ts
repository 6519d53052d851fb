/**
 * One incarnation of a simulated node that runs the node's real parts:
 * `ChainHead` over a `MemoryChainStore`, `Mempool`, `EvidencePool`,
 * `Admission`, `ChainApp`, `PeerInbox`, `CatchUp` with its `SyncScheduler`,
 * and a `ConsensusDriver`, wired as `FastposNode` wires them (node/node.ts)
 * with a virtual clock and timers, a log into the run's trace and metrics
 * that count nothing. What outlives a crash (the disk, the guard's durable
 * record, the pending evidence) is the simulation's; an incarnation is
 * dropped when its node crashes.
 * @module
 */
import { ConsensusDriver, type DriverEvents, type SignGuard, type Transport } from '../consensus/driver.js';
import type { TimeoutParams } from '../consensus/engine.js';
import type { Signer } from '../crypto/ed25519.js';
import { FatalError } from '../errors.js';
import { Mempool, type MempoolOptions } from '../mempool/index.js';
import { Admission, type AdmissionResult } from '../node/admission.js';
import { ChainApp } from '../node/chainApp.js';
import { ChainHead, type Advance } from '../node/chainHead.js';
import type { Clock, Log, SignatureVerifier, Timers } from '../node/context.js';
import { EvidencePool } from '../node/evidencePool.js';
import { PeerInbox } from '../node/peerInbox.js';
import { CatchUp, SyncScheduler, type SyncSource } from '../node/sync.js';
import { installSnapshotState } from '../node/install.js';
import { SnapshotMaker } from '../node/snapshotMaker.js';
import { StateSync, type SnapshotSource } from '../node/stateSync.js';
import { SyncCoordinator } from '../node/syncCoordinator.js';
import { validatorSetForHeight } from '../consensus/validatorSet.js';
import { genesisEntries } from '../state/genesis.js';
import { WorldState } from '../state/worldState.js';
import { ErrorCode, FastposError } from '../errors.js';
import { MemoryChainStore, type MemoryDisk } from '../storage/memory.js';
import type { BlockCommit } from '../storage/types.js';
import type { DecodedTx, Evidence, FinalizedBlock, Genesis } from '../types/index.js';
import type { SnapshotWriter } from '../node/snapshotFiles.js';
import { MemoryChunkStaging } from './snapshots.js';
import { NO_METRICS } from './support.js';

/**
 * Snapshots and pruning (scenario `snapshot-join`): the store prunes, a
 * `SnapshotMaker` writes into the node's holder, and a `SyncCoordinator`
 * (auto mode) chooses between `StateSync` from `source` and catch-up.
 */
export interface FullNodeSnapshots {
  readonly pruneKeepBlocks: number;
  readonly everyBlocks: number;
  readonly chunkBytes: number;
  readonly minLag: number;
  readonly timeoutMs: number;
  /** Where a snapshot being taken is written (the node's disk); it is kept only if it finishes while `alive()`. */
  writer(alive: () => boolean): SnapshotWriter;
  readonly source: SnapshotSource;
  /** A snapshot's state is installed and consensus runs again above it. */
  installed(block: FinalizedBlock, stateRoot: string): void;
}

export interface FullNodeOptions {
  readonly minBlockIntervalMs: number;
  readonly idleBlockIntervalMs: number;
  readonly commitGatherMs: number;
  readonly timeouts: TimeoutParams;
  readonly repairMs: number;
  readonly mempool: MempoolOptions;
  /** Consensus messages per second accepted from one validator (0 = no limit). */
  readonly rateLimit: number;
}

export interface FullNodeEnv {
  readonly genesis: Genesis;
  readonly disk: MemoryDisk;
  readonly id: string;
  readonly signer: Signer;
  readonly clock: Clock;
  /** Timers of this incarnation (they die with it). */
  readonly timers: Timers;
  readonly log: Log;
  readonly verifier: SignatureVerifier;
  readonly guard: SignGuard;
  readonly transport: Transport;
  readonly syncSource: SyncSource;
  readonly random: () => number;
  readonly options: FullNodeOptions;
  /** The pending evidence the node kept before it crashed. */
  readonly savedEvidence: readonly Evidence[];
  saveEvidence(pending: readonly Evidence[]): void;
  /** Snapshots and pruning; absent: neither (every scenario but `snapshot-join`). */
  readonly snapshots?: FullNodeSnapshots | undefined;
  /** Sees a block commit before it is durable (the simulation's disk faults and checks). */
  beforeDurable(c: BlockCommit): void | Promise<void>;
  /** A block is durable and applied. */
  committed(fb: FinalizedBlock, advance: Advance): void;
  /** A tx entered the pool; `fromPeer` false: a client's, which the node gossips. */
  admitted(d: DecodedTx, json: unknown, fromPeer: boolean): void;
  /** The node stopped signing for good (a block or a guard record that could not be made durable). */
  fatal(e: FatalError): void;
  /** The driver's other events (evidence, refusals, dropped messages). */
  readonly events: Pick<DriverEvents, 'evidence' | 'refused' | 'error' | 'signed'>;
}

export class SimFullNode {
  readonly store: MemoryChainStore;
  readonly head: ChainHead;
  readonly mempool: Mempool;
  readonly evidence: EvidencePool;
  readonly admission: Admission;
  readonly app: ChainApp;
  readonly inbox: PeerInbox;
  readonly catchUp: CatchUp;
  readonly scheduler: SyncScheduler;
  readonly stateSync: StateSync | null = null;
  readonly coordinator: SyncCoordinator | null = null;
  private readonly maker: SnapshotMaker | null = null;
  private driverValue: ConsensusDriver | null = null;
  private failed = false;
  private stopped = false;

  constructor(private readonly env: FullNodeEnv) {
    const g = env.genesis;
    const ctx = { clock: env.clock, timers: env.timers, log: env.log, metrics: NO_METRICS };
    const snap = env.snapshots;
    this.store = new MemoryChainStore(env.disk, snap === undefined ? { beforeDurable: (c) => env.beforeDurable(c) } : { beforeDurable: (c) => env.beforeDurable(c), pruneKeepBlocks: snap.pruneKeepBlocks });
    this.head = new ChainHead(g, this.store);
    this.mempool = new Mempool(env.options.mempool, { chainId: g.chainId, params: g.params, feeRecipient: g.treasury });
    this.evidence = new EvidencePool({ chainId: g.chainId, params: g.params, log: env.log, save: (list) => env.saveEvidence(list) });
    this.admission = new Admission({
      ...ctx,
      head: this.head,
      store: this.store,
      mempool: this.mempool,
      verifier: env.verifier,
      open: () => !this.stopped,
      admitted: (d, json, fromPeer) => {
        this.app.txAdmitted();
        env.admitted(d, json, fromPeer);
      },
    });
    this.app = new ChainApp(
      {
        ...ctx,
        head: this.head,
        store: this.store,
        mempool: this.mempool,
        evidence: this.evidence,
        verifier: env.verifier,
        position: () => (!this.stopped && !this.failed && this.driverValue !== null ? { height: this.driverValue.currentHeight, round: this.driverValue.round } : null),
        committed: (fb, advance) => this.onCommitted(fb, advance),
        dropped: (r) => this.admission.dropped(r),
      },
      { minBlockIntervalMs: env.options.minBlockIntervalMs, idleBlockIntervalMs: env.options.idleBlockIntervalMs, commitGatherMs: env.options.commitGatherMs },
    );
    this.inbox = new PeerInbox({
      head: this.head,
      mempool: this.mempool,
      clock: env.clock,
      log: env.log,
      lastCommit: this.app.lastCommit,
      deliver: (m) => this.driverValue?.receive(m) ?? false,
      peerBehind: (height) => this.driverValue?.peerBehind(height),
      behind: (height) => this.scheduler.behind(height),
      rateLimit: env.options.rateLimit,
    });
    this.catchUp = new CatchUp({ head: this.head, app: this.app, driver: () => this.driverValue, log: env.log, timers: env.timers, clock: env.clock, random: env.random });
    this.scheduler = new SyncScheduler({
      clock: env.clock,
      timers: env.timers,
      height: () => this.head.height,
      hasPeers: () => env.syncSource.peers().length > 0,
      run: (minLead) => (this.coordinator === null ? this.sync(minLead) : this.coordinated(minLead)),
    });
    if (snap !== undefined) {
      if (snap.everyBlocks > 0) {
        this.maker = new SnapshotMaker({
          everyBlocks: snap.everyBlocks,
          chunkBytes: snap.chunkBytes,
          chainId: g.chainId,
          log: env.log,
          begin: () => snap.writer(() => !this.stopped),
          pause: () => Promise.resolve(),
          monotonic: () => env.clock.monotonic(),
        });
      }
      this.stateSync = new StateSync({
        chainId: g.chainId,
        genesisHash: this.head.genesisHash,
        params: g.params,
        genesisSet: validatorSetForHeight(WorldState.fromEntries(genesisEntries(g)), 1, g.params),
        log: env.log,
        clock: env.clock,
        staging: new MemoryChunkStaging(),
        install: (block, entries, accumulator) => this.installSnapshot(block, entries, accumulator),
        timeoutMs: snap.timeoutMs,
        parallel: 4,
        random: env.random,
      });
      this.coordinator = new SyncCoordinator({
        mode: 'auto',
        minLag: snap.minLag,
        height: () => this.head.height,
        stateSync: this.stateSync,
        snapshots: snap.source,
        blocks: (minLead) => this.sync(minLead),
        blockProgress: () => this.catchUp.progress,
        clock: env.clock,
        log: env.log,
      });
    }
  }

  get driver(): ConsensusDriver | null {
    return this.driverValue;
  }
  get height(): number {
    return this.head.height;
  }
  /** Whether consensus runs here (not stopped by a crash or a fatal error). */
  get participating(): boolean {
    return !this.stopped && !this.failed && this.driverValue !== null && this.driverValue.isRunning;
  }

  /** Loads and checks the chain from the disk, then starts consensus and catch-up (as `FastposNode.start`). */
  start(): void {
    const env = this.env;
    this.head.load();
    this.evidence.restore(env.savedEvidence, this.head.world, this.head.height + 1);
    this.app.started();
    this.startDriver();
    this.scheduler.start();
  }

  /** A new driver at the head's height + 1 (at start, and after a snapshot is installed). */
  private startDriver(): void {
    const env = this.env;
    const t = env.options.timeouts;
    // A proposer may wait up to idleBlockIntervalMs for txs: the others wait for it that much longer.
    const timeouts: TimeoutParams = { ...t, proposeMs: t.proposeMs + env.options.idleBlockIntervalMs };
    this.driverValue = new ConsensusDriver({ chainId: env.genesis.chainId, local: [{ id: env.id, signer: env.signer }], timeouts, repairMs: env.options.repairMs }, this.app, env.transport, env.guard, env.timers, {
      ...env.events,
      behind: (height) => this.scheduler.behind(height),
      evidence: (first, second) => {
        this.evidence.record(first, second);
        env.events.evidence?.(first, second);
      },
      error: (e) => {
        if (e instanceof FatalError) this.fail(e);
        else env.events.error?.(e);
      },
    });
    this.driverValue.start(this.head.height + 1);
  }

  /**
   * As `FastposNode.installSnapshot`: consensus stops, the store and head
   * move to the snapshot (`installSnapshotState`), evidence and the pool are
   * rechecked against the new state, and consensus starts above it.
   */
  private async installSnapshot(block: FinalizedBlock, entries: Iterable<readonly [string, string]>, accumulator: Buffer): Promise<void> {
    const height = block.block.header.height;
    if (this.stopped || this.failed) throw new FastposError(ErrorCode.NOT_READY, 'node is not running');
    if (height <= this.head.height) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `snapshot height ${height} is not above this node's height ${this.head.height}`);
    this.driverValue?.stop();
    this.driverValue = null;
    await this.app.idle();
    if (this.stopped || this.failed) throw new FastposError(ErrorCode.NOT_READY, 'node is not running');
    try {
      await installSnapshotState({ store: this.store, head: this.head }, block, entries, accumulator);
    } catch (e) {
      const fatal = e instanceof FatalError ? e : new FatalError(`installing the snapshot state failed: ${(e as Error).message}`);
      this.fail(fatal);
      throw fatal;
    }
    this.evidence.prune(this.head.world, height + 1);
    const dropped = this.mempool.update({ height, now: this.env.clock.now(), included: [], touched: this.mempool.senderAddresses(), state: this.head.world });
    for (const r of dropped) this.admission.dropped(r);
    this.inbox.advanced();
    this.env.log.info({ height, hash: block.hash, entries: this.head.world.size }, 'chain head moved to the installed snapshot');
    this.startDriver();
    this.env.snapshots?.installed(block, this.head.world.stateRoot);
  }

  /** A sync round through the coordinator (snapshot or blocks); a fatal error stops the node, any other failure is logged. */
  private async coordinated(minLead: number): Promise<number> {
    if (this.stopped || this.failed) return 0;
    try {
      return await this.coordinator!.run(minLead);
    } catch (e) {
      if (e instanceof FatalError) this.fail(e);
      else this.env.log.warn({ err: e }, 'sync from peers failed');
      return 0;
    }
  }

  /** The process dies: nothing more runs, a block waiting to become durable never lands. */
  crash(): void {
    this.stopped = true;
    this.driverValue?.stop();
    this.scheduler.close();
    this.store.crash();
  }

  /** A consensus envelope from a peer (POST /p2p/message); throws FastposError to refuse it. */
  receiveEnvelope(json: unknown): void {
    if (this.stopped || this.failed) return;
    this.inbox.receive(json);
  }

  /** A client's tx (POST /tx). */
  async submit(json: unknown): Promise<AdmissionResult> {
    const [r] = await this.admission.admit([json]);
    return r!;
  }

  /** Txs a peer gossiped (POST /p2p/txs). */
  receiveTxs(jsons: readonly unknown[]): Promise<AdmissionResult[]> {
    return this.admission.admit(jsons, { fromPeer: true });
  }

  /** What GET /sync/status answers. */
  syncStatus(): { height: number; genesisHash: string } {
    return { height: this.head.height, genesisHash: this.head.genesisHash };
  }

  /** What GET /sync/blocks answers: stored wire JSON of blocks from `from`. */
  blocksJson(from: number, limit: number): string[] {
    return this.store.getBlocksJson(from, Math.min(limit, Math.max(0, this.head.height - from + 1)));
  }

  /** As `FastposNode.syncFromPeers`: a fatal error stops the node, any other failure is logged. */
  private async sync(minLead: number): Promise<number> {
    if (this.stopped || this.failed) return 0;
    try {
      return await this.catchUp.run(this.env.syncSource, minLead);
    } catch (e) {
      if (e instanceof FatalError) this.fail(e);
      else this.env.log.warn({ err: e }, 'sync from peers failed');
      return 0;
    }
  }

  /** As `FastposNode.fatal`: nothing more is signed or announced. */
  private fail(e: FatalError): void {
    if (this.failed || this.stopped) return;
    this.failed = true;
    this.driverValue?.stop();
    this.scheduler.close();
    this.env.log.fatal({ err: e }, 'stopping consensus: a record could not be made durable');
    this.env.fatal(e);
  }

  /** As `FastposNode.onCommitted`: evidence, the pool and the inbox move past the block. */
  private onCommitted(fb: FinalizedBlock, advance: Advance): void {
    const height = fb.block.header.height;
    this.evidence.prune(this.head.world, height + 1);
    const ids = fb.block.txs.map((d) => d.id);
    const dropped = this.mempool.update({ height, now: this.env.clock.now(), included: ids, touched: advance.touched, state: this.head.world });
    for (const r of dropped) this.admission.dropped(r);
    this.admission.finalized(ids);
    this.inbox.advanced();
    this.env.committed(fb, advance);
    this.maker?.committed(fb, () => this.head.world.allEntries());
  }
}
