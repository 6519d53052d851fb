/**
 * The node: the one place that wires the pure parts (codec, state, consensus,
 * mempool) to the outside world (store, clock, timers, signature workers,
 * metrics, logs). The API and the CLI talk to a node only through the public
 * methods of `FastposNode`.
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { finalizedBlockJson } from '../codec/block.js';
import { KEY_PREFIX, encodeStateValue, type StateValue } from '../codec/state.js';
import { allValidators } from './stakingView.js';
import { decodeTx, encodeTx } from '../codec/tx.js';
import { buildBlock, validateBlock, type BlockEnv, type ChainTip, type ExecutedBlock } from '../consensus/block.js';
import { verifyCommit } from '../consensus/commit.js';
import { ConsensusDriver, type ConsensusApp, type DecodedPayload, type SignGuard, type Transport } from '../consensus/driver.js';
import { DEFAULT_TIMEOUTS, type TimeoutParams } from '../consensus/engine.js';
import { selectProposer } from '../consensus/proposer.js';
import { decodeEnvelope, decodeFinalizePayload, decodeProposalPayload, decodeVotePayload, envelopeSignBytes, type Envelope } from '../codec/envelope.js';
import { validatorSetForHeight } from '../consensus/validatorSet.js';
import { createSigner, verifySignature, type Signer } from '../crypto/ed25519.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { ErrorCode, FastposError, assert } from '../errors.js';
import { Mempool, type DroppedRecord, type MempoolOptions } from '../mempool/index.js';
import type { Metrics } from '../metrics/index.js';
import { createMetrics } from '../metrics/index.js';
import { getAccount, type TxContext } from '../state/execute.js';
import { epochOf } from '../state/epochs.js';
import { checkEvidence, selectValidEvidence, type EvidenceContext } from '../state/evidence.js';
import { getValidator } from '../state/staking.js';
import { genesisEntries, genesisHash as computeGenesisHash, usesDevKeys } from '../state/genesis.js';
import { WorldState, type StateReader } from '../state/worldState.js';
import type { ChainStore, FinalizedTxRecord, TxQuery } from '../storage/types.js';
import type { Account, Block, ChainParams, Commit, DecodedTx, Evidence, UnsignedTx, EvidenceMessageType, FinalizedBlock, Genesis, SignedMessage, Validator, ValidatorSet } from '../types/index.js';
import { createFileSignGuard } from './signGuardFile.js';
import { PendingEvidenceFile, loadPendingEvidence } from './evidenceFile.js';
import { createVerifier, type SignatureVerifier } from './verifier.js';
import { signTx } from '../client/sign.js';

export interface Clock {
  now(): number;
}
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface NodeOptions {
  readonly genesis: Genesis;
  /** Private seeds (hex) of the validator keys this node signs with. */
  readonly validatorKeys: readonly string[];
  /** Private seed of a governance account, for admin-initiated governance txs. */
  readonly governanceKey?: string | undefined;
  readonly mempool: MempoolOptions;
  readonly minBlockIntervalMs: number;
  readonly idleBlockIntervalMs: number;
  /** Consensus round timeouts; the propose timeout is extended by idleBlockIntervalMs (a proposer may wait that long for txs). */
  readonly timeouts?: TimeoutParams;
  /** Where the double-sign guard record lives (a node that signs needs one). */
  readonly dataDir: string;
  readonly verifyWorkers: number;
  readonly allowDevKeys: boolean;
  readonly nodeId?: string;
  /** Consensus messages per second accepted from one validator (0 = no limit). */
  readonly p2pRateLimit?: number;
}

export interface NodeDeps {
  readonly store: ChainStore;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly metrics?: Metrics;
  readonly verifier?: SignatureVerifier;
  /** Sends consensus messages to peers (none: a node that holds 2/3 of power alone). */
  readonly transport?: Transport;
  readonly guard?: SignGuard;
}

export type TxStatus =
  | { id: string; status: 'pending'; tx: Record<string, unknown> }
  | { id: string; status: 'finalized'; height: number; index: number; blockHash: string; success: boolean; error?: string; tx: Record<string, unknown> }
  | { id: string; status: 'dropped'; error: string; message: string; height: number; tx: Record<string, unknown> };

/** Chain ids on which the public development keys are expected. */
/** Where a node fetches finalized blocks when it is behind. */
export interface SyncSource {
  peers(): string[];
  status(peer: string): Promise<{ height: number; genesisHash: string }>;
  blocks(peer: string, from: number, limit: number): Promise<FinalizedBlock[]>;
}

export interface EvidenceRecord {
  readonly type: string;
  readonly height: number;
  readonly round: number;
  readonly validatorId: string;
  readonly first: Envelope;
  readonly second: Envelope;
}

const MAX_EVIDENCE = 1_000;
const MAX_PROPOSAL_EVIDENCE = 16;
/** A proposed block with at most this many txs this node has not checked yet checks them on the event loop (about 5 ms at most). */
const INLINE_BLOCK_SIGNATURES = 32;

function toSignedMessage(e: Envelope): SignedMessage {
  return { type: e.type as EvidenceMessageType, chainId: e.chainId, height: e.height, round: e.round, validatorId: e.validatorId, payload: e.payload, signature: e.signature };
}

/** The body of a governance tx the node signs for an operator. */
export type GovernanceTxBody =
  | { readonly kind: 'validator_set_work_weight'; readonly payload: { readonly validatorId: string; readonly workWeight: number } }
  | { readonly kind: 'validator_slash'; readonly payload: { readonly validatorId: string; readonly fractionBps: number } | { readonly evidence: Evidence } }
  | { readonly kind: 'validator_jail'; readonly payload: { readonly validatorId: string; readonly jailBlocks: number } };

export function isDevChainId(chainId: string): boolean {
  return /(^|[-_.])(devnet|localnet)([-_.]|$)/.test(chainId);
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class FastposNode extends EventEmitter {
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
  private world!: WorldState;
  private set!: ValidatorSet;
  private validators = new Map<string, Validator>();
  private tip!: ChainTip;
  private latest: FinalizedBlock | null = null;
  private paused = false;
  private started = false;
  private stopped = false;
  /** The block being made durable, if any (one at a time). */
  private inFlight: Promise<FinalizedBlock> | null = null;
  private readonly keyCache = new Map<string, import('node:crypto').KeyObject>();
  private lastBlockAt = 0;
  private driver: ConsensusDriver | null = null;
  private readonly transport: Transport;
  private readonly guard: SignGuard;
  /** Blocks executed while checking or building them, by hash, for the height in progress. */
  private readonly executed = new Map<string, ExecutedBlock>();
  private readonly evidence = new Map<string, EvidenceRecord>();
  /** Evidence not yet on chain, offered to the blocks this node proposes. */
  private readonly pendingEvidence = new Map<string, Evidence>();
  private readonly evidenceFile: PendingEvidenceFile;
  /** Validator sets of past epochs (by epoch), read from the state's epoch records. */
  private readonly setCache = new Map<number, ValidatorSet>();
  /** Admission time of pending txs, for the finality latency metric. */
  private readonly admittedAt = new Map<string, number>();

  constructor(
    private readonly opts: NodeOptions,
    deps: NodeDeps,
  ) {
    super();
    this.genesis = opts.genesis;
    this.genesisHash = computeGenesisHash(opts.genesis);
    this.store = deps.store;
    this.log = deps.logger;
    this.clock = deps.clock ?? { now: () => Date.now() };
    this.timers = deps.timers ?? realTimers;
    this.metrics = deps.metrics ?? createMetrics({ defaultMetrics: false });
    this.ownsVerifier = deps.verifier === undefined;
    this.transport = deps.transport ?? { broadcast: () => undefined, hasPeers: () => false };
    this.guard = deps.guard ?? createFileSignGuard(opts.dataDir);
    this.evidenceFile = new PendingEvidenceFile(opts.dataDir, this.log);
    this.verifier = deps.verifier ?? createVerifier(opts.verifyWorkers);
    const ctx: TxContext = { chainId: opts.genesis.chainId, params: opts.genesis.params, feeRecipient: opts.genesis.treasury };
    this.mempool = new Mempool(opts.mempool, ctx);
    for (const seed of opts.validatorKeys) {
      const s = createSigner(seed);
      this.signers.set(addressFromPubKey(s.publicKey), s);
    }
    this.nodeId = opts.nodeId ?? [...this.signers.keys()][0] ?? this.genesisHash.slice(0, 40);
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
    const loaded = this.store.open();
    if (loaded.genesisHash === null) {
      this.world = WorldState.fromEntries(genesisEntries(g));
      const encoded = new Map<string, string>();
      for (const [k, v] of this.world.allEntries()) encoded.set(k, encodeStateValue(k, v));
      this.store.initGenesis(this.genesisHash, encoded, this.world.accumulatorBytes);
      this.tip = { height: 0, hash: this.genesisHash, timestamp: g.genesisTime, commit: null };
      this.log.info({ chainId: g.chainId, genesisHash: this.genesisHash }, 'initialized a new chain from genesis');
    } else {
      if (loaded.genesisHash !== this.genesisHash) {
        throw new FastposError(
          ErrorCode.INVALID_GENESIS,
          `the data dir holds a chain of genesis ${loaded.genesisHash}, but the configured genesis hashes to ${this.genesisHash}`,
        );
      }
      this.world = WorldState.fromEntries(loaded.entries);
      this.verifyLoaded(loaded.accumulator, loaded.latest);
      this.latest = loaded.latest;
      this.tip = loaded.latest === null
        ? { height: 0, hash: this.genesisHash, timestamp: g.genesisTime, commit: null }
        : { height: loaded.height, hash: loaded.latest.hash, timestamp: loaded.latest.block.header.timestamp, commit: loaded.latest.commit };
      this.log.info({ height: this.tip.height, hash: this.tip.hash, entries: this.world.size }, 'loaded chain from store');
    }
    this.refreshValidators();
    // Evidence seen or given before a restart, still valid at the next height.
    const saved = loadPendingEvidence(this.opts.dataDir, this.log);
    for (const e of saved) this.pendingEvidence.set(evidenceKey(e.a), e);
    this.prunePendingEvidence();
    if (saved.length > 0) this.log.info({ saved: saved.length, pending: this.pendingEvidence.size }, 'loaded pending evidence');
    this.metrics.finalizedHeight.set(this.tip.height);
    this.started = true;
    this.lastBlockAt = this.clock.now();
    const power = this.heldPower();
    if (!this.canFinalizeAlone() && power > 0n) {
      this.log.info({ held: power.toString(), total: this.set.totalPower.toString() }, 'this node holds less than 2/3 of voting power: blocks are finalized with its peers');
    }
    this.startConsensus();
  }

  /** Checks what the store returned: state commitment, latest block and its certificate. */
  private verifyLoaded(accumulator: Buffer | null, latest: FinalizedBlock | null): void {
    const file = this.store.backend === 'sqlite' ? 'chain.sqlite' : 'state.json';
    if (accumulator !== null && !accumulator.equals(this.world.accumulatorBytes)) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: the stored state commitment does not match the stored state rows`);
    }
    if (latest === null) return;
    if (latest.block.header.stateRoot !== this.world.stateRoot) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `${file}: state root ${this.world.stateRoot} does not match block ${latest.block.header.height} (${latest.block.header.stateRoot})`);
    }
    const set = validatorSetForHeight(this.world, latest.block.header.height, this.genesis.params);
    try {
      verifyCommit({ chainId: this.genesis.chainId, set, commit: latest.commit, height: latest.block.header.height, blockHash: latest.hash });
    } catch (e) {
      throw new FastposError(ErrorCode.CORRUPT_DATA, `the certificate of stored block ${latest.block.header.height} does not verify: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.driver?.stop();
    if (this.inFlight !== null) await this.inFlight.catch(() => undefined);
    if (this.ownsVerifier) await this.verifier.close();
    await this.store.close();
  }

  // ---------------------------------------------------------------- reads

  get height(): number {
    return this.tip.height;
  }
  get latestBlock(): FinalizedBlock | null {
    return this.latest;
  }
  get validatorSet(): ValidatorSet {
    return this.set;
  }
  get isPaused(): boolean {
    return this.paused;
  }
  get isStarted(): boolean {
    return this.started && !this.stopped;
  }
  get stateRoot(): string {
    return this.world.stateRoot;
  }
  /** Read access to the finalized state (for the API's read views). */
  get state(): StateReader {
    return this.world;
  }
  get params(): ChainParams {
    return this.genesis.params;
  }
  /** Epoch of the next height (the epoch whose set is deciding blocks now). */
  get currentEpoch(): number {
    return epochOf(this.tip.height + 1, this.genesis.params);
  }

  account(address: string): Account & { pendingNonce: number } {
    const a = getAccount(this.world, address);
    return { ...a, pendingNonce: this.mempool.pendingNonce(address, this.world) };
  }

  validatorList(): Validator[] {
    return [...this.validators.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  getBlock(height: number): FinalizedBlock | undefined {
    if (this.latest !== null && height === this.latest.block.header.height) return this.latest;
    return this.store.getBlock(height);
  }

  txStatus(id: string): TxStatus | undefined {
    const pending = this.mempool.get(id);
    if (pending !== undefined) return { id, status: 'pending', tx: encodeTx(pending.tx) };
    const fin = this.store.getTx(id);
    if (fin !== undefined) return finalizedStatus(fin);
    const dropped = this.mempool.dropped(id);
    if (dropped !== undefined) return droppedStatus(dropped);
    return undefined;
  }

  queryFinalized(q: TxQuery): { total: number; items: FinalizedTxRecord[] } {
    return this.store.queryTxs(q);
  }

  /** The whole state at the latest height, for GET /sync/snapshot (its LtHash recomputed from the entries must give stateRoot). */
  stateSnapshot(): { height: number; blockHash: string; stateRoot: string; entries: [string, StateValue][] } {
    return { height: this.tip.height, blockHash: this.tip.hash, stateRoot: this.world.stateRoot, entries: [...this.world.allEntries()] };
  }

  heldValidatorIds(): string[] {
    return [...this.signers.keys()].sort();
  }

  /** Whether consensus is running here (started, not paused, not catching up). */
  get isParticipating(): boolean {
    return this.isStarted && !this.paused && !this.syncing && this.driver !== null;
  }

  /** Whether a block was finalized recently enough (a stalled network is not "finalizing"). */
  isFinalizing(): boolean {
    const base = this.opts.timeouts ?? DEFAULT_TIMEOUTS;
    const window = Math.max(10_000, 3 * (this.opts.idleBlockIntervalMs + base.proposeMs + base.prevoteMs + base.precommitMs));
    return this.isParticipating && this.clock.now() - this.lastBlockAt <= window;
  }

  /** Whether the keys held here carry at least 2/3 of voting power. */
  canFinalizeAlone(): boolean {
    return 3n * this.heldPower() >= 2n * this.set.totalPower && this.set.totalPower > 0n;
  }

  private heldPower(): bigint {
    return this.set.validators.filter((v) => this.signers.has(v.id)).reduce((s, v) => s + v.votingPower, 0n);
  }

  // ---------------------------------------------------------------- txs

  /**
   * Admission of a wire tx: decode, cheap state checks, signature (off the main
   * thread), then the pool. Throws FastposError for every refusal.
   */
  async submitTx(json: unknown, opts: { idempotent?: boolean; fromPeer?: boolean } = {}): Promise<TxStatus> {
    if (!this.isStarted) throw new FastposError(ErrorCode.NOT_READY, 'node is not running');
    let d: DecodedTx;
    try {
      d = decodeTx(json);
      const known = this.knownStatus(d);
      if (known !== undefined) {
        if (opts.idempotent) return known;
        throw new FastposError(ErrorCode.DUPLICATE_TX, `tx ${d.id} is already ${known.status}`);
      }
      this.mempool.check(d, this.world);
      const v0 = performance.now();
      this.metrics.txSignatureChecks.inc({ path: 'admission' });
      const ok = await this.verifier.verify({ pubKey: d.tx.pubKey, message: d.signBytes, signature: d.tx.signature });
      this.metrics.signatureWait.observe((performance.now() - v0) / 1000);
      if (!ok) throw new FastposError(ErrorCode.INVALID_SIGNATURE, `signature does not verify for pubKey ${d.tx.pubKey}`);
      if (this.stopped) throw new FastposError(ErrorCode.NOT_READY, 'node is stopping');
      // The state may have moved while the signature was checked: the pool re-checks.
      const again = this.knownStatus(d);
      if (again !== undefined) {
        if (opts.idempotent) return again;
        throw new FastposError(ErrorCode.DUPLICATE_TX, `tx ${d.id} is already ${again.status}`);
      }
      this.admit(d);
    } catch (e) {
      if (e instanceof FastposError) this.metrics.txRejected.inc({ code: e.code });
      throw e;
    }
    this.emit('txAdmitted', d, json, opts.fromPeer === true);
    // The submitted JSON passed decoding, so it is the tx's wire form.
    return { id: d.id, status: 'pending', tx: json as Record<string, unknown> };
  }

  /** Puts a checked, verified tx into the pool (which checks it again against the current state). */
  private admit(d: DecodedTx): void {
    // Counted from the next height: the block in progress may have been built before this tx arrived.
    const { evicted, replaced } = this.mempool.add(d, this.world, this.tip.height + 1, this.clock.now());
    for (const r of evicted) this.onDropped(r);
    if (replaced !== undefined) this.onDropped(replaced);
    this.admittedAt.set(d.id, performance.now());
    this.metrics.txAccepted.inc();
    this.updatePoolGauges();
  }

  /** Whether a tx is pending here or finalized. */
  private isKnown(d: DecodedTx): boolean {
    return this.mempool.has(d.id) || this.finalizedRecord(d) !== undefined;
  }

  /** Status of a tx already known here (pending or finalized); dropped txs may be submitted again. */
  private knownStatus(d: DecodedTx): TxStatus | undefined {
    if (this.mempool.has(d.id)) return { id: d.id, status: 'pending', tx: encodeTx(d.tx) };
    const fin = this.finalizedRecord(d);
    return fin === undefined ? undefined : finalizedStatus(fin);
  }

  /** The stored record of a finalized tx. Only a tx whose nonce is already used can be finalized: the store is skipped otherwise. */
  private finalizedRecord(d: DecodedTx): FinalizedTxRecord | undefined {
    return d.tx.nonce < getAccount(this.world, d.tx.from).nonce ? this.store.getTx(d.id) : undefined;
  }

  private onDropped(r: DroppedRecord): void {
    this.admittedAt.delete(r.id);
    this.metrics.mempoolDropped.inc({ reason: r.reason });
  }

  private updatePoolGauges(): void {
    this.metrics.mempoolSize.set(this.mempool.size);
    this.metrics.mempoolBytes.set(this.mempool.bytes);
  }

  // ---------------------------------------------------------------- admin

  /**
   * Sets a validator's work weight through a governance tx signed with this
   * node's governance key, so that the change is finalized, replayable and the
   * same on every node. Returns the pending tx.
   */
  setWorkWeight(validatorId: string, workWeight: number): Promise<TxStatus> {
    return this.submitGovernanceTx({ kind: 'validator_set_work_weight', payload: { validatorId, workWeight } });
  }

  /**
   * Signs a governance tx (work weight, slash, jail) with this node's
   * governance key and submits it, so that the action is finalized, replayable
   * and the same on every node. Txs are signed one at a time: each takes the
   * next nonce only after the previous one is in the pool.
   */
  submitGovernanceTx(t: GovernanceTxBody): Promise<TxStatus> {
    const next = this.governanceQueue.then(() => this.signGovernanceTx(t));
    this.governanceQueue = next.catch(() => undefined);
    return next;
  }

  private governanceQueue: Promise<unknown> = Promise.resolve();

  private async signGovernanceTx(t: GovernanceTxBody): Promise<TxStatus> {
    const key = this.opts.governanceKey;
    if (key === undefined) throw new FastposError(ErrorCode.FORBIDDEN, 'this node holds no governance key: set governanceKeyFile to a key of an account in genesis params.governance');
    if ('validatorId' in t.payload && getValidator(this.world, t.payload.validatorId) === undefined) {
      throw new FastposError(ErrorCode.NOT_FOUND, `no validator ${t.payload.validatorId}`);
    }
    const signer = createSigner(key);
    const from = addressFromPubKey(signer.publicKey);
    const { tx } = signTx(signer, {
      chainId: this.genesis.chainId,
      from,
      pubKey: signer.publicKey,
      nonce: this.mempool.pendingNonce(from, this.world),
      fee: this.genesis.params.minFee,
      ...t,
    } as UnsignedTx);
    return this.submitTx(tx);
  }

  /** Stops taking part in consensus; resolves once a block being committed (if any) is durable. */
  async pause(): Promise<void> {
    this.paused = true;
    this.log.warn('block production paused by an operator');
    this.driver?.stop();
    if (this.inFlight !== null) await this.inFlight.catch(() => undefined);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.log.warn('block production resumed by an operator');
    this.startConsensus();
  }

  // ---------------------------------------------------------------- consensus

  private env(): BlockEnv {
    return { chainId: this.genesis.chainId, params: this.genesis.params, treasury: this.genesis.treasury, set: this.set, validator: (id) => getValidator(this.world, id) };
  }

  private startConsensus(): void {
    this.steps = { height: this.tip.height + 1, start: performance.now() };
    if (!this.isStarted || this.paused) return;
    const base = this.opts.timeouts ?? DEFAULT_TIMEOUTS;
    // A proposer may wait up to idleBlockIntervalMs for txs: the others wait for it that much longer.
    const timeouts: TimeoutParams = { ...base, proposeMs: base.proposeMs + this.opts.idleBlockIntervalMs };
    const local = [...this.signers].map(([id, signer]) => ({ id, signer }));
    this.driver = new ConsensusDriver(
      { chainId: this.genesis.chainId, local, timeouts },
      this.app,
      this.transport,
      this.guard,
      this.timers,
      {
        signed: (e) => {
          if (e.type === 'proposal') this.metrics.proposals.inc({ validator: e.validatorId });
          else if (e.type !== 'finalize') {
            this.metrics.votes.inc({ validator: e.validatorId, type: e.type });
            this.step(e.height, e.type);
          }
        },
        behind: (height) => this.emit('behind', height),
        evidence: (first, second) => this.recordEvidence(first, second),
        refused: (step, height, round) => this.log.warn({ step, height, round }, 'double-sign guard refused to sign again at this position'),
        error: (e) => {
          if (this.fatal(e)) return;
          this.log.warn({ err: e }, 'consensus message dropped');
        },
      },
    );
    this.driver.start(this.tip.height + 1);
  }

  /** A failure to make a decided block durable stops the node: nothing undurable is ever announced. */
  private fatal(e: unknown): boolean {
    if (!(e instanceof Error) || (e as { fatal?: boolean }).fatal !== true) return false;
    this.log.fatal({ err: e }, 'could not commit a finalized block; stopping');
    this.emit('fatal', e);
    return true;
  }

  /**
   * A consensus envelope from a peer (POST /p2p/message). Cheap checks first
   * (shape, chain, height, sender, duplicates, payload), the signature last,
   * then the per-validator rate; then the driver takes it. Throws
   * FastposError to refuse.
   */
  async handleEnvelope(json: unknown): Promise<void> {
    if (!this.isStarted) throw new FastposError(ErrorCode.NOT_READY, 'node is not running');
    const e = decodeEnvelope(json);
    if (e.chainId !== this.genesis.chainId) throw new FastposError(ErrorCode.WRONG_CHAIN_ID, `chainId must be ${this.genesis.chainId}, got ${e.chainId}`);
    const next = this.tip.height + 1;
    if (e.height < next) throw new FastposError(ErrorCode.OUTDATED_MESSAGE, `height ${e.height} is already finalized here (latest ${this.tip.height})`);
    const msgSet = this.setForMessage(e.height);
    const v = msgSet.validators.find((x) => x.id === e.validatorId);
    if (v === undefined) throw new FastposError(ErrorCode.UNKNOWN_VALIDATOR, `${e.validatorId} is not a validator of the set of height ${e.height}`);
    if (this.seenMessages.has(e.signature)) throw new FastposError(ErrorCode.DUPLICATE_MESSAGE, 'message already received');
    // The payload must be well formed for its type (throws INVALID_MESSAGE).
    let decoded: DecodedPayload | undefined;
    if (e.type === 'prevote' || e.type === 'precommit') decodeVotePayload(e);
    else if (e.type === 'proposal') {
      const proposer = selectProposer(msgSet, e.height, e.round).id;
      if (e.validatorId !== proposer) throw new FastposError(ErrorCode.INVALID_MESSAGE, `${e.validatorId} is not the proposer of height ${e.height} round ${e.round} (${proposer} is)`);
      decoded = decodeProposalPayload(e, (sig) => this.mempool.getBySignature(sig));
    } else decoded = decodeFinalizePayload(e, (sig) => this.mempool.getBySignature(sig));
    // Checked here rather than on the worker threads: a consensus message must not wait behind a queue of tx
    // signatures (a few per height; one check costs about as much as handling one request).
    const ok = verifySignature(v.pubKey, envelopeSignBytes(e), e.signature, this.keyCache);
    if (!ok) throw new FastposError(ErrorCode.INVALID_SIGNATURE, `envelope signature does not verify for validator ${e.validatorId}`);
    // Charged only for genuine messages, so that forged ones cannot use up a validator's budget.
    if (!this.takeToken(e.validatorId)) throw new FastposError(ErrorCode.RATE_LIMITED, `more than ${this.opts.p2pRateLimit ?? 0} messages per second from ${e.validatorId}`);
    if (e.height > next + 64) {
      // Far ahead: no point keeping it; fetch the blocks in between instead.
      this.emit('behind', e.height);
      return;
    }
    this.rememberMessage(e.signature);
    this.driver?.receive(e, decoded);
  }

  private readonly seenMessages = new Set<string>();
  private readonly seenOrder: string[] = [];

  private rememberMessage(signature: string): void {
    this.seenMessages.add(signature);
    this.seenOrder.push(signature);
    if (this.seenOrder.length > 100_000) {
      for (const old of this.seenOrder.splice(0, 10_000)) this.seenMessages.delete(old);
    }
  }

  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Token bucket per validator: p2pRateLimit per second, bursts up to twice that. */
  private takeToken(id: string): boolean {
    const rate = this.opts.p2pRateLimit ?? 0;
    if (rate <= 0) return true;
    const now = this.clock.now();
    const b = this.buckets.get(id) ?? { tokens: 2 * rate, at: now };
    b.tokens = Math.min(2 * rate, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    this.buckets.set(id, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * Txs gossiped by a peer (POST /p2p/txs): each is admitted like a submission
   * (same checks, same pool), known ones are skipped; the batch's signatures
   * go to the verifier together.
   */
  async handleTxBatch(txs: readonly unknown[]): Promise<{ accepted: number; known: number; rejected: number }> {
    if (!this.isStarted) throw new FastposError(ErrorCode.NOT_READY, 'node is not running');
    let accepted = 0;
    let known = 0;
    let rejected = 0;
    const refuse = (e: unknown): void => {
      if (!(e instanceof FastposError)) throw e;
      this.metrics.txRejected.inc({ code: e.code });
      rejected++;
    };
    const todo: DecodedTx[] = [];
    const wires: unknown[] = [];
    for (const t of txs) {
      try {
        const d = decodeTx(t);
        if (this.isKnown(d)) known++;
        else {
          this.mempool.check(d, this.world);
          todo.push(d);
          wires.push(t);
        }
      } catch (e) {
        refuse(e);
      }
    }
    if (todo.length === 0) return { accepted, known, rejected };
    const v0 = performance.now();
    this.metrics.txSignatureChecks.inc({ path: 'admission' }, todo.length);
    const ok = await this.verifier.verifyMany(todo.map((d) => ({ pubKey: d.tx.pubKey, message: d.signBytes, signature: d.tx.signature })));
    const waited = (performance.now() - v0) / 1000;
    for (let i = 0; i < todo.length; i++) {
      const d = todo[i]!;
      this.metrics.signatureWait.observe(waited);
      try {
        if (!ok[i]) throw new FastposError(ErrorCode.INVALID_SIGNATURE, `signature does not verify for pubKey ${d.tx.pubKey}`);
        if (this.stopped) throw new FastposError(ErrorCode.NOT_READY, 'node is stopping');
        // The state may have moved while the signatures were checked (or the batch held the tx twice).
        if (this.isKnown(d)) {
          known++;
          continue;
        }
        this.admit(d);
        accepted++;
      } catch (e) {
        refuse(e);
        continue;
      }
      this.emit('txAdmitted', d, wires[i], true);
    }
    return { accepted, known, rejected };
  }

  /**
   * Catches up from peers: asks each reachable peer for its height and, while
   * one is ahead, fetches finalized blocks with their certificates, checks each
   * (certificate, signatures, execution) and commits it. Consensus restarts at
   * the new height afterwards.
   */
  async syncFromPeers(source: SyncSource, minLead = 1): Promise<number> {
    if (this.syncing || !this.isStarted) return 0;
    this.syncing = true;
    let applied = 0;
    try {
      for (const peer of source.peers()) {
        let status: { height: number; genesisHash: string };
        try {
          status = await source.status(peer);
        } catch {
          continue;
        }
        if (status.genesisHash !== this.genesisHash) continue;
        if (status.height < this.tip.height + minLead) continue;
        while (status.height > this.tip.height && this.isStarted) {
          const from = this.tip.height + 1;
          let blocks: FinalizedBlock[];
          try {
            blocks = await source.blocks(peer, from, Math.min(50, status.height - this.tip.height));
          } catch {
            break;
          }
          if (blocks.length === 0 || blocks[0]!.block.header.height !== from) break;
          for (const fb of blocks) {
            if (fb.block.header.height !== this.tip.height + 1) break;
            verifyCommit({ chainId: this.genesis.chainId, set: this.set, commit: fb.commit, height: fb.block.header.height, blockHash: fb.hash, keyCache: this.keyCache });
            if (!(await this.checkBlock(fb.block, fb.hash))) throw new FastposError(ErrorCode.INVALID_BLOCK, `peer ${peer} served an invalid block at height ${fb.block.header.height}`);
            if (applied === 0) this.driver?.stop();
            if (this.inFlight !== null) await this.inFlight.catch(() => undefined);
            if (fb.block.header.height !== this.tip.height + 1) break;
            await this.app.commit(fb.block, fb.hash, fb.commit);
            applied++;
          }
        }
      }
    } catch (e) {
      if (this.fatal(e)) return applied;
      this.log.warn({ err: e }, 'sync from peers failed');
    } finally {
      this.syncing = false;
      if (applied > 0) {
        this.log.info({ applied, height: this.tip.height }, 'caught up from peers');
        this.startConsensus();
      }
    }
    return applied;
  }

  private syncing = false;

  /** When this node reached each step of the current height (performance.now()), for fastpos_consensus_phase_seconds. */
  private steps: { height: number; start: number; proposal?: number; prevote?: number; precommit?: number; decided?: number } = { height: 0, start: 0 };

  /** Records the first time this node reaches `name` at `height` and the phase that ended there. */
  private step(height: number, name: 'proposal' | 'prevote' | 'precommit' | 'decided'): void {
    const s = this.steps;
    if (s.height !== height || s[name] !== undefined) return;
    const now = performance.now();
    s[name] = now;
    const from = name === 'proposal' ? s.start : name === 'prevote' ? s.proposal : name === 'precommit' ? s.prevote : s.precommit;
    if (from !== undefined) this.metrics.consensusPhase.observe({ phase: name }, (now - from) / 1000);
  }

  get isSyncing(): boolean {
    return this.syncing;
  }

  /** Where consensus stands: height, round and step. */
  get consensusState(): { height: number; round: number; step: string } {
    return { height: this.driver?.currentHeight ?? this.tip.height + 1, round: this.driver?.round ?? 0, step: this.driver?.step ?? 'propose' };
  }

  private recordEvidence(first: Envelope, second: Envelope): void {
    const key = evidenceKey(first);
    if (this.evidence.has(key)) return;
    // Bounded memory: at most MAX_EVIDENCE records, of which at most MAX_PROPOSAL_EVIDENCE carry
    // whole proposed blocks (oldest dropped first).
    if (this.evidence.size >= MAX_EVIDENCE) this.evidence.delete(this.evidence.keys().next().value as string);
    if (first.type === 'proposal') {
      const proposals = [...this.evidence.keys()].filter((k) => k.startsWith('proposal/'));
      for (const k of proposals.slice(0, Math.max(0, proposals.length - MAX_PROPOSAL_EVIDENCE + 1))) {
        this.evidence.delete(k);
        this.pendingEvidence.delete(k);
      }
    }
    this.evidence.set(key, { type: first.type, height: first.height, round: first.round, validatorId: first.validatorId, first, second });
    if (first.type !== 'finalize') {
      this.pendingEvidence.set(key, { a: toSignedMessage(first), b: toSignedMessage(second) });
      this.savePendingEvidence();
    }
    this.metrics.evidence.inc({ type: first.type });
    this.log.warn({ validatorId: first.validatorId, height: first.height, round: first.round, type: first.type }, 'equivocation evidence');
  }

  /** Equivocation evidence seen by this node (two different signed messages of one validator for one position). */
  evidenceList(): EvidenceRecord[] {
    return [...this.evidence.values()];
  }

  /** The consensus application: how the driver builds, checks and commits blocks on this node. */
  private readonly app: ConsensusApp = {
    validatorSet: (height) => this.setAt(height),
    proposerOf: (height, round) => selectProposer(this.setAt(height), height, round).id,
    buildBlock: (height, round) => this.buildProposal(height, round),
    validateBlock: (block, hash) => {
      this.step(block.header.height, 'proposal');
      return this.checkBlock(block, hash);
    },
    finalized: (height) => (height >= 1 && height <= this.tip.height ? (this.getBlock(height) ?? null) : null),
    verifyCertified: async (fb) => {
      try {
        verifyCommit({ chainId: this.genesis.chainId, set: this.set, commit: fb.commit, height: fb.block.header.height, blockHash: fb.hash, keyCache: this.keyCache });
      } catch {
        return false;
      }
      return this.checkBlock(fb.block, fb.hash);
    },
    commit: (block, hash, commit) => {
      this.step(block.header.height, 'decided');
      const p = this.commitDecided(block, hash, commit);
      this.inFlight = p;
      return p.finally(() => {
        this.inFlight = null;
      });
    },
  };

  /** Waits until a block is due (txs waiting after minBlockIntervalMs, or idleBlockIntervalMs), then builds it. */
  private async buildProposal(height: number, round: number): Promise<{ block: Block; hash: string } | null> {
    for (;;) {
      if (!this.isStarted || this.paused || this.tip.height + 1 !== height || this.driver?.round !== round) return null;
      const since = this.clock.now() - this.lastBlockAt;
      const due = this.mempool.size > 0 ? this.opts.minBlockIntervalMs : this.opts.idleBlockIntervalMs;
      if (since >= due || round > 0) break;
      await new Promise<void>((resolve) => {
        let t: unknown;
        const done = (): void => {
          this.timers.clearTimeout(t);
          this.off('txAdmitted', early);
          resolve();
        };
        t = this.timers.setTimeout(done, Math.max(1, due - since));
        // The first tx of an idle spell ends the wait, no sooner than minBlockIntervalMs after the last block.
        const early = (): void => {
          this.off('txAdmitted', early);
          this.timers.clearTimeout(t);
          t = this.timers.setTimeout(done, Math.max(0, this.lastBlockAt + this.opts.minBlockIntervalMs - this.clock.now()));
        };
        if (this.mempool.size === 0) this.on('txAdmitted', early);
      });
    }
    const t0 = performance.now();
    const evidence = selectValidEvidence(this.world, this.pendingEvidence.values(), this.evidenceContext(height));
    const built = buildBlock({ env: this.env(), state: this.world, tip: this.tip, round, timestamp: this.clock.now(), candidates: this.mempool.candidates(this.world), evidence });
    for (const sk of built.skipped) {
      if (sk.error.code !== ErrorCode.NONCE_TOO_HIGH) {
        const r = this.mempool.drop(sk.tx.id, sk.error.code.toLowerCase(), sk.error.message, height, this.clock.now());
        if (r !== undefined) this.onDropped(r);
      }
    }
    this.metrics.blockBuildSeconds.observe((performance.now() - t0) / 1000);
    this.step(height, 'proposal');
    this.executed.set(built.hash, built);
    this.log.debug({ height, round, txs: built.block.txs.length, buildMs: Math.round(performance.now() - t0) }, 'proposing block');
    return { block: built.block, hash: built.hash };
  }

  /**
   * Deterministic validity of a block for the next height: tx signatures
   * (those not already checked at admission, on the worker threads), the
   * previous certificate it carries, then header and execution.
   */
  private async checkBlock(block: Block, hash: string): Promise<boolean> {
    if (this.executed.has(hash)) return true;
    const height = block.header.height;
    try {
      const unchecked = block.txs.filter((d) => this.mempool.get(d.id)?.tx.signature !== d.tx.signature);
      if (unchecked.length > 0) {
        this.metrics.txSignatureChecks.inc({ path: 'block' }, unchecked.length);
        // A few txs that gossip has not brought yet are checked here at once: queued behind the
        // verifier's backlog of gossip, they would hold up this node's prevote (and the height).
        const ok =
          unchecked.length <= INLINE_BLOCK_SIGNATURES
            ? unchecked.map((d) => verifySignature(d.tx.pubKey, d.signBytes, d.tx.signature, this.keyCache))
            : await this.verifier.verifyMany(unchecked.map((d) => ({ pubKey: d.tx.pubKey, message: d.signBytes, signature: d.tx.signature })));
        const bad = ok.indexOf(false);
        if (bad >= 0) throw new FastposError(ErrorCode.INVALID_BLOCK, `tx ${unchecked[bad]!.id} has a bad signature`);
      }
      if (this.tip.height + 1 !== height) return false;
      if (block.lastCommit !== null) {
        verifyCommit({ chainId: this.genesis.chainId, set: this.setAt(height - 1), commit: block.lastCommit, height: height - 1, blockHash: this.tip.hash, keyCache: this.keyCache });
      }
      const executed = validateBlock({ env: this.env(), state: this.world, tip: this.tip, block });
      if (executed.hash !== hash) return false;
      this.executed.set(hash, executed);
      return true;
    } catch (e) {
      if (!(e instanceof FastposError)) throw e;
      this.log.warn({ height, hash, code: e.code, err: e.message }, 'refused a proposed block');
      return false;
    }
  }

  /** Makes a decided block durable, then applies it and tells everyone. */
  private async commitDecided(block: Block, hash: string, commit: Commit): Promise<FinalizedBlock> {
    const height = block.header.height;
    let executed = this.executed.get(hash);
    if (executed === undefined) {
      // Decided through a certificate for a block we never checked: its signers vouch for it, execution gives the state.
      executed = validateBlock({ env: this.env(), state: this.world, tip: this.tip, block });
    }
    this.executed.clear();
    const fb: FinalizedBlock = { block, hash, results: executed.results, commit };
    const t1 = performance.now();
    try {
      await this.store.commitBlock({ block: fb, changes: executed.diff.encoded, accumulator: executed.diff.accumulator.toBytes() });
    } catch (e) {
      throw Object.assign(e instanceof Error ? e : new Error(String(e)), { fatal: true });
    }
    const t2 = performance.now();
    this.world.apply(executed.diff);
    this.latest = fb;
    this.tip = { height, hash, timestamp: block.header.timestamp, commit };
    this.lastBlockAt = this.clock.now();
    const decidedAt = this.steps.height === height ? this.steps.decided : undefined;
    if (decidedAt !== undefined) this.metrics.consensusPhase.observe({ phase: 'commit' }, (performance.now() - decidedAt) / 1000);
    this.steps = { height: height + 1, start: performance.now() };

    // The block is final and durable: now tell everyone.
    const touched: string[] = [];
    let validatorsChanged = false;
    for (const key of executed.diff.changes.keys()) {
      if (key.startsWith(KEY_PREFIX.account)) touched.push(key.slice(KEY_PREFIX.account.length));
      else if (key.startsWith(KEY_PREFIX.validator)) validatorsChanged = true;
    }
    // The set of the next height comes from the state after this block (it changes at epoch boundaries).
    this.refreshValidators(validatorsChanged);
    this.prunePendingEvidence();
    const dropped = this.mempool.update({ height, now: this.clock.now(), included: block.txs.map((d) => d.id), touched, state: this.world });
    for (const r of dropped) this.onDropped(r);
    this.recordMetrics(fb, t2 - t1);
    this.emit('finalized', fb);
    this.log.debug({ height, hash, txs: block.txs.length, round: commit.round }, 'finalized block');
    return fb;
  }

  private recordMetrics(fb: FinalizedBlock, commitMs: number): void {
    const m = this.metrics;
    m.finalizedHeight.set(fb.block.header.height);
    m.blocksFinalized.inc();
    m.blockTxs.observe(fb.block.txs.length);
    m.blockCommitSeconds.observe(commitMs / 1000);
    m.consensusRound.observe(fb.commit.round);
    const now = performance.now();
    let ok = 0;
    fb.block.txs.forEach((d, i) => {
      if (fb.results[i]!.success) ok++;
      const at = this.admittedAt.get(d.id);
      if (at !== undefined) {
        m.finalityLatency.observe((now - at) / 1000);
        this.admittedAt.delete(d.id);
      }
    });
    if (ok > 0) m.txsFinalized.inc({ result: 'success' }, ok);
    if (fb.block.txs.length - ok > 0) m.txsFinalized.inc({ result: 'failed' }, fb.block.txs.length - ok);
    this.updatePoolGauges();
  }

  /** Re-reads the validator records (when a block changed one) and the set of the next height. */
  private refreshValidators(recordsChanged = true): void {
    if (recordsChanged) this.validators = new Map(allValidators(this.world).map((v) => [v.id, v]));
    const next = validatorSetForHeight(this.world, this.tip.height + 1, this.genesis.params);
    if (this.set !== undefined && this.set.hash !== next.hash) {
      this.log.info({ height: this.tip.height + 1, epoch: epochOf(this.tip.height + 1, this.genesis.params), validators: next.validators.length, totalPower: next.totalPower.toString() }, 'validator set changed at epoch boundary');
    }
    this.set = next;
  }

  /** The validator set of `height`: the set of its epoch (known for every height up to the next one). */
  setAt(height: number): ValidatorSet {
    const params = this.genesis.params;
    const epoch = epochOf(height, params);
    if (epoch === epochOf(this.tip.height + 1, params)) return this.set;
    let set = this.setCache.get(epoch);
    if (set === undefined) {
      set = validatorSetForHeight(this.world, height, params);
      if (this.setCache.size >= 16) this.setCache.delete(this.setCache.keys().next().value as number);
      this.setCache.set(epoch, set);
    }
    return set;
  }

  /** The set to check a message of `height` against: its epoch's set when known, else the current one. */
  private setForMessage(height: number): ValidatorSet {
    try {
      return this.setAt(height);
    } catch {
      return this.set;
    }
  }

  /** Drops pending evidence that is on chain now, too old, or otherwise no longer valid. */
  private prunePendingEvidence(): void {
    if (this.pendingEvidence.size === 0) return;
    const before = this.pendingEvidence.size;
    // Each item on its own: evidence of one validator at several heights stays until one of them is on chain.
    const ctx = this.evidenceContext(this.tip.height + 1);
    for (const [k, e] of this.pendingEvidence) if (checkEvidence(this.world, e, ctx) !== null) this.pendingEvidence.delete(k);
    if (this.pendingEvidence.size !== before) this.savePendingEvidence();
  }

  /** What evidence checks need to know of a block at `height`. */
  private evidenceContext(height: number): EvidenceContext {
    return { chainId: this.genesis.chainId, params: this.genesis.params, height };
  }

  /** Keeps the pending list on disk (pending_evidence.json) so that a restart does not lose it. */
  private savePendingEvidence(): void {
    this.evidenceFile.save([...this.pendingEvidence.values()]);
  }

  /** Pending evidence this node would put in its next block. */
  pendingEvidenceList(): Evidence[] {
    return [...this.pendingEvidence.values()];
  }

  /** Adds evidence (from an operator or a peer) to what this node proposes; returns its problem if it is not valid now. */
  offerEvidence(e: Evidence): { code: ErrorCode; message: string } | null {
    const problem = checkEvidence(this.world, e, this.evidenceContext(this.tip.height + 1));
    if (problem !== null) return problem;
    this.pendingEvidence.set(evidenceKey(e.a), e);
    this.savePendingEvidence();
    return null;
  }

  /** Wire JSON text of a block for the API. */
  blockJson(fb: FinalizedBlock): string {
    return finalizedBlockJson(fb);
  }
}


/** Position of an equivocation (of a message, or of evidence's first message): one record per (type, height, round, validator). */
function evidenceKey(m: { readonly type: string; readonly height: number; readonly round: number; readonly validatorId: string }): string {
  return `${m.type}/${m.height}/${m.round}/${m.validatorId}`;
}

function finalizedStatus(f: FinalizedTxRecord): TxStatus {
  return {
    id: f.id,
    status: 'finalized',
    height: f.height,
    index: f.index,
    blockHash: f.blockHash,
    success: f.result.success,
    ...(f.result.error === undefined ? {} : { error: f.result.error }),
    tx: f.tx,
  };
}

function droppedStatus(r: DroppedRecord): TxStatus {
  return { id: r.id, status: 'dropped', error: r.reason.toUpperCase(), message: r.message, height: r.height, tx: encodeTx(r.tx.tx) };
}
