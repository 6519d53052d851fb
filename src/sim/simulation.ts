/**
 * Deterministic network simulation: N ConsensusDrivers in one process on a
 * virtual clock and a simulated network, from one seed.
 *
 * - Virtual timers: `VirtualClock` events; each node incarnation gets its own
 *   `DriverTimers`, whose events die with it.
 * - Network: every envelope goes through JSON on the wire, then the checks a
 *   real node makes before `driver.receive` (shape, a height not yet
 *   committed, chain, sender in the set, Ed25519 signature over
 *   `envelopeSignBytes`). Random delay (so reordering),
 *   loss, duplication, partitions that start and heal.
 * - Crash: `driver.stop()`; the incarnation's timers, build jobs, inbound
 *   messages and sync die with it; nothing it does afterwards persists or
 *   leaves the node. Restart: a new driver and app for the same key on the
 *   chain and guard state that survived, at (last committed height + 1).
 * - Sync: when a driver reports `behind`, the node asks one reachable honest
 *   peer for the finalized blocks after its tip, checks each (header rules and
 *   `verifyCommit`) and hands it to `driver.certified` at its current height.
 * - Checkers: see checker.ts for safety; liveness is checked here.
 * @module
 */
import { newValidator } from '../state/staking.js';
import { decodeEnvelope, envelopeSignBytes, type Envelope } from '../codec/envelope.js';
import type { SimHost } from './host.js';
import { decodeInbound, type InboundMessage } from '../consensus/inbound.js';
import { ConsensusDriver, type DriverEvents, type DriverTimers, type SignGuard, type SignStep, type Transport } from '../consensus/driver.js';
import { EMPTY_GUARD_STATE, type GuardState } from '../consensus/signGuard.js';
import { buildValidatorSet } from '../consensus/validatorSet.js';
import { createSigner, verifySignature, type Signer } from '../crypto/ed25519.js';
import { devValidator } from '../crypto/keys.js';
import type { FinalizedBlock, Validator, ValidatorEntry, ValidatorSet } from '../types/index.js';
import { CertCache, SimApp, SimChain } from './app.js';
import { EquivocatingTransport } from './byzantine.js';
import { RecklessGuard, SimGuard, SimTransport } from './parts.js';
import { SafetyChecker } from './checker.js';
import { VirtualClock, type TimerEvent } from './clock.js';
import { Rng } from './rng.js';
import { deriveConfig, describeConfig, faultsOverAt, hasQuorumPower, type SignCrashPlan, type SimConfig, type SimulationOptions } from './scenario.js';

/** Unix ms of virtual time 0. */
export const SIM_GENESIS_TIME = 1_700_000_000_000;

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

export interface SimNode {
  readonly index: number;
  readonly id: string;
  readonly signer: Signer;
  readonly power: bigint;
  readonly byzantine: boolean;
  /** Survives crashes. */
  readonly chain: SimChain;
  /** The guard's persisted state: survives crashes. */
  guardState: GuardState;
  up: boolean;
  incarnation: number;
  upSince: number;
  driver: ConsensusDriver | null;
  app: SimApp | null;
  lastDecisionAt: number;
  readonly decisions: Decision[];
  syncing: boolean;
  /** Armed: crash after the next matching signature. */
  signCrash: SignCrashPlan | null;
  /** Triggered: crash at the next envelope the node sends. */
  crashNow: SignCrashPlan | null;
  equivocator: EquivocatingTransport | null;
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
  syncRequests: number;
  syncBlocks: number;
  crashes: number;
  restarts: number;
  signatureChecks: number;
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

export class Simulation {
  readonly clock = new VirtualClock();
  readonly set: ValidatorSet;
  readonly nodes: SimNode[];
  readonly certs = new CertCache();
  readonly checker: SafetyChecker;
  readonly stats: SimStats = { sent: 0, delivered: 0, lost: 0, partitioned: 0, duplicated: 0, droppedDown: 0, rejected: 0, outdated: 0, syncRequests: 0, syncBlocks: 0, crashes: 0, restarts: 0, signatureChecks: 0 };
  readonly evidence: EvidenceRecord[] = [];
  /** Every signature honest guards handed out (capped at 200,000). */
  readonly signatures: SignatureRecord[] = [];
  readonly anomalies: string[] = [];
  readonly traceLines: string[] = [];
  refusals = 0;
  /** Time after which no fault happens: liveness is required from then on. */
  stableAt: number;
  livenessExpected: boolean | null = null;
  private readonly setById: Map<string, ValidatorEntry>;
  private readonly honestIds: Set<string>;
  private readonly netRng: Rng;
  private readonly appRng: Rng;
  private readonly byzRng: Rng;
  private readonly sigCache = new Map<string, string>();
  private readonly acceptedWire = new Set<string>();
  private readonly decideListeners: ((node: SimNode, fb: FinalizedBlock, at: number) => void)[] = [];
  private asyncTouched = false;
  private stopped = false;
  private started = false;
  private readonly violationsExtra: string[] = [];
  private readonly lastPos = new Map<number, string>();

  constructor(readonly config: SimConfig) {
    const n = config.stakes.length;
    const keys = Array.from({ length: n }, (_, i) => devKey(i));
    const validators: Validator[] = keys.map((k, i) => newValidator({ pubKey: k.publicKey, stake: config.stakes[i]! }));
    this.set = internSet(buildValidatorSet(validators));
    this.setById = new Map(this.set.validators.map((v) => [v.id, v]));
    this.nodes = keys.map((k, i) => ({
      index: i,
      id: k.address,
      signer: k.signer,
      power: config.stakes[i]!,
      byzantine: config.byzantine === i,
      chain: new SimChain(config.chainId, SIM_GENESIS_TIME),
      guardState: EMPTY_GUARD_STATE,
      up: false,
      incarnation: 0,
      upSince: 0,
      driver: null,
      app: null,
      lastDecisionAt: -1,
      decisions: [],
      syncing: false,
      signCrash: null,
      crashNow: null,
      equivocator: null,
    }));
    this.honestIds = new Set(this.nodes.filter((x) => !x.byzantine).map((x) => x.id));
    this.netRng = new Rng(config.seed, 'network');
    this.appRng = new Rng(config.seed, 'app');
    this.byzRng = new Rng(config.seed, 'byzantine');
    this.checker = new SafetyChecker(config.chainId, this.set, this.certs, (i) => this.name(i));
    this.stableAt = faultsOverAt(config.scenario);
  }

  get now(): number {
    return this.clock.now;
  }

  name(i: number): string {
    const x = this.nodes[i];
    return x === undefined ? `node ${i}` : `node ${i} (${x.id.slice(0, 8)}${x.byzantine ? ', byzantine' : ''})`;
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

  // ---- nodes -------------------------------------------------------------

  /** Boots every node and schedules the scenario's faults. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const s = this.config.scenario;
    for (const p of s.partitions) this.log(`partition ${p.groups.map((g) => `{${g.join(',')}}`).join(' | ')} from ${p.start} to ${p.end}`);
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
  }

  private boot(x: SimNode): void {
    x.up = true;
    x.upSince = this.now;
    x.syncing = false;
    x.crashNow = null;
    const inc = ++x.incarnation;
    const alive = (): boolean => x.up && x.incarnation === inc;
    const cfg = this.config;

    const app = new SimApp({
      chainId: cfg.chainId,
      set: this.set,
      chain: x.chain,
      certs: this.certs,
      now: () => SIM_GENESIS_TIME + this.now,
      later: (ms, fn) => {
        this.clock.schedule(ms, () => {
          if (!alive()) return;
          this.asyncTouched = true;
          fn();
        });
      },
      buildDelayMs: () => Math.max(this.appRng.int(1, cfg.buildDelayMaxMs), x.chain.tipTime + cfg.blockIntervalMs - (SIM_GENESIS_TIME + this.now)),
      beforeCommit: (fb) => {
        this.asyncTouched = true;
        if (!alive()) return 'node is down';
        if (x.byzantine) return null;
        return this.checker.onCommit(x.index, fb, x.chain.height, x.chain.tipHash, this.now);
      },
      afterCommit: (fb) => this.committed(x, fb),
    });

    const timers: DriverTimers = {
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
          const before = x.guardState.last[x.id];
          const rec = st.last[x.id];
          x.guardState = st;
          if (rec !== undefined && (before === undefined || rec.height !== before.height || rec.round !== before.round || rec.step !== before.step || rec.blockHash !== before.blockHash)) {
            this.checker.onDurable(x.index, x.id, rec);
          }
        },
        alive,
        (p) => {
          if (this.signatures.length < 200_000) this.signatures.push({ node: x.index, incarnation: inc, height: p.height, round: p.round, step: p.step, blockHash: p.blockHash, at: this.now });
          const plan = x.signCrash;
          if (plan !== null && p.step === plan.step && this.now >= plan.after && this.now <= plan.until) {
            x.signCrash = null;
            x.crashNow = plan;
          }
        },
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
        if (!alive()) return;
        const plan = x.crashNow;
        if (plan !== null) {
          x.crashNow = null;
          if (plan.mode === 'sent') {
            this.checker.onBroadcast(x.index, x.id, e);
            this.broadcastFrom(x.index, e);
          }
          this.crash(x.index, `right after signing ${e.type} h${e.height} r${e.round}${plan.mode === 'sent' ? ' (sent)' : ' (not sent)'}`, plan.downMs);
          return;
        }
        this.checker.onBroadcast(x.index, x.id, e);
        this.broadcastFrom(x.index, e);
      }, peers.length);
    }

    const events: DriverEvents = {
      behind: (h) => {
        if (alive()) this.requestSync(x, inc, h);
      },
      evidence: (a, b) => {
        if (!alive()) return;
        this.evidence.push({ node: x.index, validatorId: a.validatorId, type: a.type, height: a.height, round: a.round, at: this.now });
        if (!x.byzantine) this.checker.onEvidence(x.index, a, b, this.honestIds, (e) => this.validSignature(e));
      },
      refused: (step, h, r) => {
        if (!alive()) return;
        this.refusals++;
        this.log(`${this.name(x.index)} guard refused ${step} h${h} r${r}`);
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
      timers,
      events,
    );
    this.log(`${this.name(x.index)} ${inc === 1 ? 'starts' : 'restarts'} at height ${x.chain.height + 1}`);
    x.driver.start(x.chain.height + 1);
  }

  /** Crashes node i now; it restarts `downMs` later (null: never). No-op if it is down. */
  crash(i: number, why: string, downMs: number | null): void {
    const x = this.nodes[i];
    if (x === undefined || !x.up) return;
    x.up = false;
    x.incarnation++;
    const d = x.driver;
    x.driver = null;
    x.app = null;
    x.syncing = false;
    x.crashNow = null;
    x.signCrash = null;
    d?.stop();
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
    const d: Decision = { height: fb.block.header.height, round: fb.commit.round, hash: fb.hash, at: this.now };
    x.decisions.push(d);
    this.log(`${this.name(x.index)} DECIDES h${d.height} r${d.round} ${d.hash.slice(0, 12)} (block round ${fb.block.header.round})`);
    for (const f of this.decideListeners) f(x, fb, this.now);
  }

  private anomaly(msg: string): void {
    if (this.anomalies.length < 200) this.anomalies.push(msg);
    this.log(`ANOMALY ${msg}`);
  }

  // ---- network -----------------------------------------------------------

  /** True when a partition active now separates a and b. */
  blocked(a: number, b: number): boolean {
    const t = this.now;
    for (const p of this.config.scenario.partitions) {
      if (t < p.start || t >= p.end) continue;
      const ga = p.groups.findIndex((g) => g.includes(a));
      const gb = p.groups.findIndex((g) => g.includes(b));
      if (ga !== gb) return true;
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
    if (!x.up || x.incarnation !== inc || x.driver === null) {
      this.stats.droppedDown++;
      return;
    }
    if (this.blocked(from, to)) {
      this.stats.partitioned++;
      return;
    }
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
    x.driver.receive(m);
  }

  /** The sender is in the set and signed `envelopeSignBytes(e)` (votes: the same bytes as `voteSignBytes`). */
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

  // ---- sync --------------------------------------------------------------

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
      const blocks = peer.chain.blocks.slice(from, from + 64);
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
    try {
      this.start();
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
      this.livenessExpected = hasQuorumPower(this.honestPowerUp(), this.set.totalPower);
      this.log(`faults over: liveness ${this.livenessExpected ? 'required' : 'not required'} (honest power up ${this.honestPowerUp()} of ${this.set.totalPower})`);
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
      stats: { ...this.stats },
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
