/**
 * The node: lifecycle, wiring and reads. Its parts share one chain head
 * (`ChainHead`) rather than the node: admission (`Admission`), the consensus
 * application (`ChainApp`), the peer inbox (`PeerInbox`), the evidence pool
 * (`EvidencePool`), catch-up (`CatchUp`) and governance signing
 * (`GovernanceSigner`). The API and the CLI talk to a node only through the
 * public methods of `FastposNode`.
 * @module
 */
import type { Logger } from 'pino';
import { finalizedBlockJson } from '../codec/block.js';
import type { StateValue } from '../codec/state.js';
import { ConsensusDriver, type SignGuard, type Transport } from '../consensus/driver.js';
import { DEFAULT_TIMEOUTS, type TimeoutParams } from '../consensus/engine.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { ErrorCode, FastposError, FatalError, assert } from '../errors.js';
import { Mempool } from '../mempool/index.js';
import type { Metrics } from '../metrics/index.js';
import { createMetrics } from '../metrics/index.js';
import { getAccount } from '../state/execute.js';
import { epochOf } from '../state/epochs.js';
import { usesDevKeys } from '../state/genesis.js';
import { UpgradeHaltError, unknownUpgradeDue } from '../state/upgrades.js';
import type { StateReader } from '../state/worldState.js';
import { installSnapshotState } from './install.js';
import type { ChainStore, FinalizedTxRecord, TxQuery } from '../storage/types.js';
import { hasQuorum } from '../consensus/validatorSet.js';
import { VerifiedTxs } from './verifiedTxs.js';
import type { Account, ChainParams, Evidence, FinalizedBlock, Genesis, Validator, ValidatorSet } from '../types/index.js';
import { Admission, type AdmissionResult, type TxStatus } from './admission.js';
import { describeHeldValidators, type HeldValidatorStatus } from './blockWatch.js';
import { ChainApp } from './chainApp.js';
import { ChainHead, type Advance } from './chainHead.js';
import type { Clock, SignatureVerifier, Timers } from './context.js';
import { loadPendingEvidence, PendingEvidenceFile } from './evidenceFile.js';
import { EvidencePool, type EvidenceRecord } from './evidencePool.js';
import { TypedEvents } from './events.js';
import { GovernanceSigner, type GovernanceTxBody } from './governance.js';
import { PeerInbox } from './peerInbox.js';
import { observeFinalized } from './phaseClock.js';
import { createFileSignGuard } from './signGuardFile.js';
import { CatchUp, type SyncSource } from './sync.js';
import { createVerifier } from './verifier.js';
import { isDevChainId, realClock, realTimers, type NodeDeps, type NodeEvents, type NodeOptions } from './options.js';

export type { Clock, Timers } from './context.js';
export { isDevChainId, type NodeDeps, type NodeEvents, type NodeOptions } from './options.js';
export type { TxStatus } from './admission.js';
export type { HeldValidatorStatus } from './blockWatch.js';
export type { EvidenceRecord } from './evidencePool.js';
export type { GovernanceTxBody } from './governance.js';
export type { SyncSource } from './sync.js';

export class FastposNode extends TypedEvents<NodeEvents> {
  readonly genesis: Genesis;
  readonly genesisHash: string;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly nodeId: string;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly verifier: SignatureVerifier;
  private readonly ownsVerifier: boolean;
  private readonly signers = new Map<string, Signer>();
  private readonly transport: Transport;
  private readonly guard: SignGuard;
  private readonly head: ChainHead;
  private readonly app: ChainApp;
  private readonly inbox: PeerInbox;
  private readonly evidence: EvidencePool;
  private readonly admission: Admission;
  private readonly governance: GovernanceSigner;
  private readonly catchUp: CatchUp;
  private driver: ConsensusDriver | null = null;
  private snapshotSyncing: () => boolean = () => false;
  private paused = false;
  private started = false;
  private stopped = false;
  private failed = false;

  constructor(
    private readonly opts: NodeOptions,
    deps: NodeDeps,
  ) {
    super();
    this.genesis = opts.genesis;
    this.store = deps.store;
    this.log = deps.logger;
    this.clock = deps.clock ?? realClock;
    this.timers = deps.timers ?? realTimers;
    this.metrics = deps.metrics ?? createMetrics({ defaultMetrics: false });
    this.ownsVerifier = deps.verifier === undefined;
    this.verifier = deps.verifier ?? createVerifier(opts.verifyWorkers);
    this.transport = deps.transport ?? { broadcast: () => undefined, hasPeers: () => false };
    this.guard = deps.guard ?? createFileSignGuard(opts.dataDir);
    this.head = new ChainHead(opts.genesis, deps.store);
    this.genesisHash = this.head.genesisHash;
    this.mempool = new Mempool(opts.mempool, { chainId: opts.genesis.chainId, params: opts.genesis.params, feeRecipient: opts.genesis.treasury });
    for (const seed of opts.validatorKeys) {
      const s = createSigner(seed);
      this.signers.set(addressFromPubKey(s.publicKey), s);
    }
    this.nodeId = opts.nodeId ?? [...this.signers.keys()][0] ?? this.genesisHash.slice(0, 40);
    const ctx = { clock: this.clock, timers: this.timers, log: this.log, metrics: this.metrics };
    const evidenceFile = deps.saveEvidence === undefined ? new PendingEvidenceFile(opts.dataDir, this.log) : null;
    this.evidence = new EvidencePool({
      chainId: opts.genesis.chainId,
      params: opts.genesis.params,
      log: this.log,
      save: deps.saveEvidence ?? ((list) => evidenceFile!.save(list)),
      seen: (type) => this.metrics.evidence.inc({ type }),
    });
    const verified = new VerifiedTxs();
    this.admission = new Admission({
      ...ctx,
      head: this.head,
      store: deps.store,
      mempool: this.mempool,
      verifier: this.verifier,
      verified,
      open: () => !this.stopped,
      admitted: (d, json, fromPeer) => {
        this.app.txAdmitted();
        this.emit('txAdmitted', d, json, fromPeer);
      },
    });
    this.app = new ChainApp(
      {
        ...ctx,
        head: this.head,
        store: deps.store,
        mempool: this.mempool,
        evidence: this.evidence,
        verifier: this.verifier,
        verified,
        position: () => (this.isStarted && !this.paused && this.driver !== null ? { height: this.driver.currentHeight, round: this.driver.round } : null),
        soloQuorum: (height) => this.holdsQuorumAt(height),
        committed: (fb, advance) => this.onCommitted(fb, advance),
        dropped: (r) => this.admission.dropped(r),
      },
      {
        minBlockIntervalMs: opts.minBlockIntervalMs,
        ...(opts.soloBlockIntervalMs === undefined ? {} : { soloBlockIntervalMs: opts.soloBlockIntervalMs }),
        ...(opts.blockIntervalPerKtps === undefined ? {} : { blockIntervalPerKtps: opts.blockIntervalPerKtps }),
        ...(opts.maxBlockIntervalMs === undefined ? {} : { maxBlockIntervalMs: opts.maxBlockIntervalMs }),
        idleBlockIntervalMs: opts.idleBlockIntervalMs,
        commitGatherMs: opts.commitGatherMs ?? 50,
      },
    );
    this.inbox = new PeerInbox({
      head: this.head,
      mempool: this.mempool,
      clock: this.clock,
      log: this.log,
      lastCommit: this.app.lastCommit,
      deliver: (m) => this.driver?.receive(m) ?? false,
      peerBehind: (height) => this.driver?.peerBehind(height),
      behind: (height) => this.emit('behind', height),
      rateLimit: opts.p2pRateLimit ?? 0,
    });
    this.governance = new GovernanceSigner({ head: this.head, mempool: this.mempool, key: opts.governanceKey, submit: (tx) => this.submitTx(tx) });
    this.catchUp = new CatchUp({ head: this.head, app: this.app, driver: () => this.driver, log: this.log, timers: this.timers, clock: this.clock, random: deps.random ?? Math.random });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Opens the store, loads and verifies the chain, and starts producing blocks. */
  start(): void {
    assert(!this.started, 'node started twice');
    const g = this.genesis;
    if (!isDevChainId(g.chainId) && usesDevKeys(g) && !this.opts.allowDevKeys) {
      throw new FastposError(
        ErrorCode.INVALID_GENESIS,
        `chain "${g.chainId}" is not a devnet but its genesis funds or seats the public development keys; use a devnet chainId or --allow-dev-keys`,
      );
    }
    const loaded = this.head.load();
    this.log.info(loaded.fields, loaded.message);
    // Evidence seen or given before a restart, still valid at the next height.
    this.evidence.restore(loadPendingEvidence(this.opts.dataDir, this.log), this.head.world, this.head.height + 1);
    this.metrics.finalizedHeight.set(this.head.height);
    this.started = true;
    this.app.started();
    const power = this.heldPower();
    if (!this.canFinalizeAlone() && power > 0n) {
      this.log.info({ held: power.toString(), total: this.head.set.totalPower.toString() }, 'this node holds less than 2/3 of voting power: blocks are finalized with its peers');
    }
    this.startConsensus();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.driver?.stop();
    await this.app.idle();
    if (this.ownsVerifier) await this.verifier.close();
    await this.store.close();
  }

  /** Stops consensus; resolves once a block being committed (if any) is durable. */
  async pause(): Promise<void> {
    this.paused = true;
    this.log.warn('block production paused by an operator');
    this.driver?.stop();
    this.driver = null;
    await this.app.idle();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.log.warn('block production resumed by an operator');
    this.startConsensus();
  }

  private startConsensus(): void {
    this.app.phases.begin(this.head.height + 1);
    if (!this.isStarted || this.paused || this.failed) return;
    if (this.haltBeforeUnknownUpgrade()) return;
    const base = this.opts.timeouts ?? DEFAULT_TIMEOUTS;
    // A proposer may wait up to idleBlockIntervalMs for txs: the others wait for it that much longer.
    const timeouts: TimeoutParams = { ...base, proposeMs: base.proposeMs + this.opts.idleBlockIntervalMs };
    const local = [...this.signers].map(([id, signer]) => ({ id, signer }));
    this.driver = new ConsensusDriver({ chainId: this.genesis.chainId, local, timeouts }, this.app, this.transport, this.guard, this.timers, {
      signed: (e) => {
        if (e.type === 'proposal') this.metrics.proposals.inc({ validator: e.validatorId });
        else if (e.type !== 'finalize') {
          this.metrics.votes.inc({ validator: e.validatorId, type: e.type });
          this.app.phases.reach(e.height, e.type);
          if (e.type === 'precommit') this.app.lastCommit.note(e.height, { round: e.round, validatorId: e.validatorId, blockHash: e.payload.blockHash as string | null, signature: e.signature });
        }
      },
      behind: (height) => this.emit('behind', height),
      evidence: (first, second) => this.evidence.record(first, second),
      refused: (step, height, round) => this.log.warn({ step, height, round }, 'double-sign guard refused to sign again at this position'),
      error: (e) => {
        if (e instanceof FatalError) this.fatal(e);
        else this.log.warn({ err: e }, 'consensus message dropped');
      },
    });
    this.driver.start(this.head.height + 1);
  }

  /** A block or a guard record could not be made durable: nothing more is signed or announced. */
  private fatal(e: FatalError): void {
    if (this.failed) return;
    this.failed = true;
    this.driver?.stop();
    this.log.fatal({ err: e }, e instanceof UpgradeHaltError ? 'stopping consensus before a rule change this release does not know' : 'stopping consensus: a record could not be made durable');
    this.emit('fatal', e);
  }

  /**
   * The next height follows a rule change this release does not know (a later
   * release's, scheduled in the state): stop before executing, proposing or
   * voting on any block of it. Nothing of that height is stored, so a release
   * that knows the rule resumes from this data dir. True when it stopped.
   */
  private haltBeforeUnknownUpgrade(): boolean {
    const due = unknownUpgradeDue(this.head.world, this.head.height + 1);
    if (due === null) return false;
    const e = new UpgradeHaltError(due);
    this.log.error({ upgrade: due.name, height: due.height, finalizedHeight: this.head.height }, e.message);
    this.fatal(e);
    return true;
  }

  /** After a block is durable and the head moved past it: the pool, evidence, metrics and listeners. */
  private onCommitted(fb: FinalizedBlock, advance: Advance): void {
    const height = fb.block.header.height;
    if (advance.setChanged) {
      const set = this.head.set;
      this.log.info({ height: height + 1, epoch: epochOf(height + 1, this.genesis.params), validators: set.validators.length, totalPower: set.totalPower.toString() }, 'validator set changed at epoch boundary');
    }
    this.evidence.prune(this.head.world, height + 1);
    const ids = fb.block.txs.map((d) => d.id);
    const dropped = this.mempool.update({ height, now: this.clock.now(), included: ids, touched: advance.touched, state: this.head.world });
    for (const r of dropped) this.admission.dropped(r);
    observeFinalized(this.metrics, fb);
    this.admission.finalized(ids);
    this.inbox.advanced();
    this.emit('finalized', fb);
    this.haltBeforeUnknownUpgrade();
  }

  // ---------------------------------------------------------------- reads

  get height(): number {
    return this.head.height;
  }
  get latestBlock(): FinalizedBlock | null {
    return this.head.latest;
  }
  get validatorSet(): ValidatorSet {
    return this.head.set;
  }
  get isPaused(): boolean {
    return this.paused;
  }
  get isStarted(): boolean {
    return this.started && !this.stopped;
  }
  /** Whether this node is catching up: fetching blocks from a peer ahead, or syncing a state snapshot (see `alsoSyncing`). */
  get isSyncing(): boolean {
    return this.catchUp.isSyncing || this.snapshotSyncing();
  }

  /** Tells the node how to know that a state snapshot is being synced (the wiring's StateSync). */
  alsoSyncing(snapshotSyncing: () => boolean): void {
    this.snapshotSyncing = snapshotSyncing;
  }
  get stateRoot(): string {
    return this.head.world.stateRoot;
  }
  /** Read access to the finalized state (for the API's read views). */
  get state(): StateReader {
    return this.head.world;
  }
  get params(): ChainParams {
    return this.genesis.params;
  }
  /** Epoch of the next height (the epoch whose set is deciding blocks now). */
  get currentEpoch(): number {
    return epochOf(this.head.height + 1, this.genesis.params);
  }
  /** Where consensus stands: height, round and step. */
  get consensusState(): { height: number; round: number; step: string } {
    return { height: this.driver?.currentHeight ?? this.head.height + 1, round: this.driver?.round ?? 0, step: this.driver?.step ?? 'propose' };
  }
  /** Whether consensus is running here (started, not paused, not stopped by a failure). */
  get isParticipating(): boolean {
    return this.isStarted && !this.paused && !this.failed && this.driver !== null;
  }

  /** The validator set of `height` (throws NOT_FOUND for an epoch not known yet). */
  setAt(height: number): ValidatorSet {
    return this.head.setAt(height);
  }

  account(address: string): Account & { pendingNonce: number } {
    const a = getAccount(this.head.world, address);
    return { ...a, pendingNonce: this.mempool.pendingNonce(address, this.head.world) };
  }

  validatorList(): Validator[] {
    return [...this.head.validators.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  getBlock(height: number): FinalizedBlock | undefined {
    return this.head.block(height);
  }

  /** Wire JSON text of a block for the API. */
  blockJson(fb: FinalizedBlock): string {
    return finalizedBlockJson(fb);
  }

  txStatus(id: string): TxStatus | undefined {
    return this.admission.status(id);
  }

  queryFinalized(q: TxQuery): { total: number; items: FinalizedTxRecord[] } {
    return this.store.queryTxs(q);
  }

  /** The whole state at the latest height, for GET /sync/snapshot (its LtHash recomputed from the entries must give stateRoot). */
  stateSnapshot(): { height: number; blockHash: string; stateRoot: string; entries: [string, StateValue][] } {
    return { height: this.head.height, blockHash: this.head.tip.hash, stateRoot: this.head.world.stateRoot, entries: [...this.head.world.allEntries()] };
  }

  /** Whether the keys this node holds have a quorum of the set deciding `height` (cached per set). */
  private holdsQuorumAt(height: number): boolean {
    const set = this.head.setAt(height);
    if (this.soloCache?.set !== set) {
      let power = 0n;
      for (const v of set.validators) if (this.signers.has(v.id)) power += v.votingPower;
      this.soloCache = { set, solo: hasQuorum(power, set.totalPower) };
    }
    return this.soloCache.solo;
  }

  private soloCache: { set: ValidatorSet; solo: boolean } | undefined;

  heldValidatorIds(): string[] {
    return [...this.signers.keys()].sort();
  }

  /** Every validator record (a new map whenever a block changed one: comparing the object tells). */
  get validatorRecords(): ReadonlyMap<string, Validator> {
    return this.head.validators;
  }

  /** The standing of each validator key this node holds in the set deciding the next height. */
  heldValidators(): HeldValidatorStatus[] {
    return describeHeldValidators(this.heldValidatorIds(), this.head.set, this.head.validators);
  }

  /** Whether a block was finalized recently enough (a stalled network is not "finalizing"). */
  isFinalizing(): boolean {
    const base = this.opts.timeouts ?? DEFAULT_TIMEOUTS;
    const window = Math.max(10_000, 3 * (this.opts.idleBlockIntervalMs + base.proposeMs + base.prevoteMs + base.precommitMs));
    return this.isParticipating && this.clock.now() - this.app.lastBlockAt <= window;
  }

  /** Whether the keys held here carry at least 2/3 of voting power. */
  canFinalizeAlone(): boolean {
    const set = this.head.set;
    return 3n * this.heldPower() >= 2n * set.totalPower && set.totalPower > 0n;
  }

  private heldPower(): bigint {
    return this.head.set.validators.filter((v) => this.signers.has(v.id)).reduce((s, v) => s + v.votingPower, 0n);
  }

  /** Equivocation evidence seen by this node (two different signed messages of one validator for one position). */
  evidenceList(): EvidenceRecord[] {
    return this.evidence.seenList();
  }

  /** Pending evidence this node would put in its next block. */
  pendingEvidenceList(): Evidence[] {
    return this.evidence.pendingList();
  }

  // ---------------------------------------------------------------- inputs

  /** Admission of a client's wire tx; throws FastposError for every refusal. */
  async submitTx(json: unknown, opts: { idempotent?: boolean; fromPeer?: boolean } = {}): Promise<TxStatus> {
    this.requireStarted();
    const [r] = await this.admission.admit([json], opts);
    if (!r!.ok) throw r!.error;
    return r!.status;
  }

  /**
   * A client's batch (POST /txs): admitted like as many `submitTx` calls, the
   * signatures checked together; one result per tx, in order.
   */
  async submitTxs(list: readonly unknown[], opts: { idempotent?: boolean } = {}): Promise<AdmissionResult[]> {
    this.requireStarted();
    return this.admission.admit(list, opts);
  }

  /** Txs gossiped by a peer (POST /p2p/txs): admitted like submissions, known ones skipped. */
  async handleTxBatch(txs: readonly unknown[]): Promise<{ accepted: number; known: number; rejected: number }> {
    this.requireStarted();
    return this.admission.admitFromPeer(txs);
  }

  /** A consensus envelope from a peer (POST /p2p/message); throws FastposError to refuse it. */
  async handleEnvelope(json: unknown): Promise<void> {
    this.requireStarted();
    this.inbox.receive(json);
  }

  /** Catches up from peers that are at least `minLead` heights ahead; returns the number of blocks applied. */
  async syncFromPeers(source: SyncSource, minLead = 1): Promise<number> {
    if (!this.isStarted) return 0;
    try {
      return await this.catchUp.run(source, minLead);
    } catch (e) {
      if (e instanceof FatalError) this.fatal(e);
      else this.log.warn({ err: e }, 'sync from peers failed');
      return 0;
    }
  }

  /**
   * Installs a state synced from a snapshot (its chunks checked against the
   * certified state root): consensus stops, the store replaces its content
   * atomically, the head moves to the snapshot's block, pending txs are
   * checked again against the new state, and consensus resumes at the next
   * height.
   */
  async installSnapshot(block: FinalizedBlock, entries: Iterable<readonly [string, string]>, accumulator: Buffer): Promise<void> {
    this.requireStarted();
    const height = block.block.header.height;
    if (height <= this.head.height) throw new FastposError(ErrorCode.INVALID_SNAPSHOT, `snapshot height ${height} is not above this node's height ${this.head.height}`);
    this.driver?.stop();
    this.driver = null;
    await this.app.idle();
    try {
      await installSnapshotState({ store: this.store, head: this.head }, block, entries, accumulator);
    } catch (e) {
      const fatal = e instanceof FatalError ? e : new FatalError(`installing the snapshot state failed: ${(e as Error).message}`);
      this.fatal(fatal);
      throw fatal;
    }
    this.evidence.prune(this.head.world, height + 1);
    const dropped = this.mempool.update({ height, now: this.clock.now(), included: [], touched: this.mempool.senderAddresses(), state: this.head.world });
    for (const r of dropped) this.admission.dropped(r);
    this.metrics.finalizedHeight.set(height);
    this.inbox.advanced();
    this.log.info({ height, hash: block.hash, entries: this.head.world.size }, 'chain head moved to the installed snapshot');
    this.startConsensus();
  }

  /** Where catch-up by blocks stands: the height it fetches up to, since when and from which height (null when not fetching). */
  get blockSyncProgress(): { target: number; from: number; startedAt: number } | null {
    return this.catchUp.progress;
  }

  /** Adds evidence (from an operator or a peer) to what this node proposes; returns its problem if it is not valid now. */
  offerEvidence(e: Evidence): { code: ErrorCode; message: string } | null {
    return this.evidence.offer(e, this.head.world, this.head.height + 1);
  }

  /** Sets a validator's work weight through a governance tx signed with this node's governance key. */
  setWorkWeight(validatorId: string, workWeight: number): Promise<TxStatus> {
    return this.submitGovernanceTx({ kind: 'validator_set_work_weight', payload: { validatorId, workWeight } });
  }

  /** Signs a governance tx (work weight, slash, jail) with this node's governance key and submits it. */
  submitGovernanceTx(t: GovernanceTxBody): Promise<TxStatus> {
    return this.governance.submit(t);
  }

  private requireStarted(): void {
    if (!this.isStarted) throw new FastposError(ErrorCode.NOT_READY, 'node is not running');
  }
}

