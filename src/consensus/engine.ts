/**
 * The Tendermint consensus algorithm (Buchman, Kwon, Milosevic, "The latest
 * gossip on BFT consensus", 2018, Algorithm 1) as a deterministic state
 * machine: `stepEvent(event)` takes one event (start of a height, a
 * proposal, a vote, a timeout, a certified block) and returns actions (sign
 * and send a proposal or vote, schedule a timeout, decide, report
 * equivocation). It has no I/O, clock or randomness; the driver (driver.ts)
 * performs the actions and feeds back what arrives, including its own signed
 * messages. What one validator can make it hold is bounded (see `endorsed`).
 *
 * Rule numbers in comments follow docs/consensus.md, "The rules, numbered".
 * @module
 */
import type { Block, Commit, CommitSignature, ValidatorSet } from '../types/index.js';
import { hasQuorum, hasSkipSet } from './validatorSet.js';

export type Step = 'propose' | 'prevote' | 'precommit';
export type VoteType = 'prevote' | 'precommit';
const STEP_ORDER: Record<Step, number> = { propose: 0, prevote: 1, precommit: 2 };

/** A proposal as the engine sees it: the driver has checked its signature and proposer. */
export interface ProposalMsg {
  readonly height: number;
  readonly round: number;
  readonly validRound: number;
  readonly proposer: string;
  readonly block: Block;
  readonly blockHash: string;
  readonly signature: string;
}

/** A vote whose signature the driver has checked. `blockHash` null is a nil vote. */
export interface VoteMsg {
  readonly type: VoteType;
  readonly height: number;
  readonly round: number;
  readonly validatorId: string;
  readonly blockHash: string | null;
  readonly signature: string;
}

export interface TimeoutParams {
  readonly proposeMs: number;
  readonly proposeDeltaMs: number;
  readonly prevoteMs: number;
  readonly prevoteDeltaMs: number;
  readonly precommitMs: number;
  readonly precommitDeltaMs: number;
}

export const DEFAULT_TIMEOUTS: TimeoutParams = {
  proposeMs: 1000,
  proposeDeltaMs: 500,
  prevoteMs: 500,
  prevoteDeltaMs: 250,
  precommitMs: 500,
  precommitDeltaMs: 250,
};

export type EngineEvent =
  /** Begin consensus for `height` with its validator set; `proposerOf(round)` is the proposer of each round. */
  | {
      readonly kind: 'start';
      readonly height: number;
      readonly set: ValidatorSet;
      readonly proposerOf: (round: number) => string;
      readonly lock?: LockState | null;
      /** After a restart inside this height: the round this node had reached (it signed there). */
      readonly round?: number;
    }
  /** A proposal for the current height; `valid` is the driver's deterministic block validity check. */
  | { readonly kind: 'proposal'; readonly proposal: ProposalMsg; readonly valid: boolean }
  | { readonly kind: 'vote'; readonly vote: VoteMsg }
  | { readonly kind: 'timeout'; readonly height: number; readonly round: number; readonly step: Step }
  /** A block with a verified certificate for the current height (from a finalize message or sync). */
  | { readonly kind: 'certified'; readonly block: Block; readonly blockHash: string; readonly commit: Commit };

export type EngineAction =
  /** I am the proposer of (height, round): propose `block` (the valid value) or, if null, a new block. */
  | { readonly kind: 'propose'; readonly height: number; readonly round: number; readonly block: Block | null; readonly blockHash: string | null; readonly validRound: number }
  /** Sign and send a vote with every local validator key (after recording it for the double-sign guard). */
  | { readonly kind: 'vote'; readonly type: VoteType; readonly height: number; readonly round: number; readonly blockHash: string | null }
  | { readonly kind: 'schedule'; readonly height: number; readonly round: number; readonly step: Step; readonly ms: number }
  /** The lock changed: the driver persists it before sending the precommit that follows. */
  /** `polka`: the prevotes the engine counted for the block in that round (2/3 of the power), kept with the lock. */
  | { readonly kind: 'lock'; readonly height: number; readonly round: number; readonly blockHash: string; readonly block: Block; readonly polka: readonly PolkaVote[] }
  | { readonly kind: 'decide'; readonly height: number; readonly block: Block; readonly blockHash: string; readonly commit: Commit }
  /** Two conflicting messages of one validator: reported once per validator, round and type (the first conflict). */
  | { readonly kind: 'evidence'; readonly first: VoteMsg | ProposalMsg; readonly second: VoteMsg | ProposalMsg };

interface RoundVotes {
  /** First vote of each validator (rules 4, 7 and 9 count each validator once). */
  readonly votes: Map<string, VoteMsg>;
  /** Counted votes per value ('nil' for nil votes), each validator at most once per value. */
  readonly byValue: Map<string, Map<string, VoteMsg>>;
  /** Counted power per block hash ('nil' for nil votes). */
  readonly power: Map<string, bigint>;
  total: bigint;
  /** Extra votes not counted yet, per value: their value is not endorsed (see `endorsed`). */
  readonly held: Map<string, Map<string, VoteMsg>>;
  /** How many held votes each validator has, at most MAX_HELD_VOTES. */
  readonly heldCount: Map<string, number>;
  /** Validators whose equivocation in this round and type has been reported. */
  readonly reported: Set<string>;
}

interface RoundState {
  proposal: ProposalMsg | null;
  proposalValid: boolean;
  /** Block hashes that proposals of later rounds claim had a quorum of prevotes here (their validRound is this round). */
  readonly claimed: Set<string>;
  readonly prevotes: RoundVotes;
  readonly precommits: RoundVotes;
  /** A conflicting proposal of this round has been reported. */
  proposalReported: boolean;
  /** "first time" guards of rules 4, 5 and 7. */
  prevoteTimeoutScheduled: boolean;
  precommitTimeoutScheduled: boolean;
  rule5Done: boolean;
}

const NIL = 'nil';
/** Messages for rounds further ahead are ignored: memory stays bounded whatever a faulty validator sends. */
export const MAX_ROUNDS_AHEAD = 100;
/**
 * Extra votes of one validator (after its first, for other values) kept per
 * round and type while their value is not endorsed; any beyond are dropped
 * (still reported as equivocation). A vote for an endorsed value is counted
 * whatever came before it.
 */
export const MAX_HELD_VOTES = 2;

function emptyVotes(): RoundVotes {
  return { votes: new Map(), byValue: new Map(), power: new Map(), total: 0n, held: new Map(), heldCount: new Map(), reported: new Set() };
}

/** Persisted lock of a validator (kept across restarts by the driver). */
export interface LockState {
  readonly round: number;
  readonly blockHash: string;
  /** The locked block: after a restart it is our valid value again (we may be the only honest node holding it). */
  readonly block?: Block;
  /**
   * The prevotes (2/3 of the power, for blockHash at round) that justified the
   * lock. Kept with the lock so that after a restart the node can still show
   * the polka to the others: without it, a re-proposal of the locked block
   * (validRound = round) cannot be accepted once the validators whose
   * prevotes formed the polka are gone, and the height stalls.
   */
  readonly polka?: readonly PolkaVote[];
}

/** A prevote of a polka, as kept with a lock (type, height, round and block hash are the lock's). */
export interface PolkaVote {
  readonly validatorId: string;
  readonly signature: string;
}

export class ConsensusEngine {
  height = 0;
  round = 0;
  step: Step = 'propose';
  private set: ValidatorSet | null = null;
  private proposerOf: (round: number) => string = () => '';
  private power = new Map<string, bigint>();
  private lockedRound = -1;
  private lockedHash: string | null = null;
  private validRound = -1;
  private validBlock: Block | null = null;
  private validHash: string | null = null;
  private rounds = new Map<number, RoundState>();
  private decided = false;
  private started = false;

  constructor(
    /** Ids of the validator keys this node signs with. */
    private readonly local: ReadonlySet<string>,
    private readonly timeouts: TimeoutParams = DEFAULT_TIMEOUTS,
  ) {}

  get isDecided(): boolean {
    return this.decided;
  }
  get lock(): LockState | null {
    return this.lockedHash === null ? null : { round: this.lockedRound, blockHash: this.lockedHash };
  }

  /**
   * How much this height's vote tallies hold: distinct values tallied and vote
   * entries kept, over every round and type (read-only, for tests and checks).
   */
  get tallySize(): { readonly values: number; readonly entries: number } {
    let values = 0;
    let entries = 0;
    for (const rs of this.rounds.values()) {
      for (const set of [rs.prevotes, rs.precommits]) {
        values += set.byValue.size;
        entries += set.votes.size;
        for (const forValue of set.byValue.values()) entries += forValue.size;
        for (const forValue of set.held.values()) entries += forValue.size;
      }
    }
    return { values, entries };
  }

  /**
   * Whether the engine keeps `v` (counted, or held back until its value is
   * endorsed). False for a vote it dropped, of another height or beyond the
   * round window: such a vote may count if it arrives again later, so whoever
   * filters repeated messages should let it through.
   */
  holdsVote(v: VoteMsg): boolean {
    if (!this.started || v.height !== this.height) return false;
    const rs = this.rounds.get(v.round);
    if (rs === undefined) return false;
    const set = v.type === 'prevote' ? rs.prevotes : rs.precommits;
    const key = v.blockHash ?? NIL;
    return set.byValue.get(key)?.get(v.validatorId)?.signature === v.signature || set.held.get(key)?.get(v.validatorId)?.signature === v.signature;
  }

  private roundState(r: number): RoundState {
    let rs = this.rounds.get(r);
    if (rs === undefined) {
      rs = { proposal: null, proposalValid: false, claimed: new Set(), proposalReported: false, prevotes: emptyVotes(), precommits: emptyVotes(), prevoteTimeoutScheduled: false, precommitTimeoutScheduled: false, rule5Done: false };
      this.rounds.set(r, rs);
    }
    return rs;
  }

  private quorum(p: bigint): boolean {
    return hasQuorum(p, this.set!.totalPower);
  }

  private timeout(step: Step, round: number): number {
    const t = this.timeouts;
    if (step === 'propose') return t.proposeMs + t.proposeDeltaMs * round;
    if (step === 'prevote') return t.prevoteMs + t.prevoteDeltaMs * round;
    return t.precommitMs + t.precommitDeltaMs * round;
  }

  /** Feeds one event; returns what to do, in order. */
  stepEvent(event: EngineEvent): EngineAction[] {
    const out: EngineAction[] = [];
    switch (event.kind) {
      case 'start':
        this.startHeight(event.height, event.set, event.proposerOf, event.lock ?? null, event.round ?? 0, out);
        break;
      case 'proposal':
        this.onProposal(event.proposal, event.valid, out);
        break;
      case 'vote':
        this.onVote(event.vote, out);
        break;
      case 'timeout':
        this.onTimeout(event.height, event.round, event.step, out);
        break;
      case 'certified':
        if (this.started && !this.decided && event.commit.height === this.height) {
          this.decide(event.block, event.blockHash, event.commit, out);
        }
        break;
    }
    return out;
  }

  private startHeight(height: number, set: ValidatorSet, proposerOf: (round: number) => string, lock: LockState | null, round: number, out: EngineAction[]): void {
    this.height = height;
    this.set = set;
    this.proposerOf = proposerOf;
    this.power = new Map(set.validators.map((v) => [v.id, v.votingPower]));
    // A lock recorded before a restart inside this height is kept.
    this.lockedRound = lock?.round ?? -1;
    this.lockedHash = lock?.blockHash ?? null;
    // Rule 5 made the locked block the valid value of the lock's round; a restart must not lose it.
    const lockedBlock = lock?.block ?? null;
    this.validRound = lockedBlock !== null ? this.lockedRound : -1;
    this.validBlock = lockedBlock;
    this.validHash = lockedBlock !== null ? this.lockedHash : null;
    this.rounds = new Map();
    this.decided = false;
    this.started = true;
    this.startRound(round, out);
  }

  /** Rule 1. */
  private startRound(round: number, out: EngineAction[]): void {
    this.round = round;
    this.step = 'propose';
    const proposer = this.proposerOf(round);
    if (this.local.has(proposer)) {
      out.push({ kind: 'propose', height: this.height, round, block: this.validBlock, blockHash: this.validHash, validRound: this.validRound });
    }
    out.push({ kind: 'schedule', height: this.height, round, step: 'propose', ms: this.timeout('propose', round) });
    // Messages of this round may have arrived before we entered it.
    this.reevaluate(out);
  }

  private onProposal(p: ProposalMsg, valid: boolean, out: EngineAction[]): void {
    if (!this.started || this.decided || p.height !== this.height || p.round > this.round + MAX_ROUNDS_AHEAD) return;
    if (p.proposer !== this.proposerOf(p.round)) return;
    const rs = this.roundState(p.round);
    if (rs.proposal !== null) {
      if (rs.proposal.blockHash !== p.blockHash && !rs.proposalReported) {
        rs.proposalReported = true;
        out.push({ kind: 'evidence', first: rs.proposal, second: p });
      }
      return;
    }
    rs.proposal = p;
    rs.proposalValid = valid;
    // The proposal endorses its block in its round, and, with a validRound, claims a quorum of prevotes there:
    // extra votes held back for that block now count.
    this.promote(rs, rs.prevotes, p.blockHash);
    this.promote(rs, rs.precommits, p.blockHash);
    if (p.validRound >= 0 && p.validRound < p.round) {
      const vr = this.roundState(p.validRound);
      vr.claimed.add(p.blockHash);
      this.promote(vr, vr.prevotes, p.blockHash);
      this.promote(vr, vr.precommits, p.blockHash);
    }
    this.reevaluate(out);
  }

  private onVote(v: VoteMsg, out: EngineAction[]): void {
    if (!this.started || v.height !== this.height || v.round > this.round + MAX_ROUNDS_AHEAD) return;
    const power = this.power.get(v.validatorId);
    if (power === undefined) return;
    const rs = this.roundState(v.round);
    const set = v.type === 'prevote' ? rs.prevotes : rs.precommits;
    const prev = set.votes.get(v.validatorId);
    const key = v.blockHash ?? NIL;
    if (prev !== undefined) {
      if (prev.blockHash === v.blockHash) return;
      if (!set.reported.has(v.validatorId)) {
        set.reported.add(v.validatorId);
        out.push({ kind: 'evidence', first: prev, second: v });
      }
      // As in the paper, "2f+1 PREVOTE(h, r, id(v))" counts distinct validators per value: an equivocator's
      // other vote counts for its own value (once), never in the any-value totals of rules 4, 7 and 9.
      // Two quorums for different values still share more than 1/3 of the power: an honest validator.
      if (set.byValue.get(key)?.has(v.validatorId) === true || set.held.get(key)?.has(v.validatorId) === true) return;
      if (this.endorsed(rs, set, key)) {
        this.count(rs, set, v, key, power);
        if (!this.decided) this.reevaluate(out);
        return;
      }
      // Not endorsed (yet): keep a few, so that a proposal arriving later can still make one count.
      const held = set.heldCount.get(v.validatorId) ?? 0;
      if (held >= MAX_HELD_VOTES) return;
      set.heldCount.set(v.validatorId, held + 1);
      let forValue = set.held.get(key);
      if (forValue === undefined) {
        forValue = new Map();
        set.held.set(key, forValue);
      }
      forValue.set(v.validatorId, v);
      return;
    }
    set.votes.set(v.validatorId, v);
    set.total += power;
    this.count(rs, set, v, key, power);
    if (this.decided) return;
    // Rule 9: a skip set at a higher round moves us there.
    if (v.round > this.round) {
      const rsAll = rs.prevotes.total + this.distinctPrecommitOnly(rs);
      if (hasSkipSet(rsAll, this.set!.totalPower)) {
        this.startRound(v.round, out);
        return;
      }
    }
    this.reevaluate(out);
  }

  /**
   * Whether a validator's extra vote for `key` counts: nil; the block of the
   * round's proposal; a block that a later round's proposal claims had a
   * quorum of prevotes here (its validRound); or a value that already has 1/3
   * of the power counted (so an honest validator voted for it; a value with a
   * quorum shown is one of them). These are few per round and type whatever a
   * validator sends: one proposal per round, one claim per later proposal, and
   * a value reaches 1/3 only through first votes (extra votes for a value are
   * held back until it is endorsed), which total the power once, so at most
   * three values. Each validator therefore occupies a bounded number of
   * entries per round and type: its first vote, one per endorsed value, and at
   * most MAX_HELD_VOTES held back.
   */
  private endorsed(rs: RoundState, set: RoundVotes, key: string): boolean {
    return key === NIL || rs.proposal?.blockHash === key || rs.claimed.has(key) || hasSkipSet(set.power.get(key) ?? 0n, this.set!.totalPower);
  }

  /** Counts `v` for `key`; if that endorses the value, the votes held back for it count too. */
  private count(rs: RoundState, set: RoundVotes, v: VoteMsg, key: string, power: bigint): void {
    let forValue = set.byValue.get(key);
    if (forValue === undefined) {
      forValue = new Map();
      set.byValue.set(key, forValue);
    }
    forValue.set(v.validatorId, v);
    set.power.set(key, (set.power.get(key) ?? 0n) + power);
    if (set.held.has(key) && this.endorsed(rs, set, key)) this.promote(rs, set, key);
  }

  /** Counts the votes held back for `key` (called once the value is endorsed). */
  private promote(rs: RoundState, set: RoundVotes, key: string): void {
    const forValue = set.held.get(key);
    if (forValue === undefined) return;
    set.held.delete(key);
    for (const v of forValue.values()) {
      set.heldCount.set(v.validatorId, (set.heldCount.get(v.validatorId) ?? 1) - 1);
      this.count(rs, set, v, key, this.power.get(v.validatorId) ?? 0n);
    }
  }

  /** Power of validators that precommitted in a round without prevoting there (for rule 9's "any message"). */
  private distinctPrecommitOnly(rs: RoundState): bigint {
    let p = 0n;
    for (const id of rs.precommits.votes.keys()) if (!rs.prevotes.votes.has(id)) p += this.power.get(id) ?? 0n;
    return p;
  }

  private onTimeout(height: number, round: number, step: Step, out: EngineAction[]): void {
    if (!this.started || this.decided || height !== this.height || round !== this.round) return;
    if (step === 'propose' && this.step === 'propose') {
      // Rule 10a.
      this.castVote('prevote', null, out);
      this.step = 'prevote';
      this.reevaluate(out);
    } else if (step === 'prevote' && this.step === 'prevote') {
      // Rule 10b.
      this.castVote('precommit', null, out);
      this.step = 'precommit';
      this.reevaluate(out);
    } else if (step === 'precommit') {
      // Rule 10c.
      this.startRound(round + 1, out);
    }
  }

  private castVote(type: VoteType, blockHash: string | null, out: EngineAction[]): void {
    if (this.local.size === 0) return;
    out.push({ kind: 'vote', type, height: this.height, round: this.round, blockHash });
  }

  /** Applies every rule whose guard now holds, until none does. */
  private reevaluate(out: EngineAction[]): void {
    for (let guard = 0; guard < 16 && !this.decided; guard++) {
      if (!this.applyOnce(out)) return;
    }
  }

  private applyOnce(out: EngineAction[]): boolean {
    const r = this.round;
    const rs = this.roundState(r);
    const p = rs.proposal;

    // Rule 8: a proposal of any round plus a quorum of precommits for it.
    for (const [round, st] of this.rounds) {
      const pr = st.proposal;
      if (pr === null || !st.proposalValid) continue;
      if (this.quorum(st.precommits.power.get(pr.blockHash) ?? 0n)) {
        this.decide(pr.block, pr.blockHash, this.commitFor(round, pr.blockHash), out);
        return false;
      }
    }

    if (this.step === 'propose' && p !== null) {
      if (p.validRound === -1) {
        // Rule 2.
        const ok = rs.proposalValid && (this.lockedRound === -1 || this.lockedHash === p.blockHash);
        this.castVote('prevote', ok ? p.blockHash : null, out);
        this.step = 'prevote';
        return true;
      }
      if (p.validRound >= 0 && p.validRound < r) {
        // Rule 3.
        const vr = this.roundState(p.validRound);
        if (this.quorum(vr.prevotes.power.get(p.blockHash) ?? 0n)) {
          const ok = rs.proposalValid && (this.lockedRound <= p.validRound || this.lockedHash === p.blockHash);
          this.castVote('prevote', ok ? p.blockHash : null, out);
          this.step = 'prevote';
          return true;
        }
      }
    }

    // Rule 4.
    if (this.step === 'prevote' && !rs.prevoteTimeoutScheduled && this.quorum(rs.prevotes.total)) {
      rs.prevoteTimeoutScheduled = true;
      out.push({ kind: 'schedule', height: this.height, round: r, step: 'prevote', ms: this.timeout('prevote', r) });
    }

    // Rule 5.
    if (p !== null && rs.proposalValid && !rs.rule5Done && STEP_ORDER[this.step] >= STEP_ORDER.prevote && this.quorum(rs.prevotes.power.get(p.blockHash) ?? 0n)) {
      rs.rule5Done = true;
      if (this.step === 'prevote') {
        this.lockedRound = r;
        this.lockedHash = p.blockHash;
        out.push({ kind: 'lock', height: this.height, round: r, blockHash: p.blockHash, block: p.block, polka: this.polkaOf(rs, p.blockHash) });
        this.castVote('precommit', p.blockHash, out);
        this.step = 'precommit';
      }
      this.validRound = r;
      this.validBlock = p.block;
      this.validHash = p.blockHash;
      return true;
    }

    // Rule 6.
    if (this.step === 'prevote' && this.quorum(rs.prevotes.power.get(NIL) ?? 0n)) {
      this.castVote('precommit', null, out);
      this.step = 'precommit';
      return true;
    }

    // Rule 7.
    if (!rs.precommitTimeoutScheduled && this.quorum(rs.precommits.total)) {
      rs.precommitTimeoutScheduled = true;
      out.push({ kind: 'schedule', height: this.height, round: r, step: 'precommit', ms: this.timeout('precommit', r) });
    }
    return false;
  }

  /** The prevotes counted for `blockHash` in a round, signers in id order. */
  private polkaOf(rs: RoundState, blockHash: string): PolkaVote[] {
    const out: PolkaVote[] = [];
    for (const v of rs.prevotes.byValue.get(blockHash)?.values() ?? []) out.push({ validatorId: v.validatorId, signature: v.signature });
    return out.sort((a, b) => (a.validatorId < b.validatorId ? -1 : a.validatorId > b.validatorId ? 1 : 0));
  }

  /** The certificate for `blockHash` from the precommits of `round`, signers in id order. */
  private commitFor(round: number, blockHash: string): Commit {
    const sigs: CommitSignature[] = [];
    for (const v of this.roundState(round).precommits.byValue.get(blockHash)?.values() ?? []) {
      sigs.push({ validatorId: v.validatorId, signature: v.signature });
    }
    sigs.sort((a, b) => (a.validatorId < b.validatorId ? -1 : a.validatorId > b.validatorId ? 1 : 0));
    return { height: this.height, round, blockHash, signatures: sigs };
  }

  private decide(block: Block, blockHash: string, commit: Commit, out: EngineAction[]): void {
    this.decided = true;
    out.push({ kind: 'decide', height: this.height, block, blockHash, commit });
  }
}
