/**
 * Deterministic network simulation: N ConsensusDrivers in one process on a
 * virtual clock and a simulated network, from one seed. Each node runs either
 * the node's real parts (`node`: see fullNode.ts) or a stand-in application
 * of empty blocks (`stand-in`: app.ts).
 *
 * - Virtual timers: `VirtualClock` events; each node incarnation gets its own
 *   timers, whose events die with it. With the real parts, each node's clock
 *   reads the virtual time plus its own skew.
 * - Network: every envelope goes through JSON on the wire. With the real
 *   parts a node takes it through `PeerInbox.receive` (every check a node
 *   makes on POST /p2p/message); the stand-in makes the same checks itself
 *   (shape, a height not yet committed, chain, sender in the set, Ed25519
 *   signature over `envelopeSignBytes`). Random delay (so reordering), loss,
 *   duplication, partitions of several shapes that start and heal. Txs that
 *   clients submit to a node are gossiped to its peers the same way.
 * - Crash: the incarnation stops; its timers, build jobs, inbound messages,
 *   requests and sync die with it; nothing it does afterwards persists or
 *   leaves the node, and a block that was not durable yet is lost. Restart: a
 *   new incarnation for the same key on what survived (the disk or chain, the
 *   guard's durable record, pending evidence), at the stored height + 1.
 * - Sync: real parts catch up through `CatchUp` from peers they ask over the
 *   simulated network (a Byzantine peer may answer with forged blocks); the
 *   stand-in asks one reachable honest peer and hands each checked block to
 *   `driver.certified`.
 * - Checkers: see checker.ts for safety; liveness and the final checks of
 *   stored blocks and finalized txs are here.
 * @module
 */
import { newValidator } from '../state/staking.js';
import { decodeFinalizedBlock } from '../codec/block.js';
import { decodeEnvelope, envelopeSignBytes, type Envelope } from '../codec/envelope.js';
import type { SimHost } from './host.js';
import { decodeInbound, type InboundMessage } from '../consensus/inbound.js';
import { ConsensusDriver, type DriverEvents, type DriverTimers, type SignGuard, type SignStep, type Transport } from '../consensus/driver.js';
import { DEFAULT_PARAMS, genesisHash as hashGenesis } from '../state/genesis.js';
import { EMPTY_GUARD_STATE, type GuardState } from '../consensus/signGuard.js';
import { buildValidatorSet } from '../consensus/validatorSet.js';
import { createSigner, verifySignature, type Signer } from '../crypto/ed25519.js';
import { devValidator } from '../crypto/keys.js';
import { sha256Hex } from '../crypto/hash.js';
import { FastposError, ErrorCode, type FatalError } from '../errors.js';
import type { SyncSource } from '../node/sync.js';
import type { Clock } from '../node/context.js';
import { MemoryChainStore, MemoryDisk } from '../storage/memory.js';
import type { BlockCommit } from '../storage/types.js';
import type { EpochRecord, Evidence, FinalizedBlock, Genesis, Validator, ValidatorEntry, ValidatorSet } from '../types/index.js';
import { CertCache, SimApp, SimChain } from './app.js';
import { EquivocatingTransport, FloodingTransport, ForgingTransport, WithholdingTransport, forgeSyncAnswer } from './byzantine.js';
import { SimFullNode, type FullNodeSnapshots } from './fullNode.js';
import { SnapshotHolder, corruptChunk, forgeSnapshot, otherRoot, type HeldSnapshot } from './snapshots.js';
import type { SnapshotSource } from '../node/stateSync.js';
import { decodeManifest, decodeSnapshotList, encodeManifest } from '../state/snapshot.js';
import { decodeCertifiedHeader } from '../codec/block.js';
import { decodeStateValue, encodeStateValue, epochKey } from '../codec/state.js';
import { RecklessGuard, SimGuard, SimTransport } from './parts.js';
import { SafetyChecker } from './checker.js';
import { VirtualClock, type TimerEvent } from './clock.js';
import { Rng } from './rng.js';
import { deriveConfig, describeConfig, faultsOverAt, hasQuorumPower, partitionBlocks, type SignCrashPlan, type SimConfig, type SimulationOptions, type SnapshotJoin, type WriteFault } from './scenario.js';
import { MemoVerifier, SignatureMemo, simLog } from './support.js';
import { CLIENT_ACCOUNTS, OPERATOR_BASE, STAKE_UNIT, TxLoad, forgedTransfer, simAccount } from './txLoad.js';

/** Unix ms of virtual time 0. */
export const SIM_GENESIS_TIME = 1_700_000_000_000;

/** A request to a peer that gets no answer fails after this long (virtual ms). */
const REQUEST_TIMEOUT_MS = 2_000;

export interface Decision {
  readonly height: number;
  readonly round: number;
  readonly hash: string;
  readonly at: number;
}

/** A signature a node's guard handed out. */
export interface SignatureRecord {
  readonly node: number;
  readonly incarnation: number;
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly blockHash: string | null;
  readonly at: number;
}

export interface EvidenceRecord {
  readonly node: number;
  readonly validatorId: string;
  readonly type: string;
  readonly height: number;
  readonly round: number;
  readonly at: number;
}

/** A node's committed chain, as the checks read it. */
export interface ChainView {
  readonly height: number;
  at(height: number): FinalizedBlock | undefined;
}

/** The chain on a simulated node's disk. */
class DiskChain implements ChainView {
  /** Replaced when the node's disk is wiped. */
  constructor(public disk: MemoryDisk) {}
  get height(): number {
    return this.disk.height;
  }
  at(height: number): FinalizedBlock | undefined {
    return this.disk.block(height);
  }
}

export interface SimNode {
  readonly index: number;
  readonly id: string;
  readonly signer: Signer;
  /** Genesis stake of its key (0 for a second node running another node's key). */
  readonly power: bigint;
  readonly byzantine: boolean;
  /** The validator whose key it holds (a duplicate holds the Byzantine validator's). */
  readonly keyIndex: number;
  /** Its committed blocks; survives crashes. */
  readonly chain: ChainView;
  /** Stand-in application: its chain. */
  readonly standIn: SimChain | null;
  /** Node application: its disk; survives crashes (scenario `snapshot-join`: wiped once). */
  disk: MemoryDisk | null;
  /** Scenario `snapshot-join`: the snapshots on its disk. */
  snapshots: SnapshotHolder | null;
  /** Scenario `snapshot-join`: snapshots it installed (height, block hash). */
  readonly installs: { readonly height: number; readonly hash: string; readonly at: number }[];
  /** Its clock's offset from the virtual time, ms (node application). */
  readonly clockSkewMs: number;
  /** The guard's persisted state: survives crashes. */
  guardState: GuardState;
  /** Pending evidence the node saved: survives crashes. */
  savedEvidence: readonly Evidence[];
  up: boolean;
  incarnation: number;
  upSince: number;
  driver: ConsensusDriver | null;
  app: SimApp | null;
  full: SimFullNode | null;
  lastDecisionAt: number;
  readonly decisions: Decision[];
  syncing: boolean;
  /** Armed: crash after the next matching signature. */
  signCrash: SignCrashPlan | null;
  /** Triggered: crash at the next envelope the node sends. */
  crashNow: SignCrashPlan | null;
  equivocator: EquivocatingTransport | null;
  /** This incarnation's guard failed to write a record: nothing it signed may leave the node any more. */
  guardFailed: boolean;
  /** Virtual time at which the guard's last write lands (writes land in order). */
  lastGuardWriteAt: number;
}

export interface SimStats {
  sent: number;
  delivered: number;
  lost: number;
  partitioned: number;
  duplicated: number;
  droppedDown: number;
  rejected: number;
  /** Messages of a height the receiver had already committed: refused before its driver, as a real node answers 409 OUTDATED_MESSAGE. */
  outdated: number;
  /** Messages the receiver already had (DUPLICATE_MESSAGE). */
  duplicates: number;
  syncRequests: number;
  syncBlocks: number;
  /** Peers a catching-up node penalized (failed, invalid or forged answers). */
  syncPenalties: number;
  crashes: number;
  restarts: number;
  /** Nodes that stopped on a fatal error (a block or a guard record that could not be made durable). */
  fatalStops: number;
  signatureChecks: number;
  txsSubmitted: number;
  txsAdmitted: number;
  /** Distinct txs in the chain of the most advanced honest node at the end. */
  txsFinalized: number;
  /** Envelopes a Byzantine validator forged, flooded or withheld, and txs with forged signatures it put in its pool. */
  byzantineActs: number;
  /** Validator sets the decided blocks were signed by (1: the set never changed). */
  validatorSets: number;
  /** Equivocation evidence items in decided blocks. */
  evidenceInBlocks: number;
  /** Scenario `snapshot-join`: snapshots taken, installed, and penalties of snapshot servers (of Byzantine ones). */
  snapshotsTaken: number;
  snapshotInstalls: number;
  snapshotPenalties: number;
  snapshotPenaltiesByzantine: number;
}

export interface SimResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly violations: string[];
  /** Lowest chain height among honest nodes up at the end (all honest nodes if none is up). */
  readonly heightsDecided: number;
  readonly maxHeight: number;
  readonly virtualMs: number;
  /** Envelopes sent node-to-node (each copy to each peer counts once). */
  readonly messages: number;
  readonly stats: SimStats;
  readonly stableAt: number;
  readonly livenessExpected: boolean | null;
  readonly evidence: readonly EvidenceRecord[];
  readonly equivocations: number;
  readonly refusals: number;
  /** Errors the drivers reported, and other oddities that are not violations by themselves. */
  readonly anomalies: readonly string[];
  /** Per node: its decisions. */
  readonly decisions: readonly (readonly Decision[])[];
  readonly description: string;
  readonly trace: readonly string[];
}

/**
 * One ValidatorSet object per set hash for the whole process. selectProposer
 * caches proposer orders by set hash but compares entries by object identity,
 * so two equal sets as different objects would make the order (and a run)
 * depend on which runs came before.
 */
const SETS = new Map<string, ValidatorSet>();
function internSet(s: ValidatorSet): ValidatorSet {
  const known = SETS.get(s.hash);
  if (known !== undefined) return known;
  SETS.set(s.hash, s);
  return s;
}

/** One line for a trace: type, height, round, block (and valid round, block round for proposals). */
export function describeEnvelope(e: Envelope): string {
  const p = e.payload;
  if (e.type === 'proposal') {
    const block = p.block as { header?: { round?: number } } | undefined;
    return `proposal h${e.height} r${e.round} ${String(p.blockHash).slice(0, 12)} vr ${String(p.validRound)} (block round ${String(block?.header?.round)})`;
  }
  if (e.type === 'finalize') return `finalize h${e.height} r${e.round}`;
  const h = p.blockHash;
  return `${e.type} h${e.height} r${e.round} ${typeof h === 'string' ? h.slice(0, 12) : 'nil'}`;
}

/** Dev validator keys and their signers, parsed once per process. */
const DEV_KEYS = new Map<number, { address: string; publicKey: string; signer: Signer }>();
function devKey(i: number): { address: string; publicKey: string; signer: Signer } {
  let k = DEV_KEYS.get(i);
  if (k === undefined) {
    const d = devValidator(i);
    k = { address: d.address, publicKey: d.publicKey, signer: createSigner(d.privateKey) };
    DEV_KEYS.set(i, k);
  }
  return k;
}

/**
 * The genesis of a node-application run: dev validator i with stake
 * `stakes[i]` units, operated by dev account OPERATOR_BASE + i; the client
 * accounts and operators funded; epochs of `epochLengthBlocks`; downtime
 * never jails (a run is too short to judge it, and jailing honest validators
 * would break the 1/3 bound the run assumes).
 */
export function simGenesis(config: Pick<SimConfig, 'chainId' | 'stakes' | 'epochLengthBlocks'>): Genesis {
  const accounts = [...Array.from({ length: CLIENT_ACCOUNTS }, (_, i) => i), ...config.stakes.map((_, i) => OPERATOR_BASE + i)];
  return {
    chainId: config.chainId,
    genesisTime: SIM_GENESIS_TIME,
    treasury: sha256Hex('fastpos-sim-treasury').slice(0, 40),
    params: {
      ...DEFAULT_PARAMS,
      epochLengthBlocks: config.epochLengthBlocks,
      unbondingPeriodBlocks: 20,
      evidenceMaxAgeBlocks: 20,
      downtimeWindowBlocks: 100,
      downtimeMaxMissed: 100,
    },
    accounts: accounts.map((i) => ({ address: simAccount(i).key.address, balance: 1_000_000_000_000n })),
    validators: config.stakes.map((stake, i) => ({ pubKey: devKey(i).publicKey, stake: stake * STAKE_UNIT, workWeight: 10_000, rewardAddress: simAccount(OPERATOR_BASE + i).key.address })),
  };
}

export class Simulation {
  readonly clock = new VirtualClock();
  /** The genesis validator set. */
  readonly set: ValidatorSet;
  readonly nodes: SimNode[];
  readonly certs = new CertCache();
  readonly checker: SafetyChecker;
  /** Node application: the chain's genesis. */
  readonly genesis: Genesis | null;
  readonly stats: SimStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    partitioned: 0,
    duplicated: 0,
    droppedDown: 0,
    rejected: 0,
    outdated: 0,
    duplicates: 0,
    syncRequests: 0,
    syncBlocks: 0,
    syncPenalties: 0,
    crashes: 0,
    restarts: 0,
    fatalStops: 0,
    signatureChecks: 0,
    txsSubmitted: 0,
    txsAdmitted: 0,
    txsFinalized: 0,
    byzantineActs: 0,
    validatorSets: 0,
    evidenceInBlocks: 0,
    snapshotsTaken: 0,
    snapshotInstalls: 0,
    snapshotPenalties: 0,
    snapshotPenaltiesByzantine: 0,
  };
  /** Heights some node decided, and the sets that signed them. */
  private readonly decidedHeights = new Set<number>();
  private readonly setHashes = new Set<string>();
  readonly evidence: EvidenceRecord[] = [];
  /** Every signature honest guards handed out (capped at 200,000). */
  readonly signatures: SignatureRecord[] = [];
  readonly anomalies: string[] = [];
  readonly traceLines: string[] = [];
  /** Node application: every tx a client signed, by id. */
  readonly txs = new Map<string, { readonly kind: string; readonly from: string; readonly node: number; readonly at: number }>();
  refusals = 0;
  /** Time after which no fault happens: liveness is required from then on. */
  stableAt: number;
  livenessExpected: boolean | null = null;
  private readonly setById: Map<string, ValidatorEntry>;
  private readonly honestIds: Set<string>;
  private readonly netRng: Rng;
  private readonly appRng: Rng;
  private readonly byzRng: Rng;
  private readonly syncRng: Rng;
  private readonly sigCache = new Map<string, string>();
  private readonly acceptedWire = new Set<string>();
  private readonly decideListeners: ((node: SimNode, fb: FinalizedBlock, at: number) => void)[] = [];
  private readonly memo = new SignatureMemo();
  private readonly verifier = new MemoVerifier(this.memo);
  private readonly load: TxLoad | null;
  private readonly genesisHashValue: string;
  /** When the scenario's faults are over (staking txs stop then). */
  private readonly faultsEnd: number;
  private asyncTouched = false;
  private stopped = false;
  private started = false;
  private readonly violationsExtra: string[] = [];
  private readonly lastPos = new Map<number, string>();

  constructor(readonly config: SimConfig) {
    const n = config.stakes.length;
    const node = config.app === 'node';
    const keys = Array.from({ length: n }, (_, i) => devKey(i));
    const units = node ? STAKE_UNIT : 1n;
    const validators: Validator[] = keys.map((k, i) => newValidator({ pubKey: k.publicKey, stake: config.stakes[i]! * units }));
    this.set = internSet(buildValidatorSet(validators));
    this.setById = new Map(this.set.validators.map((v) => [v.id, v]));
    this.genesis = node ? simGenesis(config) : null;
    this.genesisHashValue = this.genesis === null ? '' : hashGenesis(this.genesis);
    const newNode = (index: number, keyIndex: number, power: bigint, byzantine: boolean): SimNode => {
      const k = keys[keyIndex]!;
      const disk = node ? new MemoryDisk() : null;
      const standIn = node ? null : new SimChain(config.chainId, SIM_GENESIS_TIME);
      return {
        index,
        id: k.address,
        signer: k.signer,
        power,
        byzantine,
        keyIndex,
        chain: disk !== null ? new DiskChain(disk) : standIn!,
        standIn,
        disk,
        snapshots: node && config.snapshots !== undefined ? new SnapshotHolder(config.snapshots.keep) : null,
        installs: [],
        clockSkewMs: node ? (config.clockSkewMs[index] ?? 0) : 0,
        guardState: EMPTY_GUARD_STATE,
        savedEvidence: [],
        up: false,
        incarnation: 0,
        upSince: 0,
        driver: null,
        app: null,
        full: null,
        lastDecisionAt: -1,
        decisions: [],
        syncing: false,
        signCrash: null,
        crashNow: null,
        equivocator: null,
        guardFailed: false,
        lastGuardWriteAt: 0,
      };
    };
    this.nodes = keys.map((_, i) => newNode(i, i, config.stakes[i]!, config.byzantine === i));
    if (node && config.byzantine !== null && config.byzantineKind === 'duplicate') this.nodes.push(newNode(n, config.byzantine, 0n, true));
    this.honestIds = new Set(this.nodes.filter((x) => !x.byzantine).map((x) => x.id));
    this.netRng = new Rng(config.seed, 'network');
    this.appRng = new Rng(config.seed, 'app');
    this.byzRng = new Rng(config.seed, 'byzantine');
    this.syncRng = new Rng(config.seed, 'sync');
    this.checker = new SafetyChecker(config.chainId, this.set, this.certs, (i) => this.name(i));
    // A node that leaves for a snapshot join comes back when its peers pruned: liveness is required only after that.
    this.stableAt = config.scenario.snapshotJoin === undefined ? faultsOverAt(config.scenario) : Infinity;
    this.faultsEnd = this.stableAt;
    this.load =
      node && config.txIntervalMs > 0
        ? new TxLoad({
            chainId: config.chainId,
            rng: new Rng(config.seed, 'txs'),
            validators: this.nodes.filter((x) => !x.byzantine && x.keyIndex === x.index && !this.staysDown(x.index)).map((x) => ({ id: x.id, pubKey: devKey(x.index).publicKey, operator: OPERATOR_BASE + x.index })),
          })
        : null;
  }

  get now(): number {
    return this.clock.now;
  }

  name(i: number): string {
    const x = this.nodes[i];
    if (x === undefined) return `node ${i}`;
    const what = !x.byzantine ? '' : x.keyIndex !== x.index ? `, byzantine: runs node ${x.keyIndex}'s key` : this.config.app === 'node' ? `, byzantine: ${this.config.byzantineKind}` : ', byzantine';
    return `node ${i} (${x.id.slice(0, 8)}${what})`;
  }

  log(msg: string): void {
    if (this.config.trace) this.traceLines.push(`t=${this.now} ${msg}`);
  }

  fail(msg: string): void {
    this.checker.fail(msg);
  }

  get violations(): string[] {
    return [...this.checker.violations, ...this.violationsExtra];
  }

  /** Called on every decision of an honest or Byzantine node, after the block is committed. */
  onDecide(fn: (node: SimNode, fb: FinalizedBlock, at: number) => void): void {
    this.decideListeners.push(fn);
  }

  /** A fault the caller makes happen (tests): liveness is required only after `until`. */
  noteFault(until: number): void {
    this.stableAt = Math.max(this.stableAt, until);
  }

  stop(): void {
    this.stopped = true;
  }

  honestPowerUp(): bigint {
    return this.nodes.filter((x) => x.up && !x.byzantine).reduce((a, x) => a + x.power, 0n);
  }

  /** Whether the honest validators that are up hold 2/3 of the power of the current set (node application: the set of the next height at the most advanced honest node that is up). */
  private honestQuorumUp(): { ok: boolean; up: bigint; total: bigint } {
    if (this.config.app === 'stand-in') {
      const up = this.honestPowerUp();
      return { ok: hasQuorumPower(up, this.set.totalPower), up, total: this.set.totalPower };
    }
    const ref = this.nodes.filter((x) => x.up && !x.byzantine && x.full !== null).sort((a, b) => b.chain.height - a.chain.height)[0];
    const set = ref?.full?.head.set ?? this.set;
    const upIds = new Set(this.nodes.filter((x) => x.up && !x.byzantine).map((x) => x.id));
    const up = set.validators.filter((v) => upIds.has(v.id)).reduce((a, v) => a + v.votingPower, 0n);
    return { ok: hasQuorumPower(up, set.totalPower), up, total: set.totalPower };
  }

  /** Whether the scenario leaves node i down for good. */
  private staysDown(i: number): boolean {
    const s = this.config.scenario;
    return s.crashes.some((c) => c.node === i && c.downMs === null) || s.signCrashes.some((c) => c.node === i && c.downMs === null);
  }

  // ---- nodes -------------------------------------------------------------

  /** Boots every node and schedules the scenario's faults. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const s = this.config.scenario;
    for (const p of s.partitions) this.log(`partition ${p.kind ?? 'split'} ${p.groups.map((g) => `{${g.join(',')}}`).join(' | ')} from ${p.start} to ${p.end}`);
    for (const c of s.crashes) this.clock.scheduleAt(c.at, () => this.crash(c.node, 'scheduled crash', c.downMs));
    for (const c of s.signCrashes) {
      this.clock.scheduleAt(c.after, () => {
        const x = this.nodes[c.node]!;
        if (x.up) x.signCrash = c;
      });
      this.clock.scheduleAt(c.until, () => {
        const x = this.nodes[c.node]!;
        if (x.signCrash === c) x.signCrash = null;
      });
    }
    for (const x of this.nodes) this.boot(x);
    if (this.load !== null) this.scheduleTx();
    if (s.snapshotJoin !== undefined) this.scheduleJoin(s.snapshotJoin);
  }

  private boot(x: SimNode): void {
    x.up = true;
    x.upSince = this.now;
    x.syncing = false;
    x.crashNow = null;
    x.guardFailed = false;
    const inc = ++x.incarnation;
    const alive = (): boolean => x.up && x.incarnation === inc;
    if (this.config.app === 'node') this.bootFull(x, inc, alive);
    else this.bootStandIn(x, inc, alive);
  }

  /** Timers of one incarnation: they neither start nor fire once it is gone. */
  private incarnationTimers(alive: () => boolean): DriverTimers {
    return {
      setTimeout: (fn, ms) => {
        if (!alive()) return null;
        return this.clock.schedule(ms, () => {
          if (alive()) fn();
        });
      },
      clearTimeout: (h) => {
        if (h !== null && h !== undefined) this.clock.cancel(h as TimerEvent);
      },
    };
  }

  /** A guard state the node made durable. */
  private guardDurable(x: SimNode, st: GuardState): void {
    const before = x.guardState.last[x.id];
    const rec = st.last[x.id];
    x.guardState = st;
    if (x.byzantine) return;
    if (rec !== undefined && (before === undefined || rec.height !== before.height || rec.round !== before.round || rec.step !== before.step || rec.blockHash !== before.blockHash)) {
      this.checker.onDurable(x.index, x.id, rec);
    }
  }

  /** Every signature an honest guard hands out; arms a crash planned for this step. */
  private onSigned(x: SimNode, inc: number, p: { height: number; round: number; step: SignStep; blockHash: string | null }): void {
    if (this.signatures.length < 200_000) this.signatures.push({ node: x.index, incarnation: inc, height: p.height, round: p.round, step: p.step, blockHash: p.blockHash, at: this.now });
    const plan = x.signCrash;
    if (plan !== null && p.step === plan.step && this.now >= plan.after && this.now <= plan.until) {
      x.signCrash = null;
      x.crashNow = plan;
    }
  }

  /** An honest node's own envelope on its way out: a planned crash, the checks, then the network. */
  private sendOwn(x: SimNode, e: Envelope): void {
    if (x.guardFailed && e.validatorId === x.id) {
      this.fail(`SAFETY guard: ${this.name(x.index)} sent its signed ${describeEnvelope(e)} after its guard failed to make a record durable`);
    }
    const plan = x.crashNow;
    if (plan !== null) {
      x.crashNow = null;
      if (plan.mode === 'sent') {
        if (!x.byzantine) this.checker.onBroadcast(x.index, x.id, e);
        this.broadcastFrom(x.index, e);
      }
      this.crash(x.index, `right after signing ${e.type} h${e.height} r${e.round}${plan.mode === 'sent' ? ' (sent)' : ' (not sent)'}`, plan.downMs);
      return;
    }
    if (!x.byzantine) this.checker.onBroadcast(x.index, x.id, e);
    this.broadcastFrom(x.index, e);
  }

  private bootStandIn(x: SimNode, inc: number, alive: () => boolean): void {
    const cfg = this.config;
    const chain = x.standIn!;
    const app = new SimApp({
      chainId: cfg.chainId,
      set: this.set,
      chain,
      certs: this.certs,
      now: () => SIM_GENESIS_TIME + this.now,
      later: (ms, fn) => {
        this.clock.schedule(ms, () => {
          if (!alive()) return;
          this.asyncTouched = true;
          fn();
        });
      },
      buildDelayMs: () => Math.max(this.appRng.int(1, cfg.buildDelayMaxMs), chain.tipTime + cfg.blockIntervalMs - (SIM_GENESIS_TIME + this.now)),
      beforeCommit: (fb) => {
        this.asyncTouched = true;
        if (!alive()) return 'node is down';
        if (x.byzantine) return null;
        return this.checker.onCommit(x.index, fb, chain.height, chain.tipHash, this.now);
      },
      afterCommit: (fb) => this.committed(x, fb),
    });

    let guard: SignGuard;
    if (x.byzantine) {
      guard = new RecklessGuard();
    } else {
      guard = new SimGuard(
        x.guardState,
        (st) => {
          if (!alive()) return;
          if (x.crashNow !== null && x.crashNow.mode === 'unflushed') {
            // The process dies before this write lands.
            this.crash(x.index, 'while making its signature durable (record lost)', x.crashNow.downMs);
            return;
          }
          this.guardDurable(x, st);
        },
        alive,
        (p) => this.onSigned(x, inc, p),
      );
    }

    const peers = this.nodes.filter((y) => y !== x).map((y) => y.index);
    let transport: Transport;
    if (x.byzantine) {
      const eq = new EquivocatingTransport({
        chainId: cfg.chainId,
        signer: x.signer,
        peers,
        rng: this.byzRng,
        send: (to, e) => this.sendWire(x.index, to, JSON.stringify(e)),
        leak: cfg.byzantineLeak,
      });
      x.equivocator = eq;
      transport = new SimTransport((e) => (alive() ? eq.broadcast(e) : undefined), peers.length);
    } else {
      transport = new SimTransport((e) => {
        if (alive()) this.sendOwn(x, e);
      }, peers.length);
    }

    const events: DriverEvents = {
      behind: (h) => {
        if (alive()) this.requestSync(x, inc, h);
      },
      evidence: (a, b) => {
        if (alive()) this.onEvidence(x, a, b);
      },
      refused: (step, h, r) => {
        if (alive()) this.onRefused(x, step, h, r);
      },
      error: (e) => {
        if (!alive()) return;
        this.anomaly(`${this.name(x.index)} driver error at t=${this.now}: ${(e as Error)?.message ?? String(e)}`);
      },
    };

    x.app = app;
    x.driver = new ConsensusDriver(
      { chainId: cfg.chainId, local: [{ id: x.id, signer: x.signer }], timeouts: cfg.timeouts, repairMs: cfg.repairMs },
      app,
      transport,
      guard,
      this.incarnationTimers(alive),
      events,
    );
    this.log(`${this.name(x.index)} ${inc === 1 ? 'starts' : 'restarts'} at height ${chain.height + 1}`);
    x.driver.start(chain.height + 1);
  }

  private onEvidence(x: SimNode, a: Envelope, b: Envelope): void {
    this.evidence.push({ node: x.index, validatorId: a.validatorId, type: a.type, height: a.height, round: a.round, at: this.now });
    if (!x.byzantine) this.checker.onEvidence(x.index, a, b, this.honestIds, (e) => this.validSignature(e));
  }

  private onRefused(x: SimNode, step: SignStep, h: number, r: number): void {
    this.refusals++;
    this.log(`${this.name(x.index)} guard refused ${step} h${h} r${r}`);
  }

  // ---- nodes running the real parts ----------------------------------------

  private bootFull(x: SimNode, inc: number, alive: () => boolean): void {
    const cfg = this.config;
    const genesis = this.genesis!;
    const timers = this.incarnationTimers(alive);
    const clock: Clock = { now: () => SIM_GENESIS_TIME + this.now + x.clockSkewMs, monotonic: () => this.now };
    const kind = cfg.byzantineKind;
    const reckless = x.byzantine && kind !== 'duplicate';
    const guard: SignGuard = reckless ? new RecklessGuard() : new SimGuard(x.guardState, (st) => this.persistGuard(x, alive, st), alive, (p) => this.onSigned(x, inc, p));
    const full: SimFullNode = new SimFullNode({
      genesis,
      disk: x.disk!,
      id: x.id,
      signer: x.signer,
      clock,
      timers,
      log: simLog(this.name(x.index), cfg.trace ? (line) => this.log(line) : null),
      verifier: this.verifier,
      guard,
      transport: this.fullTransport(x, alive, reckless),
      syncSource: this.syncSource(x, alive),
      random: () => this.syncRng.next(),
      options: {
        minBlockIntervalMs: cfg.minBlockIntervalMs,
        idleBlockIntervalMs: cfg.idleBlockIntervalMs,
        commitGatherMs: 50,
        timeouts: cfg.timeouts,
        repairMs: cfg.repairMs,
        mempool: { maxTxs: 5_000, maxBytes: 16_000_000, maxPerSender: 64, nonceWindow: 64, ttlBlocks: 1_200, replaceBumpPercent: 10, droppedMax: 10_000, droppedTtlMs: 600_000 },
        rateLimit: 0,
      },
      savedEvidence: x.savedEvidence,
      saveEvidence: (list) => {
        if (alive()) x.savedEvidence = list;
      },
      snapshots: this.fullSnapshots(x, alive, () => full),
      beforeDurable: (c) => this.beforeDurable(x, full, alive, c),
      committed: (fb) => {
        if (!alive()) return;
        if (!x.byzantine) this.checker.onStateRoot(x.index, fb.block.header.height, full.head.world.stateRoot, fb.block.header.stateRoot);
        this.committed(x, fb);
      },
      admitted: (d, _json, fromPeer) => {
        if (alive() && !fromPeer) this.gossipTx(x.index, d.json);
      },
      fatal: (e) => {
        if (alive()) this.fatal(x, e);
      },
      events: {
        evidence: (a, b) => {
          if (alive()) this.onEvidence(x, a, b);
        },
        refused: (step, h, r) => {
          if (alive()) this.onRefused(x, step, h, r);
        },
        error: (e) => {
          if (alive()) this.anomaly(`${this.name(x.index)} driver error at t=${this.now}: ${(e as Error)?.message ?? String(e)}`);
        },
      },
    });
    x.full = full;
    this.log(`${this.name(x.index)} ${inc === 1 ? 'starts' : 'restarts'} at height ${x.chain.height + 1}`);
    try {
      full.start();
    } catch (e) {
      this.violationsExtra.push(`STORE: ${this.name(x.index)} cannot start from its disk at t=${this.now}: ${(e as Error)?.stack ?? String(e)}`);
      this.stopped = true;
      return;
    }
    x.driver = full.driver;
    if (x.byzantine && kind === 'invalid-txs') this.injectForgedTxs(x, full, alive);
  }

  /** The transport of a node running the real parts: honest, or the Byzantine behaviour of the run. */
  private fullTransport(x: SimNode, alive: () => boolean, byzantine: boolean): Transport {
    const peers = this.nodes.filter((y) => y !== x).map((y) => y.index);
    const send = (to: number, e: Envelope): void => this.sendWire(x.index, to, JSON.stringify(e));
    if (!byzantine) {
      return new SimTransport((e) => {
        if (alive()) this.sendOwn(x, e);
      }, peers.length);
    }
    const p = { signer: x.signer, ownId: x.id, peers, rng: this.byzRng, send };
    let broadcast: (e: Envelope) => void;
    switch (this.config.byzantineKind) {
      case 'equivocate': {
        const eq = new EquivocatingTransport({ ...p, chainId: this.config.chainId, leak: this.config.byzantineLeak });
        x.equivocator = eq;
        broadcast = (e) => eq.broadcast(e);
        break;
      }
      case 'forge': {
        const t = new ForgingTransport(p, () => this.spareTx());
        broadcast = (e) => {
          const before = t.forgeries;
          t.broadcast(e);
          this.stats.byzantineActs += t.forgeries - before;
        };
        break;
      }
      case 'flood': {
        const t = new FloodingTransport({ ...p, chainId: this.config.chainId }, this.byzRng.int(4, 16));
        broadcast = (e) => {
          const before = t.floods;
          t.broadcast(e);
          this.stats.byzantineActs += t.floods - before;
        };
        break;
      }
      case 'withhold': {
        const t = new WithholdingTransport(p);
        broadcast = (e) => {
          const before = t.withheld;
          t.broadcast(e);
          this.stats.byzantineActs += t.withheld - before;
        };
        break;
      }
      default:
        broadcast = (e) => this.broadcastFrom(x.index, e);
    }
    return new SimTransport((e) => (alive() ? broadcast(e) : undefined), peers.length);
  }

  /** A genuine signed tx some client sent (a forger slips it into bodies that did not carry it). */
  private spareTx(): Record<string, unknown> | null {
    const ref = this.nodes.find((x) => x.up && x.disk !== null && x.disk.height > 0);
    if (ref === undefined) return null;
    for (let h = ref.disk!.height; h >= 1 && h > ref.disk!.height - 5; h--) {
      const d = ref.disk!.block(h)?.block.txs[0];
      if (d !== undefined) return JSON.parse(d.json) as Record<string, unknown>;
    }
    return null;
  }

  /** An `invalid-txs` validator: transfers with forged signatures in its own pool, so its blocks carry them. */
  private injectForgedTxs(x: SimNode, full: SimFullNode, alive: () => boolean): void {
    const tick = (): void => {
      if (!alive()) return;
      const victim = this.byzRng.int(0, CLIENT_ACCOUNTS - 1);
      const address = simAccount(victim).key.address;
      const d = forgedTransfer({ chainId: this.config.chainId, victim, to: simAccount(OPERATOR_BASE + x.keyIndex).key.address, nonce: full.mempool.pendingNonce(address, full.head.world), forger: x.signer });
      try {
        full.mempool.add(d, full.head.world, full.head.height + 1, SIM_GENESIS_TIME + this.now);
        full.app.txAdmitted();
        this.stats.byzantineActs++;
      } catch {
        // The pool refused it (a nonce taken meanwhile): the next one.
      }
      this.clock.schedule(this.byzRng.int(100, 600), tick);
    };
    this.clock.schedule(this.byzRng.int(0, 300), tick);
  }

  /**
   * The guard's write of node x: it lands after a short virtual delay, in
   * order; a guard fault makes it fail; a crash planned for this signature
   * kills the node before it lands (the record is lost).
   */
  private persistGuard(x: SimNode, alive: () => boolean, st: GuardState): Promise<void> {
    // A dead process writes nothing (and nobody waits for it).
    if (!alive()) return new Promise<void>(() => undefined);
    const at = Math.max(this.now + this.appRng.int(0, 2), x.lastGuardWriteAt);
    x.lastGuardWriteAt = at;
    return new Promise<void>((resolve, reject) => {
      this.clock.scheduleAt(at, () => {
        if (!alive()) return;
        this.asyncTouched = true;
        if (x.crashNow !== null && x.crashNow.mode === 'unflushed') {
          this.crash(x.index, 'while making its signature durable (record lost)', x.crashNow.downMs);
          return;
        }
        if (this.activeFault(x, 'guard') !== undefined) {
          x.guardFailed = true;
          this.log(`${this.name(x.index)} guard write FAILS: it may sign and send nothing more`);
          reject(new Error('the double-sign guard record could not be written (simulated disk failure)'));
          return;
        }
        this.guardDurable(x, st);
        resolve();
      });
    });
  }

  private activeFault(x: SimNode, target: WriteFault['target']): WriteFault | undefined {
    return (this.config.scenario.writeFaults ?? []).find((w) => w.node === x.index && w.target === target && this.now >= w.at && this.now <= w.until);
  }

  /**
   * A block commit of node x before it is durable: the checks (chain link,
   * certificate, body, tx signatures, evidence), then the write, which lands
   * after a short virtual delay unless a disk fault fails it or tears it.
   */
  private beforeDurable(x: SimNode, full: SimFullNode, alive: () => boolean, c: BlockCommit): Promise<void> {
    this.asyncTouched = true;
    if (!alive()) return Promise.resolve();
    const fb = c.block;
    const h = fb.block.header.height;
    if (!x.byzantine) {
      const disk = x.disk!;
      const tip = disk.height === 0 ? this.genesisHashValue : disk.block(disk.height)!.hash;
      let refuse = this.checker.onCommit(x.index, fb, disk.height, tip, this.now, full.head.setAt(h)) ?? this.checker.onStore(x.index, fb);
      for (const d of fb.block.txs) {
        if (!this.memo.verify({ pubKey: d.tx.pubKey, message: d.signBytes, signature: d.tx.signature })) {
          this.fail(`SAFETY tx: ${this.name(x.index)} stores block ${h} with tx ${d.id.slice(0, 12)} whose signature does not verify`);
          refuse = 'a tx signature does not verify';
        }
      }
      for (const ev of fb.block.evidence) {
        if (this.honestIds.has(ev.a.validatorId)) this.fail(`SAFETY evidence: block ${h} stored by ${this.name(x.index)} punishes honest validator ${ev.a.validatorId.slice(0, 8)}`);
      }
      if (refuse !== null) {
        // A broken invariant: the run has failed, and the node would only stop and fetch the block again.
        this.stopped = true;
        return Promise.reject(new Error(`the simulation refuses block ${h}: ${refuse}`));
      }
    }
    const fault = this.activeFault(x, 'disk');
    const at = this.now + this.appRng.int(0, 3);
    return new Promise<void>((resolve, reject) => {
      this.clock.scheduleAt(at, () => {
        this.asyncTouched = true;
        if (fault !== undefined && fault.mode === 'fail') {
          reject(new Error(`block ${h} could not be written (simulated disk failure)`));
          return;
        }
        if (fault !== undefined && alive()) this.crash(x.index, `while block ${h} was being written (torn write: the block is lost)`, fault.restartMs);
        resolve();
      });
    });
  }

  /** A node stopped on a fatal error: its process exits, and a supervisor restarts it. */
  private fatal(x: SimNode, e: FatalError): void {
    this.stats.fatalStops++;
    const fault = (this.config.scenario.writeFaults ?? []).find((w) => w.node === x.index && this.now >= w.at && this.now <= w.until + 10);
    const restartMs = fault?.restartMs ?? 1_000;
    // Only a write that failed may stop a node: anything else is a bug of the node's parts (or a block the checks refused).
    if (fault === undefined) this.violationsExtra.push(`FATAL: ${this.name(x.index)} stopped on a fatal error outside any write fault at t=${this.now}: ${e.message}`);
    this.noteFault(this.now + restartMs);
    this.crash(x.index, `fatal error: ${e.message}`, restartMs);
  }

  /** Where a node running the real parts catches up: its peers, asked over the simulated network. */
  private syncSource(x: SimNode, alive: () => boolean): SyncSource {
    const peers = this.nodes.filter((y) => y !== x).map((y) => String(y.index));
    return {
      peers: () => peers,
      status: async (peer) => {
        const st = await this.request(x, alive, Number(peer), (y) => {
          const answer = y.full!.syncStatus();
          return y.byzantine && this.config.byzantineKind === 'forge' ? { ...answer, height: answer.height + 3 } : answer;
        });
        this.log(`${this.name(x.index)} learns that node ${peer} is at height ${st.height} (its own: ${x.chain.height})`);
        return st;
      },
      blocks: async (peer, from, limit) => {
        this.stats.syncRequests++;
        const jsons = await this.request(x, alive, Number(peer), (y) => {
          const list = y.full!.blocksJson(from, limit);
          return y.byzantine && this.config.byzantineKind === 'forge' ? forgeSyncAnswer(list, this.byzRng, this.spareTx()) : list;
        });
        const blocks = jsons.map((j) => decodeFinalizedBlock(JSON.parse(j)));
        this.stats.syncBlocks += blocks.length;
        this.log(`${this.name(x.index)} fetches ${blocks.length} blocks from node ${peer}, from height ${from}`);
        return blocks;
      },
      penalize: (peer, reason) => {
        this.stats.syncPenalties++;
        this.log(`${this.name(x.index)} penalizes peer ${peer} after a sync request: ${reason}`);
      },
    };
  }

  // ---- snapshots (scenario snapshot-join) -----------------------------------

  /** What a node running the real parts gets for pruning, snapshots and snapshot sync (nothing outside `snapshot-join`). */
  private fullSnapshots(x: SimNode, alive: () => boolean, full: () => SimFullNode): FullNodeSnapshots | undefined {
    const p = this.config.snapshots;
    if (p === undefined || x.snapshots === null) return undefined;
    const holder = x.snapshots;
    return {
      pruneKeepBlocks: p.pruneKeepBlocks,
      everyBlocks: p.everyBlocks,
      chunkBytes: p.chunkBytes,
      minLag: p.minLag,
      timeoutMs: p.timeoutMs,
      writer: (isAlive) => {
        const w = holder.writer(() => isAlive() && alive());
        return {
          ...w,
          finish: async (m) => {
            await w.finish(m);
            if (!isAlive() || !alive()) return;
            this.stats.snapshotsTaken++;
            this.log(`${this.name(x.index)} takes a snapshot at height ${m.height} (${m.chunks.length} chunks, ${m.entries} entries)`);
          },
        };
      },
      source: this.snapshotSource(x, alive),
      installed: (block, stateRoot) => {
        if (!alive()) return;
        const h = block.block.header.height;
        this.stats.snapshotInstalls++;
        x.installs.push({ height: h, hash: block.hash, at: this.now });
        x.driver = full().driver;
        this.log(`${this.name(x.index)} INSTALLS the snapshot of height ${h} (${block.hash.slice(0, 12)}), state root ${stateRoot.slice(0, 12)}, and resumes at height ${h + 1}`);
        if (!x.byzantine) this.checker.onInstall(x.index, h, block.hash, stateRoot, block.block.header.stateRoot);
      },
    };
  }

  /**
   * Snapshots from a node's peers over the simulated network (as
   * `GET /sync/status`, `/sync/snapshots…`, `/sync/headers`,
   * `/sync/epochs/:epoch`): every answer goes through JSON and the node's
   * decoders; the Byzantine validator's node tells the run's lie.
   */
  private snapshotSource(x: SimNode, alive: () => boolean): SnapshotSource {
    const peers = this.nodes.filter((y) => y !== x).map((y) => String(y.index));
    const lie = this.config.snapshots!.lie;
    const liar = (y: SimNode): boolean => y.byzantine;
    const forged = new Map<number, HeldSnapshot>();
    const held = (y: SimNode, height: number): HeldSnapshot | undefined => {
      if (liar(y) && lie === 'forged-state') {
        const f = forged.get(y.index);
        if (f !== undefined && f.manifest.height === height) return f;
      }
      return y.snapshots?.get(height);
    };
    const wire = <T>(v: T): unknown => JSON.parse(JSON.stringify(v));
    return {
      peers: () => peers,
      status: (peer) =>
        this.request(x, alive, Number(peer), (y) => {
          const st = y.full!.syncStatus();
          return { height: st.height, genesisHash: st.genesisHash, earliestBlockHeight: y.full!.store.earliestBlockHeight() };
        }),
      snapshots: async (peer) => {
        const j = await this.request(x, alive, Number(peer), (y) => {
          const list = y.snapshots?.list() ?? [];
          const newest = y.snapshots?.newest;
          const tip = y.full!.store.getBlock(y.full!.head.height);
          if (liar(y) && lie === 'forged-state' && newest !== undefined && tip !== undefined && tip.block.header.height > newest.manifest.height) {
            const f = forged.get(y.index)?.manifest.height === tip.block.header.height ? forged.get(y.index)! : forgeSnapshot(newest, tip);
            forged.set(y.index, f);
            this.stats.byzantineActs++;
            return wire({ snapshots: [f.summary, ...list] });
          }
          return wire({ snapshots: list });
        });
        return decodeSnapshotList(j);
      },
      manifest: async (peer, height) => {
        const j = await this.request(x, alive, Number(peer), (y) => {
          const s = held(y, height);
          if (s === undefined) throw new FastposError(ErrorCode.NOT_FOUND, `node ${y.index} holds no snapshot at height ${height}`);
          const m = encodeManifest(s.manifest);
          if (liar(y) && lie === 'wrong-root') {
            this.stats.byzantineActs++;
            return wire({ ...m, stateRoot: otherRoot(s.manifest.stateRoot) });
          }
          return wire(m);
        });
        return decodeManifest(j);
      },
      chunk: async (peer, height, index, maxBytes) => {
        const b64 = await this.request(x, alive, Number(peer), (y) => {
          const data = held(y, height)?.chunks[index];
          if (data === undefined) throw new FastposError(ErrorCode.NOT_FOUND, `node ${y.index} holds no chunk ${index} of a snapshot at height ${height}`);
          if (liar(y) && lie === 'corrupt-chunk') {
            this.stats.byzantineActs++;
            return corruptChunk(data, this.byzRng.int(0, data.length - 1)).toString('base64');
          }
          return data.toString('base64');
        });
        const data = Buffer.from(b64, 'base64');
        if (data.length > maxBytes) throw new FastposError(ErrorCode.INVALID_MESSAGE, `peer ${peer} sent a chunk of ${data.length} bytes, more than ${maxBytes}`);
        return data;
      },
      headers: async (peer, from, limit) => {
        const j = await this.request(x, alive, Number(peer), (y) => {
          const store = y.full!.store;
          const earliest = store.earliestHeaderHeight();
          if (from < earliest) throw new FastposError(ErrorCode.PRUNED, `headers below height ${earliest} are not kept by node ${y.index}`);
          return wire(store.getHeaders(from, Math.min(limit, Math.max(0, y.full!.head.height - from + 1))).map((h) => ({ header: h.header, hash: h.hash, commit: h.commit })));
        });
        if (!Array.isArray(j) || j.length > limit) throw new FastposError(ErrorCode.INVALID_MESSAGE, `peer ${peer} answered a headers request with too many headers`);
        return j.map((h) => decodeCertifiedHeader(h));
      },
      epoch: async (peer, epoch) => {
        const json = await this.request(x, alive, Number(peer), (y) => {
          const key = epochKey(epoch);
          const rec = y.full!.head.world.get(key);
          if (rec === undefined) throw new FastposError(ErrorCode.NOT_FOUND, `no validator set is stored for epoch ${epoch} at node ${y.index}`);
          return encodeStateValue(key, rec);
        });
        return decodeStateValue(epochKey(epoch), json) as EpochRecord;
      },
      penalize: (peer, reason) => {
        this.stats.snapshotPenalties++;
        if (this.nodes[Number(peer)]?.byzantine === true) this.stats.snapshotPenaltiesByzantine++;
        this.log(`${this.name(x.index)} penalizes peer ${peer} after a snapshot request: ${reason}`);
      },
    };
  }

  /**
   * Scenario `snapshot-join`: the node leaves at `j.at` and loses its chain
   * store and snapshots (its guard record survives, as a separate file an
   * operator keeps); it comes back once `minDownMs` passed and every honest
   * peer that is up keeps whole blocks only above height 1 and holds a
   * snapshot. Liveness is required from its return on.
   */
  private scheduleJoin(j: SnapshotJoin): void {
    const x = this.nodes[j.node]!;
    this.clock.scheduleAt(j.at, () => {
      this.crash(x.index, 'leaves; its chain store will be wiped', null);
      const check = (): void => {
        const peers = this.nodes.filter((y) => y !== x && y.up && !y.byzantine && y.disk !== null);
        const ready = peers.length > 0 && peers.every((y) => y.disk!.earliestBlockHeight > 1 && (y.snapshots?.newest !== undefined));
        if (!ready) {
          this.clock.schedule(500, check);
          return;
        }
        const disk = new MemoryDisk();
        x.disk = disk;
        (x.chain as DiskChain).disk = disk;
        x.snapshots = new SnapshotHolder(this.config.snapshots?.keep ?? 3);
        x.savedEvidence = [];
        this.log(`${this.name(x.index)} comes back with an empty chain store; its peers keep whole blocks from ${peers.map((y) => `${y.index}:${y.disk!.earliestBlockHeight}`).join(' ')}`);
        this.stableAt = Math.max(faultsOverAt(this.config.scenario), this.now);
        this.restart(x.index);
      };
      this.clock.schedule(j.minDownMs, check);
    });
  }

  /**
   * A request from node x to node `to` over the simulated network: one delay
   * there, the peer's answer, one delay back. A peer that is down refuses at
   * once; a lost or partitioned request or answer times out.
   */
  private request<T>(x: SimNode, alive: () => boolean, to: number, serve: (y: SimNode) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (fn: () => void): void => {
        if (!alive()) return;
        this.asyncTouched = true;
        fn();
      };
      const timeout = (): void => {
        this.clock.schedule(REQUEST_TIMEOUT_MS, () => settle(() => reject(new Error(`request to node ${to} timed out`))));
      };
      const delay = (): number => this.netRng.int(this.config.minDelayMs, this.config.maxDelayMs);
      if (this.blocked(x.index, to) || this.netRng.chance(this.config.loss)) return timeout();
      this.clock.schedule(delay(), () => {
        const y = this.nodes[to];
        if (y === undefined || !y.up || y.full === null) {
          this.clock.schedule(delay(), () => settle(() => reject(new Error(`node ${to} refused the connection`))));
          return;
        }
        let answer: T;
        try {
          answer = serve(y);
        } catch (e) {
          this.clock.schedule(delay(), () => settle(() => reject(e)));
          return;
        }
        if (this.blocked(to, x.index) || this.netRng.chance(this.config.loss)) return timeout();
        this.clock.schedule(delay(), () => settle(() => resolve(answer)));
      });
    });
  }

  /** A client's tx that node `from` admitted goes to each peer once (peers do not pass it on). */
  private gossipTx(from: number, json: string): void {
    for (const y of this.nodes) {
      if (y.index === from || this.blocked(from, y.index) || this.netRng.chance(this.config.loss)) continue;
      const to = y.index;
      const inc = y.incarnation;
      this.clock.schedule(this.netRng.int(this.config.minDelayMs, this.config.maxDelayMs), () => {
        const z = this.nodes[to]!;
        if (!z.up || z.incarnation !== inc || z.full === null || this.blocked(from, to)) return;
        this.asyncTouched = true;
        z.full.receiveTxs([JSON.parse(json)]).catch((e: unknown) => this.anomaly(`${this.name(to)} tx gossip failed: ${(e as Error)?.message ?? String(e)}`));
      });
    }
  }

  /** Clients submit signed txs to random nodes that are up, at random times. */
  private scheduleTx(): void {
    const load = this.load!;
    this.clock.schedule(this.appRng.int(1, 2 * this.config.txIntervalMs), () => {
      const ups = this.nodes.filter((y) => y.up && y.full !== null);
      if (ups.length > 0) {
        const y = this.appRng.pick(ups);
        const full = y.full!;
        const tx = load.next((address) => full.mempool.pendingNonce(address, full.head.world), this.config.stakingTxs && this.now < this.faultsEnd);
        this.txs.set(tx.id, { kind: tx.kind, from: tx.from, node: y.index, at: this.now });
        this.stats.txsSubmitted++;
        this.asyncTouched = true;
        full.submit(tx.json).then(
          (r) => {
            if (r.ok) this.stats.txsAdmitted++;
            else this.log(`${this.name(y.index)} refuses client tx ${tx.id.slice(0, 12)} (${tx.kind}): ${r.error.code}`);
          },
          (e: unknown) => this.anomaly(`${this.name(y.index)} admission failed: ${(e as Error)?.message ?? String(e)}`),
        );
      }
      this.scheduleTx();
    });
  }

  // ---- crash and restart ---------------------------------------------------

  /** Crashes node i now; it restarts `downMs` later (null: never). No-op if it is down. */
  crash(i: number, why: string, downMs: number | null): void {
    const x = this.nodes[i];
    if (x === undefined || !x.up) return;
    x.up = false;
    x.incarnation++;
    const d = x.driver;
    const full = x.full;
    x.driver = null;
    x.app = null;
    x.full = null;
    x.syncing = false;
    x.crashNow = null;
    x.signCrash = null;
    d?.stop();
    full?.crash();
    this.stats.crashes++;
    this.log(`${this.name(i)} CRASH (${why}) at height ${x.chain.height + 1}${downMs === null ? ', stays down' : `, restarts in ${downMs} ms`}`);
    if (downMs !== null) this.clock.schedule(downMs, () => this.restart(i));
  }

  restart(i: number): void {
    const x = this.nodes[i];
    if (x === undefined || x.up) return;
    this.stats.restarts++;
    this.boot(x);
  }

  private committed(x: SimNode, fb: FinalizedBlock): void {
    x.lastDecisionAt = this.now;
    if (!this.decidedHeights.has(fb.block.header.height)) {
      this.decidedHeights.add(fb.block.header.height);
      this.setHashes.add(fb.block.header.validatorSetHash);
      this.stats.validatorSets = this.setHashes.size;
      this.stats.evidenceInBlocks += fb.block.evidence.length;
    }
    const d: Decision = { height: fb.block.header.height, round: fb.commit.round, hash: fb.hash, at: this.now };
    x.decisions.push(d);
    this.log(`${this.name(x.index)} DECIDES h${d.height} r${d.round} ${d.hash.slice(0, 12)} (block round ${fb.block.header.round}, ${fb.block.txs.length} txs)`);
    for (const f of this.decideListeners) f(x, fb, this.now);
  }

  private anomaly(msg: string): void {
    if (this.anomalies.length < 200) this.anomalies.push(msg);
    this.log(`ANOMALY ${msg}`);
  }

  // ---- network -----------------------------------------------------------

  /** True when a partition active now drops messages from a to b. */
  blocked(a: number, b: number): boolean {
    const t = this.now;
    for (const p of this.config.scenario.partitions) {
      if (t < p.start || t >= p.end) continue;
      if (partitionBlocks(p, a, b)) return true;
    }
    return false;
  }

  private broadcastFrom(from: number, e: Envelope): void {
    if (this.config.trace) {
      const own = this.nodes[from]?.id === e.validatorId;
      this.log(`${this.name(from)} ${own ? 'sends' : `relays ${e.validatorId.slice(0, 8)}'s`} ${describeEnvelope(e)}`);
    }
    const wire = JSON.stringify(e);
    for (const y of this.nodes) if (y.index !== from) this.sendWire(from, y.index, wire);
  }

  private sendWire(from: number, to: number, wire: string): void {
    this.stats.sent++;
    if (this.blocked(from, to)) {
      this.stats.partitioned++;
      return;
    }
    if (this.netRng.chance(this.config.loss)) {
      this.stats.lost++;
      return;
    }
    const copies = this.netRng.chance(this.config.duplication) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const inc = this.nodes[to]!.incarnation;
    for (let c = 0; c < copies; c++) {
      const delay = this.netRng.int(this.config.minDelayMs, this.config.maxDelayMs);
      this.clock.schedule(delay, () => this.deliver(from, to, wire, inc));
    }
  }

  private deliver(from: number, to: number, wire: string, inc: number): void {
    const x = this.nodes[to]!;
    if (!x.up || x.incarnation !== inc || (x.driver === null && x.full === null)) {
      this.stats.droppedDown++;
      return;
    }
    if (this.blocked(from, to)) {
      this.stats.partitioned++;
      return;
    }
    if (x.full !== null) this.deliverFull(x, wire);
    else this.deliverStandIn(x, wire);
  }

  /** An envelope to a node running the real parts: its peer inbox takes it (POST /p2p/message). */
  private deliverFull(x: SimNode, wire: string): void {
    let json: unknown;
    try {
      json = JSON.parse(wire);
    } catch {
      this.stats.rejected++;
      return;
    }
    this.asyncTouched = true;
    try {
      x.full!.receiveEnvelope(json);
      this.stats.delivered++;
    } catch (e) {
      if (!(e instanceof FastposError)) {
        this.violationsExtra.push(`ERROR ${this.name(x.index)}: the peer inbox threw at t=${this.now}: ${(e as Error)?.stack ?? String(e)}`);
        this.stopped = true;
        return;
      }
      if (e.code === ErrorCode.OUTDATED_MESSAGE) this.stats.outdated++;
      else if (e.code === ErrorCode.DUPLICATE_MESSAGE) this.stats.duplicates++;
      else {
        this.stats.rejected++;
        if (this.config.trace) this.log(`${this.name(x.index)} refuses a message: ${e.code} ${e.message}`);
      }
    }
  }

  /** The checks a node makes before its driver (the stand-in has no peer inbox). */
  private deliverStandIn(x: SimNode, wire: string): void {
    let e: Envelope;
    try {
      e = decodeEnvelope(JSON.parse(wire));
    } catch {
      this.stats.rejected++;
      return;
    }
    // A real node refuses a message of a height it has committed before anything else looks at it.
    if (e.height <= x.chain.height) {
      this.stats.outdated++;
      return;
    }
    // The checks are a function of the bytes: a copy already accepted (a repair, a duplicate) is accepted again.
    if (!this.acceptedWire.has(wire)) {
      if (e.chainId !== this.config.chainId || !this.validSignature(e)) {
        this.stats.rejected++;
        return;
      }
      this.acceptedWire.add(wire);
    }
    // The payload is decoded once, as a node's peer inbox does, and the driver takes the decoded message.
    let m: InboundMessage;
    try {
      m = decodeInbound(e, this.set);
    } catch {
      this.stats.rejected++;
      return;
    }
    this.stats.delivered++;
    x.driver!.receive(m);
  }

  /** The sender is a genesis validator and signed `envelopeSignBytes(e)` (votes: the same bytes as `voteSignBytes`). */
  validSignature(e: Envelope): boolean {
    const v = this.setById.get(e.validatorId);
    if (v === undefined) return false;
    const bytes = envelopeSignBytes(e);
    const key = e.validatorId + e.signature;
    const s = bytes.toString('latin1');
    if (this.sigCache.get(key) === s) return true;
    this.stats.signatureChecks++;
    if (!verifySignature(v.pubKey, bytes, e.signature, this.certs.keyCache)) return false;
    this.sigCache.set(key, s);
    return true;
  }

  // ---- stand-in sync -------------------------------------------------------

  private requestSync(x: SimNode, inc: number, height: number): void {
    if (x.syncing) return;
    const peers = this.nodes.filter((y) => y !== x && y.up && !y.byzantine && !this.blocked(x.index, y.index));
    if (peers.length === 0) return;
    const peer = this.netRng.pick(peers);
    x.syncing = true;
    this.stats.syncRequests++;
    this.log(`${this.name(x.index)} behind (saw height ${height}, at ${x.chain.height + 1}): sync from ${this.name(peer.index)}`);
    const alive = (): boolean => x.up && x.incarnation === inc;
    const delay = (): number => this.netRng.int(this.config.minDelayMs, this.config.maxDelayMs);
    this.clock.schedule(delay(), () => {
      if (!alive()) return;
      if (!peer.up || this.blocked(peer.index, x.index)) {
        x.syncing = false;
        return;
      }
      const from = x.chain.height;
      const blocks = peer.standIn!.blocks.slice(from, from + 64);
      this.clock.schedule(delay(), () => {
        if (alive()) this.applySync(x, inc, blocks, 0);
      });
    });
  }

  private applySync(x: SimNode, inc: number, blocks: readonly FinalizedBlock[], stuck: number): void {
    if (!x.up || x.incarnation !== inc || x.driver === null || x.app === null) return;
    const next = x.chain.height + 1;
    const fb = blocks.find((b) => b.block.header.height === next);
    if (fb === undefined || stuck > 20) {
      x.syncing = false;
      return;
    }
    // A copy, as if it came over the wire.
    const copy = JSON.parse(JSON.stringify(fb)) as FinalizedBlock;
    if (!x.app.verifyCertified(copy)) {
      this.anomaly(`${this.name(x.index)} sync: block ${next} from a peer does not verify: ${x.app.invalidReason(copy.block, copy.hash) ?? 'certificate'}`);
      x.syncing = false;
      return;
    }
    if (x.driver.currentHeight === next) {
      this.stats.syncBlocks++;
      this.asyncTouched = true;
      x.driver.certified(copy);
    }
    this.clock.schedule(1, () => this.applySync(x, inc, blocks, x.chain.height + 1 === next ? stuck + 1 : 0));
  }

  // ---- run ---------------------------------------------------------------

  /** Runs events until the goal is met, a liveness violation stops the run, or maxVirtualMs. */
  async run(host: SimHost): Promise<SimResult> {
    const unwatch = host.watchRejections((err: unknown): void => {
      this.violationsExtra.push(`ERROR unhandled rejection at t=${this.now}: ${(err as Error)?.stack ?? String(err)}`);
      this.stopped = true;
    });
    // The node's parts answer through promises: let them settle after every event.
    const settleAlways = this.config.app === 'node';
    try {
      this.start();
      if (settleAlways) await host.drain();
      while (!this.stopped) {
        const t = this.clock.peekTime();
        if (t === null || t > this.config.maxVirtualMs) break;
        const ev = this.clock.next()!;
        try {
          ev.fn();
        } catch (err) {
          this.violationsExtra.push(`ERROR exception at t=${this.now}: ${(err as Error)?.stack ?? String(err)}`);
          this.stopped = true;
        }
        if (settleAlways) this.asyncTouched = true;
        while (this.asyncTouched) {
          this.asyncTouched = false;
          await host.drain();
        }
        if (this.config.trace) this.tracePositions();
        this.checkProgress();
      }
      this.finish();
    } finally {
      unwatch();
    }
    return this.result();
  }

  private tracePositions(): void {
    for (const x of this.nodes) {
      if (x.driver === null) continue;
      const pos = `h${x.driver.currentHeight} r${x.driver.round} ${x.driver.step}`;
      if (this.lastPos.get(x.index) !== pos) {
        this.lastPos.set(x.index, pos);
        this.log(`${this.name(x.index)} at ${pos}`);
      }
    }
  }

  private checkProgress(): void {
    const now = this.now;
    if (now < this.stableAt) return;
    const W = this.config.livenessWindowMs;
    if (this.livenessExpected === null) {
      const q = this.honestQuorumUp();
      this.livenessExpected = q.ok;
      this.log(`faults over: liveness ${q.ok ? 'required' : 'not required'} (honest power up ${q.up} of ${q.total})`);
    }
    if (!this.livenessExpected) {
      if (now >= this.stableAt + W) this.stopped = true;
      return;
    }
    let done = true;
    for (const x of this.nodes) {
      if (x.byzantine || !x.up) continue;
      const since = Math.max(this.stableAt, x.lastDecisionAt);
      if (now - since > W) {
        const d = x.driver;
        this.violationsExtra.push(
          `LIVENESS: ${this.name(x.index)} decided nothing from t=${since} to t=${now} (faults over at ${this.stableAt}); it is at height ${x.chain.height + 1}${d === null ? '' : ` round ${d.round} ${d.step}`}; heights of all nodes: ${this.nodes.map((y) => `${y.index}:${y.chain.height}${y.up ? '' : '(down)'}`).join(' ')}`,
        );
        this.stopped = true;
        return;
      }
      if (x.chain.height < this.config.heights || x.lastDecisionAt <= this.stableAt) done = false;
    }
    if (done) this.stopped = true;
  }

  private finish(): void {
    if (this.config.app === 'node') this.finalChecks();
    const j = this.config.scenario.snapshotJoin;
    if (j !== undefined) {
      const x = this.nodes[j.node]!;
      if (this.stableAt !== Infinity && x.installs.length === 0) {
        this.violationsExtra.push(`SNAPSHOT: ${this.name(x.index)} came back with an empty store after its peers pruned block 1, but installed no snapshot (it is at height ${x.chain.height})`);
      }
    }
    if (this.livenessExpected === null) {
      if (this.stableAt > this.config.maxVirtualMs) this.violationsExtra.push(`CONFIG: faults last until ${this.stableAt} ms, after maxVirtualMs ${this.config.maxVirtualMs}`);
      return;
    }
    if (!this.livenessExpected) return;
    if (this.violationsExtra.some((v) => v.startsWith('LIVENESS'))) return;
    for (const x of this.nodes) {
      if (x.byzantine || !x.up) continue;
      if (x.chain.height < this.config.heights) {
        this.violationsExtra.push(`PROGRESS: ${this.name(x.index)} reached height ${x.chain.height} of ${this.config.heights} by t=${this.now}`);
      }
    }
  }

  /**
   * At the end of a run of the real parts, on every honest node's disk (up or
   * down): each finalized tx is in the stored block the store names, at the
   * position it names, in the block decided at that height; a node that is
   * up reports the same through `Admission.status`; tx queries list exactly
   * the stored txs of a sender; double-sign punishments name faulty
   * validators only.
   */
  private finalChecks(): void {
    const finalized = new Set<string>();
    const senders = [...new Set([...this.txs.values()].map((t) => t.from))].slice(0, 3);
    for (const x of this.nodes) {
      if (x.byzantine || x.disk === null) continue;
      const store = new MemoryChainStore(x.disk);
      store.open();
      for (const id of this.txs.keys()) {
        const rec = store.getTx(id);
        const status = x.full?.admission.status(id);
        if (status?.status === 'finalized' && (rec === undefined || rec.height !== status.height || rec.index !== status.index || rec.blockHash !== status.blockHash)) {
          this.fail(`TX: ${this.name(x.index)} reports tx ${id.slice(0, 12)} finalized at height ${status.height} index ${status.index}, its store says ${rec === undefined ? 'nothing' : `height ${rec.height} index ${rec.index}`}`);
        }
        if (rec === undefined) continue;
        finalized.add(id);
        const fb = store.getBlock(rec.height);
        const decided = this.checker.decidedHash(rec.height);
        if (fb === undefined || fb.hash !== rec.blockHash || fb.block.txs[rec.index]?.id !== id || (decided !== undefined && decided !== fb.hash)) {
          this.fail(`TX: ${this.name(x.index)} stores tx ${id.slice(0, 12)} as finalized in block ${rec.height} (${rec.blockHash.slice(0, 12)}) index ${rec.index}, which does not hold it there`);
        }
      }
      for (const from of senders) {
        const q = store.queryTxs({ from, offset: 0, limit: 10_000, order: 'asc' });
        const bad = q.items.find((r) => (r.tx as { from?: string }).from !== from || store.getTx(r.id)?.height !== r.height);
        if (bad !== undefined || q.total !== q.items.length) this.fail(`TX: ${this.name(x.index)} lists txs of ${from.slice(0, 8)} that its store does not hold as listed`);
      }
      for (const v of x.full?.head.validators.values() ?? []) {
        if (this.honestIds.has(v.id) && v.slashes.some((s) => s.reason === 'double_sign')) this.fail(`SAFETY evidence: ${this.name(x.index)}'s state slashes honest validator ${v.id.slice(0, 8)} for double signing`);
      }
    }
    this.stats.txsFinalized = finalized.size;
  }

  result(): SimResult {
    const honest = this.nodes.filter((x) => !x.byzantine);
    const upHonest = honest.filter((x) => x.up);
    const pool = upHonest.length > 0 ? upHonest : honest;
    const violations = this.violations;
    return {
      ok: violations.length === 0,
      seed: this.config.seed,
      violations,
      heightsDecided: pool.length === 0 ? 0 : Math.min(...pool.map((x) => x.chain.height)),
      maxHeight: Math.max(0, ...honest.map((x) => x.chain.height)),
      virtualMs: this.now,
      messages: this.stats.sent,
      stats: { ...this.stats, signatureChecks: this.stats.signatureChecks + this.memo.checks },
      stableAt: this.stableAt,
      livenessExpected: this.livenessExpected,
      evidence: [...this.evidence],
      equivocations: this.nodes.reduce((a, x) => a + (x.equivocator?.equivocations ?? 0), 0),
      refusals: this.refusals,
      anomalies: [...this.anomalies],
      decisions: this.nodes.map((x) => [...x.decisions]),
      description: describeConfig(this.config),
      trace: [...this.traceLines],
    };
  }
}

/** One run from options and a seed: the seed decides the scenario, so it replays the run exactly. */
export async function runSimulation(opts: SimulationOptions, host: SimHost): Promise<SimResult> {
  return new Simulation(deriveConfig(opts)).run(host);
}

export type { SignStep };
