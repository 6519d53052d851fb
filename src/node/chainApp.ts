/**
 * The consensus driver's application on a node: builds the proposals this
 * node makes, checks the blocks others propose or certify, and commits
 * decided blocks — durable first, then the chain head moves and everyone is
 * told. What is committed is always the block this node executed, so a body
 * can never be stored beside another body's results.
 * @module
 */
import { KEY_PREFIX } from '../codec/state.js';
import { bodyMismatch, executeProposed, prepareBlock, sealBlock, sealValidated, validateBlock, type ExecutedBlock } from '../consensus/block.js';
import type { LtElement } from '../state/ltHash.js';
import type { StateChanges, WorldState } from '../state/worldState.js';
import { verifyCommit } from '../consensus/commit.js';
import type { ConsensusApp } from '../consensus/driver.js';
import { selectProposer } from '../consensus/proposer.js';
import { verifySignature } from '../crypto/ed25519.js';
import { ErrorCode, FastposError, FatalError } from '../errors.js';
import type { DroppedRecord, Mempool } from '../mempool/index.js';
import type { ChainStore } from '../storage/types.js';
import type { Block, Commit, FinalizedBlock, Validator, ValidatorSet } from '../types/index.js';
import type { Advance, ChainHead } from './chainHead.js';
import type { PartContext, SignatureVerifier } from './context.js';
import type { EvidencePool } from './evidencePool.js';
import { LastCommitGatherer } from './lastCommit.js';
import { nextArrivalRate, proposalInterval, type PacingOptions } from './blockPacing.js';
import { PhaseClock } from './phaseClock.js';
import type { VerifiedTxs } from './verifiedTxs.js';

/** A proposed block with at most this many txs this node has not checked yet checks them on the event loop (about 5 ms at most). */
const INLINE_BLOCK_SIGNATURES = 32;
/**
 * Changed state entries from which a block's lattice elements (one SHAKE-256
 * of 2 KiB each, about 8 µs) are hashed on the signature workers, leaving the
 * main thread to admission meanwhile; fewer are hashed in place.
 */
const OFFLOAD_STATE_ELEMENTS = 64;

/** Block pacing (see blockPacing.ts) and how long a proposal waits for the tip's missing precommits. */
export interface ChainAppOptions extends PacingOptions {
  /** How long after a decision the next proposal waits for precommits that missed the quorum (it carries them). */
  readonly commitGatherMs: number;
}

export interface ChainAppDeps extends PartContext {
  readonly head: ChainHead;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly evidence: EvidencePool;
  readonly verifier: SignatureVerifier;
  /** Txs of proposed blocks whose signatures were checked here (admission then skips them). */
  readonly verified?: VerifiedTxs;
  /** Where consensus stands now (null: not running): a proposal for another position is not built. */
  readonly position: () => { height: number; round: number } | null;
  /** Whether this node's own keys hold a quorum of the set of `height` (no other validator's vote is needed). */
  readonly soloQuorum?: (height: number) => boolean;
  /** Called after a block is durable and applied. */
  readonly committed: (fb: FinalizedBlock, advance: Advance) => void;
  /** A pool drop caused by building a block. */
  readonly dropped: (r: DroppedRecord) => void;
}

export class ChainApp implements ConsensusApp {
  /** Blocks executed while checking or building them, by hash, for the height in progress. */
  private readonly executed = new Map<string, ExecutedBlock>();
  /** The block being made durable, if any (one at a time). */
  private inFlight: Promise<FinalizedBlock> | null = null;
  private lastBlockAtMs: number;
  /** Txs admitted since the last decision, and the arrival rate (txs per ms, smoothed over heights). */
  private admittedSinceDecision = 0;
  private arrivalRate = 0;
  private wakeProposer: (() => void) | null = null;
  readonly phases: PhaseClock;
  readonly lastCommit: LastCommitGatherer;

  constructor(
    private readonly deps: ChainAppDeps,
    private readonly opts: ChainAppOptions,
  ) {
    this.lastBlockAtMs = deps.clock.now();
    this.phases = new PhaseClock(deps.clock, deps.metrics);
    this.lastCommit = new LastCommitGatherer(deps.head.chainId, deps.head.keyCache);
  }

  /** The chain head is loaded: block pacing counts from now. */
  started(): void {
    this.lastBlockAtMs = this.deps.clock.now();
    this.lastCommit.reset(this.deps.head.tip);
  }

  /** Wall time of the last decision (or of the start). */
  get lastBlockAt(): number {
    return this.lastBlockAtMs;
  }

  /** Resolves once no block is being committed. */
  async idle(): Promise<void> {
    while (this.inFlight !== null) await this.inFlight.catch(() => undefined);
  }

  /** Resolves once `height` is committed here; rejects after `timeoutMs`. */
  whenHeight(height: number, timeoutMs: number): Promise<void> {
    if (this.deps.head.height >= height) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = { height, resolve: () => {
        this.deps.timers.clearTimeout(t);
        resolve();
      } };
      const t = this.deps.timers.setTimeout(() => {
        this.heightWaiters.delete(w);
        reject(new FastposError(ErrorCode.NOT_READY, `height ${height} was not committed within ${timeoutMs} ms`));
      }, timeoutMs);
      this.heightWaiters.add(w);
    });
  }

  private readonly heightWaiters = new Set<{ height: number; resolve: () => void }>();

  /** A tx entered the pool: a proposer waiting through an idle spell may build sooner. */
  txAdmitted(): void {
    this.admittedSinceDecision++;
    this.wakeProposer?.();
  }

  // ---------------------------------------------------------------- ConsensusApp

  validatorSet(height: number): ValidatorSet {
    return this.deps.head.setAt(height);
  }

  proposerOf(height: number, round: number): string {
    return selectProposer(this.deps.head.setAt(height), height, round).id;
  }

  finalized(height: number): FinalizedBlock | null {
    return height >= 1 && height <= this.deps.head.height ? (this.deps.head.block(height) ?? null) : null;
  }

  async validateBlock(block: Block, hash: string): Promise<boolean> {
    this.phases.reach(block.header.height, 'proposal');
    return this.checkBlock(block, hash);
  }

  async verifyCertified(fb: FinalizedBlock): Promise<boolean> {
    const head = this.deps.head;
    try {
      verifyCommit({ chainId: head.chainId, set: head.set, commit: fb.commit, height: fb.block.header.height, blockHash: fb.hash, keyCache: head.keyCache });
    } catch {
      return false;
    }
    return this.checkBlock(fb.block, fb.hash);
  }

  commit(block: Block, hash: string, commit: Commit): Promise<FinalizedBlock> {
    this.phases.reach(block.header.height, 'decided');
    // Block pacing counts from the decision: the time the block takes to become durable is part of the interval.
    const now = this.deps.clock.now();
    this.arrivalRate = nextArrivalRate(this.arrivalRate, this.admittedSinceDecision, now - this.lastBlockAtMs);
    this.admittedSinceDecision = 0;
    this.lastBlockAtMs = now;
    const p = this.commitDecided(block, hash, commit);
    this.inFlight = p;
    return p.finally(() => {
      this.inFlight = null;
    });
  }

  /**
   * Waits until a block is due, then builds it. A block is sized by time and
   * bytes: it is due at once when the pool holds a full block (maxBlockTxs or
   * maxBlockBytes), else once txs have waited the block interval since the
   * last block (idleBlockIntervalMs while the pool is empty); so light load
   * gets small blocks soon and heavy load full blocks without a pause.
   */
  async buildBlock(height: number, round: number): Promise<{ block: Block; hash: string } | null> {
    const { head, mempool, clock } = this.deps;
    for (;;) {
      const at = this.deps.position();
      if (at === null || head.height + 1 !== height || at.height !== height || at.round !== round) return null;
      const wait = this.waitBeforeProposal(height);
      if (wait <= 0 || round > 0) break;
      await this.sleep(wait, height);
    }
    const t0 = clock.monotonic();
    const tip = { ...head.tip, commit: this.lastCommit.best(head.tip) };
    const world = head.world;
    const prepared = prepareBlock({ env: head.env(), state: world, tip, round, timestamp: clock.now(), candidates: mempool.candidates(world), evidence: this.deps.evidence.select(world, height) });
    const elements = await this.elementsOffThread(world, prepared.changes);
    // While they were hashed, the head may have moved on (the height decided through a peer's certificate) or consensus to another round.
    const at = this.deps.position();
    if (head.world !== world || head.height + 1 !== height || at === null || at.height !== height || at.round !== round) return null;
    const built = sealBlock(prepared, elements);
    for (const sk of built.skipped) {
      if (sk.error.code !== ErrorCode.NONCE_TOO_HIGH) {
        const r = mempool.drop(sk.tx.id, sk.error.code.toLowerCase(), sk.error.message, height, clock.now());
        if (r !== undefined) this.deps.dropped(r);
      }
    }
    this.deps.metrics.blockBuildSeconds.observe((clock.monotonic() - t0) / 1000);
    this.phases.reach(height, 'proposal');
    this.executed.set(built.hash, built);
    this.deps.log.debug({ height, round, txs: built.block.txs.length, buildMs: Math.round(clock.monotonic() - t0) }, 'proposing block');
    return { block: built.block, hash: built.hash };
  }

  /** Milliseconds until a proposal for `height` is due (0 or less: now). */
  private waitBeforeProposal(height: number): number {
    const { mempool, clock, head } = this.deps;
    const since = clock.now() - this.lastBlockAtMs;
    const solo = this.deps.soloQuorum?.(height) === true;
    const interval = proposalInterval(this.opts, { txs: mempool.size, bytes: mempool.txBytes }, head.params, solo, this.arrivalRate);
    return Math.max(interval, this.gatherWait(since)) - since;
  }

  /** How long since the last block a proposal waits for the tip's missing precommits (0 when the certificate is complete). */
  private gatherWait(since: number): number {
    const head = this.deps.head;
    if (head.tip.commit === null || since >= this.opts.commitGatherMs) return 0;
    return this.lastCommit.complete(head.tip, head.setAt(head.height)) ? 0 : this.opts.commitGatherMs;
  }

  /** Sleeps up to `ms`; an admitted tx wakes it to look again at when the proposal for `height` is due. */
  private sleep(ms: number, height: number): Promise<void> {
    const { timers, clock } = this.deps;
    return new Promise<void>((resolve) => {
      let deadline = clock.now() + ms;
      let t: unknown;
      const done = (): void => {
        timers.clearTimeout(t);
        this.wakeProposer = null;
        resolve();
      };
      t = timers.setTimeout(done, Math.max(1, ms));
      this.wakeProposer = () => {
        const wait = this.waitBeforeProposal(height);
        const now = clock.now();
        if (now + wait >= deadline) return;
        timers.clearTimeout(t);
        deadline = now + wait;
        t = timers.setTimeout(done, Math.max(0, wait));
      };
    });
  }

  /**
   * Deterministic validity of a block for the next height: its body bound to
   * its header, tx signatures (those not already checked at admission), the
   * previous certificate it carries, then header rules and execution.
   */
  async checkBlock(block: Block, hash: string): Promise<boolean> {
    const { head, mempool, metrics, log, verifier } = this.deps;
    const height = block.header.height;
    try {
      // A header hash vouches for the header only: the body must be the one it commits to.
      const mismatch = bodyMismatch(block);
      if (mismatch !== null) throw new FastposError(ErrorCode.INVALID_BLOCK, mismatch);
      if (this.executed.has(hash)) return true;
      const verified = this.deps.verified;
      const unchecked = block.txs.filter((d) => mempool.get(d.id)?.tx.signature !== d.tx.signature && verified?.has(d) !== true);
      if (unchecked.length > 0) {
        metrics.txSignatureChecks.inc({ path: 'block' }, unchecked.length);
        // A few txs that gossip has not brought yet are checked here at once: queued behind the
        // verifier's backlog of gossip, they would hold up this node's prevote (and the height).
        const ok =
          unchecked.length <= INLINE_BLOCK_SIGNATURES
            ? unchecked.map((d) => verifySignature(d.tx.pubKey, d.signBytes, d.tx.signature, head.keyCache))
            : await verifier.verifyMany(unchecked.map((d) => ({ pubKey: d.tx.pubKey, message: d.signBytes, signature: d.tx.signature })));
        const bad = ok.indexOf(false);
        if (bad >= 0) throw new FastposError(ErrorCode.INVALID_BLOCK, `tx ${unchecked[bad]!.id} has a bad signature`);
        verified?.add(unchecked);
      }
      if (head.height + 1 !== height) return false;
      if (block.lastCommit !== null) {
        verifyCommit({ chainId: head.chainId, set: head.setAt(height - 1), commit: block.lastCommit, height: height - 1, blockHash: head.tip.hash, keyCache: head.keyCache });
      }
      const world = head.world;
      const proposal = executeProposed({ env: head.env(), state: world, tip: head.tip, block });
      const elements = await this.elementsOffThread(world, proposal.changes);
      if (head.world !== world || head.height + 1 !== height) return false;
      const executed = sealValidated(proposal, elements);
      if (executed.hash !== hash) return false;
      this.executed.set(hash, executed);
      return true;
    } catch (e) {
      if (!(e instanceof FastposError)) throw e;
      log.warn({ height, hash, code: e.code, err: e.message }, 'refused a proposed block');
      return false;
    }
  }

  /**
   * The lattice elements `world.diff(changes)` needs, hashed by the signature
   * workers when there are many (undefined: `diff` hashes them itself).
   */
  private async elementsOffThread(world: WorldState, changes: StateChanges): Promise<Map<string, LtElement> | undefined> {
    const hasher = this.deps.verifier.stateElements;
    if (hasher === undefined || changes.size < OFFLOAD_STATE_ELEMENTS / 2) return undefined;
    const inputs = world.elementInputs(changes);
    if (inputs.length < OFFLOAD_STATE_ELEMENTS) return undefined;
    const els = await hasher.call(this.deps.verifier, inputs);
    const map = new Map<string, LtElement>();
    inputs.forEach((input, i) => map.set(input, els[i]!));
    return map;
  }

  /** Makes a decided block durable, then applies it and tells everyone. */
  private async commitDecided(block: Block, hash: string, commit: Commit): Promise<FinalizedBlock> {
    const { head, store, clock, log } = this.deps;
    let executed = this.executed.get(hash);
    if (executed === undefined) {
      // Decided through a certificate for a block not checked here: its signers vouch for the header; the body
      // must be the one the header commits to, and execution gives the state.
      const mismatch = bodyMismatch(block);
      if (mismatch !== null) throw new FatalError(`decided block ${block.header.height} has a body that does not match its header: ${mismatch}`);
      executed = validateBlock({ env: head.env(), state: head.world, tip: head.tip, block });
    }
    this.executed.clear();
    // What is stored is the block that was executed, with its own results.
    const fb: FinalizedBlock = { block: executed.block, hash, results: executed.results, commit };
    const t1 = clock.monotonic();
    try {
      await store.commitBlock({ block: fb, changes: executed.diff.encoded, accumulator: executed.diff.accumulator.toBytes() });
    } catch (e) {
      throw FatalError.from(e, `could not make block ${block.header.height} durable`);
    }
    const commitMs = clock.monotonic() - t1;
    this.logPunishments(executed);
    const advance = head.advance(fb, executed);
    this.lastCommit.reset(head.tip);
    this.phases.committed(block.header.height);
    this.deps.metrics.blockCommitSeconds.observe(commitMs / 1000);
    log.debug({ height: block.header.height, hash, txs: block.txs.length, round: commit.round, commitMs }, 'block durable');
    this.deps.committed(fb, advance);
    for (const w of this.heightWaiters) {
      if (w.height <= head.height) {
        this.heightWaiters.delete(w);
        w.resolve();
      }
    }
    return fb;
  }

  /** Jailing and slashing are logged at warn, naming the validator. */
  private logPunishments(executed: ExecutedBlock): void {
    const { head, log } = this.deps;
    for (const [key, value] of executed.diff.changes) {
      if (!key.startsWith(KEY_PREFIX.validator) || value === null) continue;
      const now = value as Validator;
      const before = head.validators.get(now.id);
      if (now.status === 'jailed' && before?.status !== 'jailed') {
        // Why: the slash that came with it (downtime, double sign, product challenge), else a governance jail tx.
        const byTx = executed.block.txs.some((d) => d.tx.kind === 'validator_jail' && d.tx.payload.validatorId === now.id);
        const reason = now.slashes.slice(before?.slashes.length ?? 0).at(-1)?.reason ?? (byTx ? 'governance' : 'unknown');
        log.warn({ validatorId: now.id, height: executed.block.header.height, reason, jailedUntil: now.jailedUntil }, 'validator jailed');
      }
      for (const s of now.slashes.slice(before?.slashes.length ?? 0)) {
        log.warn({ validatorId: now.id, height: s.height, reason: s.reason, fractionBps: s.fractionBps, burned: s.burned.toString() }, 'validator slashed');
      }
    }
  }
}
