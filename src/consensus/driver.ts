/**
 * Drives the consensus engine: performs its actions through injected parts
 * (timers, a transport, a double-sign guard, the application that builds,
 * checks and commits blocks) and feeds back what arrives. No I/O of its own,
 * so the same driver runs in a node and, on a virtual clock and network, in
 * the deterministic simulation.
 * @module
 */
import { voteSignBytes } from '../codec/block.js';
import { encodeFinalizePayload, encodeProposalPayload, envelopeSignBytes, type Envelope, type UnsignedEnvelope } from '../codec/envelope.js';
import type { Signer } from '../crypto/ed25519.js';
import { FatalError } from '../errors.js';
import type { Block, Commit, FinalizedBlock, ValidatorSet } from '../types/index.js';
import { ConsensusEngine, DEFAULT_TIMEOUTS, MAX_ROUNDS_AHEAD, type EngineAction, type EngineEvent, type LockState, type ProposalMsg, type TimeoutParams, type VoteMsg } from './engine.js';
import type { InboundMessage } from './inbound.js';

export type SignStep = 'proposal' | 'prevote' | 'precommit';
export type { InboundMessage } from './inbound.js';

/** Distinct values kept for relay per validator, message type and round (the first and conflicting ones). */
const MAX_RELAY_VALUES = 3;

export interface SignResult {
  readonly signature: string;
}

/** The last thing a local key signed at some height, as the guard recorded it. */
export interface SignedRecordAt {
  readonly validatorId: string;
  readonly height: number;
  readonly round: number;
  readonly step: SignStep;
  readonly blockHash: string | null;
  readonly signature: string;
}

/**
 * The double-sign guard: what each local key signed. `sign` returns the
 * signature, or null when signing would conflict with something this key
 * already signed (same height, round and step with another block, or an
 * earlier position). The node may use a signature inside at once; before
 * anything carrying it leaves the node, `flush` makes the record durable, so
 * that after a crash the guard still refuses a conflicting signature. A
 * signature that never left needs no record: nobody can hold it against us.
 */
export interface SignGuard {
  sign(p: { validatorId: string; height: number; round: number; step: SignStep; blockHash: string | null; bytes: Uint8Array; signer: Signer }): SignResult | null;
  recordLock(height: number, lock: LockState): void;
  /** What each local key last signed at `height` (to resume after a restart inside a height). */
  signedAt(height: number): SignedRecordAt[];
  /** Makes every record so far durable (null: already durable). */
  flush(): Promise<void> | null;
  /** The lock recorded for `height`, if any (after a restart). */
  lockAt(height: number): LockState | null;
}

export interface ConsensusApp {
  validatorSet(height: number): ValidatorSet;
  proposerOf(height: number, round: number): string;
  /** Builds a new block for (height, round); may wait for txs. null: nothing to propose now. */
  buildBlock(height: number, round: number): Promise<{ block: Block; hash: string } | null>;
  /** Deterministic validity of a block proposed for the current height (may check signatures off-thread). */
  validateBlock(block: Block, hash: string): boolean | Promise<boolean>;
  /** Checks a certificate (and the block) received in a finalize message for the current height. */
  verifyCertified(fb: FinalizedBlock): boolean | Promise<boolean>;
  /** A committed block, to hand to a peer still at that height (also after our restart). */
  finalized?(height: number): FinalizedBlock | null;
  /** Makes the decided block durable and applies it; validatorSet(height + 1) is known afterwards. A FatalError stops the driver. */
  commit(block: Block, hash: string, commit: Commit): Promise<FinalizedBlock>;
}

export interface Transport {
  broadcast(e: Envelope): void;
  /** Whether a broadcast reaches anyone (a lone node sends nothing, so it need not flush the guard). */
  hasPeers(): boolean;
}

export interface DriverTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface DriverEvents {
  /** Messages arrive for heights ahead of ours: we are behind (a node may sync from peers). */
  behind?(height: number): void;
  evidence?(first: Envelope, second: Envelope): void;
  decided?(fb: FinalizedBlock): void;
  /** An envelope this node signed (counted by metrics). */
  signed?(e: Envelope): void;
  /** A signature the guard refused (a restart inside a height it already signed). */
  refused?(step: SignStep, height: number, round: number): void;
  error?(e: unknown): void;
}

export interface DriverOptions {
  readonly chainId: string;
  readonly local: readonly { readonly id: string; readonly signer: Signer }[];
  readonly timeouts?: TimeoutParams;
  /** Re-send our messages of the current height this often (repairs lost messages). */
  readonly repairMs?: number;
  /** Buffer for messages of future heights. */
  readonly maxFutureHeights?: number;
  readonly maxBuffered?: number;
}

export class ConsensusDriver {
  private readonly engine: ConsensusEngine;
  private readonly byId: Map<string, Signer>;
  private height = 0;
  private running = false;
  private committing = false;
  private readonly timerHandles = new Set<unknown>();
  private readonly future = new Map<number, InboundMessage[]>();
  private buffered = 0;
  /** Our own signed messages at the current height (re-sent by the repair timer). */
  private sent: Envelope[] = [];
  /** Signed envelopes by (type, round, validator), to hand out as evidence. */
  private readonly seen = new Map<string, Envelope>();
  private repairHandle: unknown = null;
  /** (height/round/step) at the previous repair tick. */
  private repairPosition = '';
  private readonly queue: EngineEvent[] = [];
  private processing = false;

  constructor(
    private readonly opts: DriverOptions,
    private readonly app: ConsensusApp,
    private readonly transport: Transport,
    private readonly guard: SignGuard,
    private readonly timers: DriverTimers,
    private readonly events: DriverEvents = {},
  ) {
    this.byId = new Map(opts.local.map((l) => [l.id, l.signer]));
    this.engine = new ConsensusEngine(new Set(this.byId.keys()), opts.timeouts ?? DEFAULT_TIMEOUTS);
  }

  get currentHeight(): number {
    return this.height;
  }
  get round(): number {
    return this.engine.round;
  }
  get step(): string {
    return this.engine.step;
  }

  /** Starts consensus at `height` (the height after the last committed block). */
  start(height: number): void {
    this.running = true;
    this.enterHeight(height);
    this.scheduleRepair();
  }

  stop(): void {
    this.running = false;
    for (const h of this.timerHandles) this.timers.clearTimeout(h);
    this.timerHandles.clear();
    if (this.repairHandle !== null) this.timers.clearTimeout(this.repairHandle);
    this.repairHandle = null;
  }

  private enterHeight(height: number): void {
    this.height = height;
    this.sent = [];
    this.seen.clear();
    this.relay.clear();
    this.relayValues.clear();
    this.reported.clear();
    const set = this.app.validatorSet(height);
    // After a restart inside this height: resume at the round we had reached,
    // and count (and re-send) the last vote we signed there, which the guard
    // would not let us sign differently again.
    const resumed = this.guard.signedAt(height).filter((r) => this.byId.has(r.validatorId));
    const round = resumed.reduce((m, r) => Math.max(m, r.round), 0);
    this.feed({ kind: 'start', height, set, proposerOf: (r) => this.app.proposerOf(height, r), lock: this.guard.lockAt(height), round });
    for (const r of resumed) {
      if (r.step === 'proposal') continue;
      const e: Envelope = { type: r.step, chainId: this.opts.chainId, height, round: r.round, validatorId: r.validatorId, payload: { blockHash: r.blockHash }, signature: r.signature };

      this.noteSeen(e);
      this.sent.push(e);
      this.feed({ kind: 'vote', vote: { type: r.step, height, round: r.round, validatorId: r.validatorId, blockHash: r.blockHash, signature: r.signature } });
      this.send(e);
    }
    // The prevotes that justified our lock: others may need them to accept a re-proposal of the locked block.
    const lock = this.guard.lockAt(height);
    for (const v of lock?.polka ?? []) {
      const e: Envelope = { type: 'prevote', chainId: this.opts.chainId, height, round: lock!.round, validatorId: v.validatorId, payload: { blockHash: lock!.blockHash }, signature: v.signature };
      if (this.seen.has(`prevote/${e.round}/${e.validatorId}`)) continue;
      this.noteSeen(e);
      this.feed({ kind: 'vote', vote: { type: 'prevote', height, round: e.round, validatorId: e.validatorId, blockHash: lock!.blockHash, signature: v.signature } });
    }
    // Messages that arrived early for this height.
    const early = this.future.get(height) ?? [];
    this.future.delete(height);
    this.buffered -= early.length;
    for (const h of [...this.future.keys()]) {
      if (h < height) {
        this.buffered -= this.future.get(h)!.length;
        this.future.delete(h);
      }
    }
    for (const m of early) this.receive(m);
  }

  /**
   * Events are processed one at a time, in arrival order: our own signed
   * messages, fed back while the actions of an earlier event are performed,
   * wait for those actions to finish.
   */
  private feed(event: EngineEvent): void {
    if (!this.running) return;
    this.queue.push(event);
    if (this.processing) return;
    this.processing = true;
    try {
      for (let ev = this.queue.shift(); ev !== undefined; ev = this.queue.shift()) {
        if (this.running) this.perform(this.engine.stepEvent(ev));
      }
    } finally {
      this.processing = false;
    }
  }

  /**
   * A message from the network, decoded once (`decodeInbound`), whose
   * envelope signature, chain and sender have been checked. Returns whether
   * the driver took it (for its height, or buffered for a later one): a
   * message it did not take may be sent again and must not be refused then.
   */
  receive(m: InboundMessage): boolean {
    if (!this.running) return false;
    const e = m.envelope;
    if (e.height < this.height) {
      if (e.type !== 'finalize') this.peerBehind(e.height);
      return false;
    }
    if (e.height > this.height) return this.bufferFuture(m);
    // Late messages of a height being committed change nothing.
    if (this.committing) return true;
    try {
      return this.receiveCurrent(m);
    } catch (err) {
      this.events.error?.(err);
      return false;
    }
  }

  /** A peer still at the height we decided last missed the decision: hand it the block and certificate. */
  peerBehind(height: number): void {
    if (this.running && height === this.height - 1) this.resendFinalize();
  }

  private bufferFuture(m: InboundMessage): boolean {
    const height = m.envelope.height;
    const ahead = height - this.height;
    if (ahead > (this.opts.maxFutureHeights ?? 16) || this.buffered >= (this.opts.maxBuffered ?? 10_000)) {
      this.events.behind?.(height);
      return false;
    }
    let list = this.future.get(height);
    if (list === undefined) {
      list = [];
      this.future.set(height, list);
    }
    list.push(m);
    this.buffered++;
    this.events.behind?.(height);
    return true;
  }

  /** Every distinct signed proposal or vote of this height, conflicting ones included: relayed by the repair. */
  private readonly relay = new Map<string, Envelope>();
  /** Values kept in `relay` per (type, round, validator): a validator that signs many cannot crowd out the others. */
  private readonly relayValues = new Map<string, number>();
  /** Positions (type, round, validator) whose equivocation was reported at this height. */
  private readonly reported = new Set<string>();

  /** Records a signed message of this height; `counted`: the engine holds it, so it is relayed whatever else its signer sent. */
  private noteSeen(e: Envelope, counted = false): void {
    if (e.type === 'finalize') return;
    const key = `${e.type}/${e.round}/${e.validatorId}`;
    const rk = `${key}/${String(e.payload.blockHash)}`;
    const values = this.relayValues.get(key) ?? 0;
    if (!this.relay.has(rk) && (values < MAX_RELAY_VALUES || counted) && this.relay.size < (this.opts.maxBuffered ?? 10_000)) {
      this.relay.set(rk, e);
      this.relayValues.set(key, values + 1);
    }
    if (!this.seen.has(key)) this.seen.set(key, e);
  }

  private receiveCurrent(m: InboundMessage): boolean {
    const e = m.envelope;
    if (m.kind !== 'finalize' && e.round > this.engine.round + MAX_ROUNDS_AHEAD) return false;
    switch (m.kind) {
      case 'vote': {
        const vote: VoteMsg = { type: m.type, height: e.height, round: e.round, validatorId: e.validatorId, blockHash: m.blockHash, signature: e.signature };
        const position = `${m.type}/${e.round}/${e.validatorId}`;
        const before = this.seen.get(position);
        if (before !== undefined && before.payload.blockHash !== m.blockHash && !this.reported.has(position)) {
          // Two signed votes of one validator for one (height, round, type): equivocation, reported once.
          this.reported.add(position);
          this.events.evidence?.(before, e);
        }
        // Noted before the engine sees it: a lock this vote completes saves the vote in its polka.
        this.noteSeen(e);
        this.feed({ kind: 'vote', vote });
        // A vote the engine dropped (one validator's flood of values) may be welcome later: not taken.
        const held = this.processing || this.engine.holdsVote(vote);
        // A vote the engine counts is relayed whatever else its signer sent.
        if (held) this.noteSeen(e, true);
        return held;
      }
      case 'proposal': {
        // The sender is the round's proposer (checked with the payload); the engine checks it again.
        const { block, blockHash, validRound } = m;
        const before = this.seen.get(`proposal/${e.round}/${e.validatorId}`);
        if (before !== undefined) {
          const position = `proposal/${e.round}/${e.validatorId}`;
          if (before.payload.blockHash !== blockHash && !this.reported.has(position)) {
            this.reported.add(position);
            this.events.evidence?.(before, e);
          }
          return true;
        }
        this.noteSeen(e);
        const proposal: ProposalMsg = { height: e.height, round: e.round, validRound, proposer: e.validatorId, block, blockHash, signature: e.signature };
        this.whenChecked(e.height, this.app.validateBlock(block, blockHash), (valid) => this.feed({ kind: 'proposal', proposal, valid }));
        return true;
      }
      case 'finalize': {
        if (this.engine.isDecided) return true;
        const fb = m.finalized;
        this.whenChecked(e.height, this.app.verifyCertified(fb), (ok) => {
          if (ok) this.feed({ kind: 'certified', block: fb.block, blockHash: fb.hash, commit: fb.commit });
        });
        return true;
      }
    }
  }

  /** Runs `then` with a check's answer, now or when it resolves (if still at that height). */
  private whenChecked(height: number, answer: boolean | Promise<boolean>, then: (ok: boolean) => void): void {
    if (typeof answer === 'boolean') {
      then(answer);
      return;
    }
    answer.then(
      (ok) => {
        if (this.running && this.height === height && !this.committing) then(ok);
      },
      (err: unknown) => this.events.error?.(err),
    );
  }

  private perform(actions: EngineAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'schedule': {
          const h = this.timers.setTimeout(() => {
            this.timerHandles.delete(h);
            this.feed({ kind: 'timeout', height: a.height, round: a.round, step: a.step });
          }, a.ms);
          this.timerHandles.add(h);
          break;
        }
        case 'propose':
          this.propose(a.height, a.round, a.block === null || a.blockHash === null ? null : { block: a.block, hash: a.blockHash }, a.validRound);
          break;
        case 'lock':
          // Flushed with the precommit that follows it, with the prevotes that justify it.
          this.guard.recordLock(a.height, { round: a.round, blockHash: a.blockHash, block: a.block, polka: a.polka });
          break;
        case 'vote':
          this.vote(a.type, a.height, a.round, a.blockHash);
          break;
        case 'decide':
          this.decide(a.block, a.blockHash, a.commit);
          break;
        case 'evidence':
          // Reported by receiveCurrent, which still holds both signed envelopes.
          break;
      }
    }
  }

  /**
   * Signs through the guard, feeds the message to our own engine at once, and
   * sends it to peers once the guard's record is durable: a signature never
   * leaves the node before the guard can refuse a conflicting one after a crash.
   */
  private signAndSend(u: UnsignedEnvelope, step: SignStep, blockHash: string | null, signer: Signer, own: (signature: string) => EngineEvent): void {
    const bytes = step === 'proposal' ? envelopeSignBytes(u) : voteSignBytes({ type: step, chainId: u.chainId, height: u.height, round: u.round, validatorId: u.validatorId, blockHash });
    const r = this.guard.sign({ validatorId: u.validatorId, height: u.height, round: u.round, step, blockHash, bytes, signer });
    if (r === null) {
      this.events.refused?.(step, u.height, u.round);
      return;
    }
    const e: Envelope = { ...u, signature: r.signature };
    this.events.signed?.(e);
    this.noteSeen(e);
    this.sent.push(e);
    this.feed(own(r.signature));
    this.send(e);
  }

  /** Broadcasts our own envelope once the guard's records are durable. */
  private send(e: Envelope): void {
    if (!this.transport.hasPeers()) return;
    const durable = this.guard.flush();
    if (durable === null) {
      this.transport.broadcast(e);
      return;
    }
    durable.then(
      () => {
        if (this.running) this.transport.broadcast(e);
      },
      (err: unknown) => {
        // The record of a signature could not be made durable: nothing signed may leave this node again.
        this.stop();
        this.events.error?.(FatalError.from(err, 'the double-sign guard record could not be written'));
      },
    );
  }

  private vote(type: 'prevote' | 'precommit', height: number, round: number, blockHash: string | null): void {
    for (const [id, signer] of this.byId) {
      if (!this.app.validatorSet(height).validators.some((v) => v.id === id)) continue;
      this.signAndSend({ type, chainId: this.opts.chainId, height, round, validatorId: id, payload: { blockHash } }, type, blockHash, signer, (signature) => ({
        kind: 'vote',
        vote: { type, height, round, validatorId: id, blockHash, signature },
      }));
    }
  }

  private propose(height: number, round: number, valid: { block: Block; hash: string } | null, validRound: number): void {
    const proposer = this.app.proposerOf(height, round);
    const signer = this.byId.get(proposer);
    if (signer === undefined) return;
    const send = (block: Block, hash: string, vr: number): void => {
      if (!this.running || this.height !== height || this.engine.round !== round || this.engine.isDecided) return;
      this.signAndSend({ type: 'proposal', chainId: this.opts.chainId, height, round, validatorId: proposer, payload: encodeProposalPayload(block, hash, vr) }, 'proposal', hash, signer, (signature) => ({
        kind: 'proposal',
        // Our own block: built (or checked, for a valid value) by this node.
        proposal: { height, round, validRound: vr, proposer, block, blockHash: hash, signature },
        valid: true,
      }));
    };
    if (valid !== null) {
      // Rule 1: a valid value from an earlier round is proposed again.
      send(valid.block, valid.hash, validRound);
      return;
    }
    this.app.buildBlock(height, round).then(
      (b) => {
        if (b !== null) send(b.block, b.hash, -1);
      },
      (err: unknown) => this.events.error?.(err),
    );
  }

  private decide(block: Block, hash: string, commit: Commit): void {
    this.committing = true;
    const height = this.height;
    const proposer = this.app.proposerOf(height, commit.round);
    const failed = (err: unknown): void => {
      this.committing = false;
      this.stop();
      this.events.error?.(err);
    };
    const committed = (fb: FinalizedBlock): void => {
      this.committing = false;
      if (!this.running) return;
      this.events.decided?.(fb);
      this.lastDecided = fb;
      this.lastFinalize = null;
      // The proposer of the deciding round hands the block and certificate to nodes that missed votes
      // (a lone node has no one to hand them to: it skips encoding and signing them).
      const signer = this.byId.get(proposer);
      if (signer !== undefined && this.transport.hasPeers()) {
        const u: UnsignedEnvelope = { type: 'finalize', chainId: this.opts.chainId, height, round: commit.round, validatorId: proposer, payload: encodeFinalizePayload(fb) };
        this.send({ ...u, signature: signer.sign(envelopeSignBytes(u)) });
      }
      this.enterHeight(height + 1);
    };
    const commitBlock = (): void => {
      if (!this.running) return;
      this.app.commit(block, hash, commit).then(committed, failed);
    };
    // The certificate may rest on our own precommit: nothing is committed (stored, served, handed on) before
    // the guard has made it durable, or a crash could lose the record of a vote the chain already shows.
    const durable = this.guard.flush();
    if (durable === null) {
      commitBlock();
      return;
    }
    durable.then(commitBlock, (err: unknown) => failed(FatalError.from(err, 'the double-sign guard record could not be written')));
  }


  private lastDecided: FinalizedBlock | null = null;
  private lastFinalize: Envelope | null = null;
  private finalizeResent = false;

  /** Sends the finalize of the height before ours, at most once per repair period. */
  private resendFinalize(): void {
    if (this.finalizeResent) return;
    if (this.lastDecided?.block.header.height !== this.height - 1) {
      this.lastDecided = this.app.finalized?.(this.height - 1) ?? null;
      this.lastFinalize = null;
    }
    const fb = this.lastDecided;
    const [id, signer] = [...this.byId][0] ?? [];
    if (fb === null || id === undefined || signer === undefined) return;
    this.finalizeResent = true;
    if (this.lastFinalize === null) {
      const u: UnsignedEnvelope = { type: 'finalize', chainId: this.opts.chainId, height: fb.block.header.height, round: fb.commit.round, validatorId: id, payload: encodeFinalizePayload(fb) };
      this.lastFinalize = { ...u, signature: signer.sign(envelopeSignBytes(u)) };
    }
    this.send(this.lastFinalize);
  }

  /**
   * A block for the current height arrived with a checked certificate through
   * sync: decide it. Returns false when the driver cannot take it now (not
   * running, another height, or a block of this height is being committed).
   */
  certified(fb: FinalizedBlock): boolean {
    if (!this.running || this.committing || fb.block.header.height !== this.height || this.engine.isDecided) return false;
    this.feed({ kind: 'certified', block: fb.block, blockHash: fb.hash, commit: fb.commit });
    return true;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Whether the current height is being made durable (new messages for it are not needed). */
  get isCommitting(): boolean {
    return this.committing;
  }

  /**
   * The repair timer ticks four times per repair period. While a height is
   * not decided, every period re-sends our votes of the height and relays
   * everyone else's (small messages; a lost vote can keep a quorum from
   * forming while rounds go on). Proposals, which carry whole blocks, are
   * re-sent and relayed only when the height has not moved at all (same round
   * and step) for a whole period: re-sending the proposals of a slow but live
   * height only makes it slower.
   */
  private scheduleRepair(): void {
    const period = this.opts.repairMs ?? 2000;
    const tick = Math.max(1, Math.floor(period / REPAIR_TICKS));
    this.repairHandle = this.timers.setTimeout(() => {
      this.repairHandle = null;
      if (!this.running) return;
      const position = `${this.height}/${this.engine.round}/${this.engine.step}`;
      if (position !== this.repairPosition) {
        if (!position.startsWith(`${this.height}/`) || !this.repairPosition.startsWith(`${this.height}/`)) this.heightTicks = 0;
        this.repairPosition = position;
        this.stillTicks = 0;
      } else {
        this.stillTicks++;
      }
      this.heightTicks++;
      if (++this.ticksSinceFinalize >= REPAIR_TICKS) {
        this.ticksSinceFinalize = 0;
        this.finalizeResent = false;
      }
      if (!this.committing && this.heightTicks >= REPAIR_TICKS) {
        this.heightTicks = 0;
        const withProposals = this.stillTicks >= REPAIR_TICKS;
        if (withProposals) this.stillTicks = 0;
        for (const e of this.sent) if (withProposals || e.type !== 'proposal') this.send(e);
        // Gossip (the paper's assumption): what any honest node saw reaches every honest node, so a lock
        // justified by votes of a validator that crashed or equivocated can be justified to everyone.
        for (const e of this.relay.values()) {
          if (!this.byId.has(e.validatorId) && (withProposals || e.type !== 'proposal')) this.transport.broadcast(e);
        }
      }
      this.scheduleRepair();
    }, tick);
  }

  private stillTicks = 0;
  private heightTicks = 0;
  private ticksSinceFinalize = 0;
}

const REPAIR_TICKS = 4;
