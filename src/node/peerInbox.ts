/**
 * Consensus envelopes from peers (POST /p2p/message): every check once, the
 * cheap ones first — shape, chain, height, sender in the height's set,
 * duplicates, the payload decoded once (`decodeInbound`), the signature last,
 * then the sender's rate — and the decoded message handed to the driver.
 *
 * Messages of a height whose validator set is not known yet (the first
 * heights of the next epoch, while this node finishes the current one) are
 * kept, bounded, and checked once the set is known. Precommits for the tip
 * that arrive after its quorum go to the last-commit gatherer.
 * @module
 */
import { decodeEnvelope, envelopeSignBytes, type Envelope } from '../codec/envelope.js';
import { decodeInbound, type InboundMessage } from '../consensus/inbound.js';
import { verifySignature } from '../crypto/ed25519.js';
import { ErrorCode, FastposError } from '../errors.js';
import type { Mempool } from '../mempool/index.js';
import type { ChainHead } from './chainHead.js';
import type { Clock, Log } from './context.js';
import type { LastCommitGatherer } from './lastCommit.js';

/** Heights ahead of the next one whose messages are kept; further ones only say that this node is behind. */
export const MAX_MESSAGE_LEAD = 64;
/** Messages kept while their height's validator set is not known yet (proposals and finalize messages: a few of them). */
const MAX_WAITING = 2_000;
const MAX_WAITING_BLOCKS = 32;
/** Heights ahead of the next one for which messages wait for their set. */
const MAX_WAITING_LEAD = 16;
const MAX_WAITING_PER_VALIDATOR = 200;
const SEEN_MAX = 100_000;

export interface InboxDeps {
  readonly head: ChainHead;
  readonly mempool: Mempool;
  readonly clock: Clock;
  readonly log: Log;
  readonly lastCommit: LastCommitGatherer;
  /** Hands a checked message to the consensus driver; false when the driver did not take it. */
  readonly deliver: (m: InboundMessage) => boolean;
  /** A validator of the set sent a genuine message of the height this node decided last: it missed the decision. */
  readonly peerBehind: (height: number) => void;
  /** A genuine message of a height well ahead of ours: this node is behind. */
  readonly behind: (height: number) => void;
  /** Consensus messages per second accepted from one validator (0 = no limit). */
  readonly rateLimit: number;
}

export class PeerInbox {
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Envelopes waiting for the validator set of their height, by signature. */
  private readonly waiting = new Map<string, Envelope>();
  private waitingBlocks = 0;
  private readonly waitingBy = new Map<string, number>();

  constructor(private readonly deps: InboxDeps) {}

  /** Checks a wire envelope and hands it on; throws FastposError to refuse it. */
  receive(json: unknown): void {
    const { head } = this.deps;
    const e = decodeEnvelope(json);
    if (e.chainId !== head.chainId) throw new FastposError(ErrorCode.WRONG_CHAIN_ID, `chainId must be ${head.chainId}, got ${e.chainId}`);
    const next = head.height + 1;
    if (e.height < next) {
      if (e.height === head.height && e.type === 'precommit' && this.lateprecommit(e)) return;
      if (e.height === head.height && e.type !== 'finalize') this.checkLagging(e);
      throw new FastposError(ErrorCode.OUTDATED_MESSAGE, `height ${e.height} is already finalized here (latest ${head.height})`);
    }
    if (!head.knowsSetAt(e.height)) {
      this.wait(e, next);
      return;
    }
    this.check(e, next);
  }

  /** The chain head moved: messages whose set is known now are checked (a bad one is dropped quietly). */
  advanced(): void {
    if (this.waiting.size === 0) return;
    const next = this.deps.head.height + 1;
    const ready: Envelope[] = [];
    for (const [sig, e] of this.waiting) {
      if (e.height < next || this.deps.head.knowsSetAt(e.height)) {
        ready.push(e);
        this.waiting.delete(sig);
        if (e.type === 'proposal' || e.type === 'finalize') this.waitingBlocks--;
        const left = (this.waitingBy.get(e.validatorId) ?? 1) - 1;
        if (left > 0) this.waitingBy.set(e.validatorId, left);
        else this.waitingBy.delete(e.validatorId);
      }
    }
    for (const e of ready) {
      if (e.height < next) continue;
      try {
        this.check(e, next);
      } catch (err) {
        if (!(err instanceof FastposError)) throw err;
        this.deps.log.debug({ code: err.code, err: err.message, height: e.height, validatorId: e.validatorId }, 'dropped a message that waited for its validator set');
      }
    }
  }

  private check(e: Envelope, next: number): void {
    const { head } = this.deps;
    const set = head.setAt(e.height);
    const v = set.validators.find((x) => x.id === e.validatorId);
    if (v === undefined) throw new FastposError(ErrorCode.UNKNOWN_VALIDATOR, `${e.validatorId} is not a validator of the set of height ${e.height}`);
    if (this.seen.has(e.signature)) throw new FastposError(ErrorCode.DUPLICATE_MESSAGE, 'message already received');
    // The payload must be well formed for its type (throws INVALID_MESSAGE); decoded here, once.
    const m = decodeInbound(e, set, (sig) => this.deps.mempool.getBySignature(sig));
    // Checked here rather than on the worker threads: a consensus message must not wait behind a queue of tx
    // signatures (a few per height; one check costs about as much as handling one request).
    if (!verifySignature(v.pubKey, envelopeSignBytes(e), e.signature, head.keyCache)) {
      throw new FastposError(ErrorCode.INVALID_SIGNATURE, `envelope signature does not verify for validator ${e.validatorId}`);
    }
    // Charged only for genuine messages, so that forged ones cannot use up a validator's budget.
    if (!this.takeToken(e.validatorId)) throw new FastposError(ErrorCode.RATE_LIMITED, `more than ${this.deps.rateLimit} messages per second from ${e.validatorId}`);
    if (e.height > next + MAX_MESSAGE_LEAD) {
      // Far ahead: no point keeping it; fetch the blocks in between instead.
      this.deps.behind(e.height);
      return;
    }
    if (m.kind === 'vote' && m.type === 'precommit' && e.height === next) {
      // May arrive while the height is being committed, after its quorum: the next block carries it.
      this.deps.lastCommit.note(e.height, { round: e.round, validatorId: e.validatorId, blockHash: m.blockHash, signature: e.signature });
    }
    // Remembered only once the driver holds it: a message it could not take yet is welcome again.
    if (this.deps.deliver(m)) this.remember(e.signature);
  }

  /** A precommit for the tip that missed its quorum: kept for the next block's certificate if it verifies. */
  private lateprecommit(e: Envelope): boolean {
    const { head } = this.deps;
    const blockHash = e.payload.blockHash;
    if (typeof blockHash !== 'string' || Object.keys(e.payload).length !== 1) return false;
    return this.deps.lastCommit.offer(head.tip, head.setAt(e.height), { round: e.round, validatorId: e.validatorId, blockHash, signature: e.signature });
  }

  /**
   * A message of the height this node decided last: its sender is still
   * there (it missed the block or its certificate). If the message is
   * genuine, the driver hands the sender the block and certificate (at most
   * once per repair period); the message itself is refused as outdated.
   */
  private checkLagging(e: Envelope): void {
    const { head } = this.deps;
    const v = head.setAt(e.height).validators.find((x) => x.id === e.validatorId);
    if (v === undefined) return;
    if (!verifySignature(v.pubKey, envelopeSignBytes(e), e.signature, head.keyCache)) {
      throw new FastposError(ErrorCode.INVALID_SIGNATURE, `envelope signature does not verify for validator ${e.validatorId}`);
    }
    if (!this.takeToken(e.validatorId)) return;
    this.deps.peerBehind(e.height);
  }

  /**
   * Keeps a message whose height's set is not known yet. Its sender must be a
   * registered validator (an id is the address of its key, so the key is
   * known) and its signature must verify: only genuine messages wait, at most
   * MAX_WAITING_PER_VALIDATOR of each validator. A genuine message further
   * ahead only tells that this node is behind.
   */
  private wait(e: Envelope, next: number): void {
    const record = this.deps.head.validators.get(e.validatorId);
    if (record === undefined) throw new FastposError(ErrorCode.UNKNOWN_VALIDATOR, `${e.validatorId} is not a registered validator`);
    if (this.waiting.has(e.signature) || this.seen.has(e.signature)) throw new FastposError(ErrorCode.DUPLICATE_MESSAGE, 'message already received');
    const isBlock = e.type === 'proposal' || e.type === 'finalize';
    const mine = this.waitingBy.get(e.validatorId) ?? 0;
    const far = e.height > next + MAX_WAITING_LEAD;
    if (!far && (this.waiting.size >= MAX_WAITING || (isBlock && this.waitingBlocks >= MAX_WAITING_BLOCKS))) {
      throw new FastposError(ErrorCode.UNKNOWN_VALIDATOR, `the validator set of height ${e.height} is not known here yet (latest ${this.deps.head.height})`);
    }
    if (!far && mine >= MAX_WAITING_PER_VALIDATOR) throw new FastposError(ErrorCode.RATE_LIMITED, `too many messages of ${e.validatorId} wait for the validator set of height ${e.height}`);
    if (!verifySignature(record.pubKey, envelopeSignBytes(e), e.signature, this.deps.head.keyCache)) {
      throw new FastposError(ErrorCode.INVALID_SIGNATURE, `envelope signature does not verify for validator ${e.validatorId}`);
    }
    if (far) {
      // Genuine, and too far ahead to keep: fetch the blocks in between instead.
      this.deps.behind(e.height);
      return;
    }
    this.waiting.set(e.signature, e);
    this.waitingBy.set(e.validatorId, mine + 1);
    if (isBlock) this.waitingBlocks++;
  }

  private remember(signature: string): void {
    this.seen.add(signature);
    this.seenOrder.push(signature);
    if (this.seenOrder.length > SEEN_MAX) {
      for (const old of this.seenOrder.splice(0, SEEN_MAX / 10)) this.seen.delete(old);
    }
  }

  /** Token bucket per validator: rateLimit per second, bursts up to twice that. */
  private takeToken(id: string): boolean {
    const rate = this.deps.rateLimit;
    if (rate <= 0) return true;
    const now = this.deps.clock.now();
    const b = this.buckets.get(id) ?? { tokens: 2 * rate, at: now };
    b.tokens = Math.min(2 * rate, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    this.buckets.set(id, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
