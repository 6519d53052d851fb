/**
 * Equivocation evidence on one node: what it saw (two signed messages of one
 * validator for one position) and what it will put in the blocks it proposes.
 * The pending list is handed to `save` whenever it changes (a file in a node),
 * and every item is checked against the state again before it is proposed.
 * @module
 */
import type { Envelope } from '../codec/envelope.js';
import type { ErrorCode } from '../errors.js';
import { checkEvidence, selectValidEvidence, type EvidenceContext } from '../state/evidence.js';
import type { StateReader } from '../state/worldState.js';
import type { ChainParams, Evidence, EvidenceMessageType, SignedMessage } from '../types/index.js';
import type { Log } from './context.js';

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

function toSignedMessage(e: Envelope): SignedMessage {
  return { type: e.type as EvidenceMessageType, chainId: e.chainId, height: e.height, round: e.round, validatorId: e.validatorId, payload: e.payload, signature: e.signature };
}

/** Position of an equivocation (of a message, or of evidence's first message): one record per (type, height, round, validator). */
export function evidenceKey(m: { readonly type: string; readonly height: number; readonly round: number; readonly validatorId: string }): string {
  return `${m.type}/${m.height}/${m.round}/${m.validatorId}`;
}

export interface EvidencePoolDeps {
  readonly chainId: string;
  readonly params: ChainParams;
  readonly log: Log;
  /** Keeps the pending list (a node writes it to a file). */
  readonly save: (pending: readonly Evidence[]) => void;
  /** Counts one equivocation seen, by message type. */
  readonly seen?: (type: string) => void;
}

export class EvidencePool {
  private readonly records = new Map<string, EvidenceRecord>();
  /** Evidence not yet on chain, offered to the blocks this node proposes. */
  private readonly pending = new Map<string, Evidence>();

  constructor(private readonly deps: EvidencePoolDeps) {}

  /** What evidence checks need to know of a block at `height`. */
  context(height: number): EvidenceContext {
    return { chainId: this.deps.chainId, params: this.deps.params, height };
  }

  /** Evidence saved before a restart: kept if still valid for the next height. */
  restore(saved: readonly Evidence[], state: StateReader, nextHeight: number): void {
    for (const e of saved) this.pending.set(evidenceKey(e.a), e);
    this.prune(state, nextHeight);
    if (saved.length > 0) this.deps.log.info({ saved: saved.length, pending: this.pending.size }, 'loaded pending evidence');
  }

  /** Two different signed messages of one validator for one position, as the consensus driver reports them. */
  record(first: Envelope, second: Envelope): void {
    const key = evidenceKey(first);
    if (this.records.has(key)) return;
    // Bounded memory: at most MAX_EVIDENCE records, of which at most MAX_PROPOSAL_EVIDENCE carry
    // whole proposed blocks (oldest dropped first).
    if (this.records.size >= MAX_EVIDENCE) this.records.delete(this.records.keys().next().value as string);
    if (first.type === 'proposal') {
      const proposals = [...this.records.keys()].filter((k) => k.startsWith('proposal/'));
      for (const k of proposals.slice(0, Math.max(0, proposals.length - MAX_PROPOSAL_EVIDENCE + 1))) {
        this.records.delete(k);
        this.pending.delete(k);
      }
    }
    this.records.set(key, { type: first.type, height: first.height, round: first.round, validatorId: first.validatorId, first, second });
    if (first.type !== 'finalize') {
      this.pending.set(key, { a: toSignedMessage(first), b: toSignedMessage(second) });
      this.save();
    }
    this.deps.seen?.(first.type);
    this.deps.log.warn({ validatorId: first.validatorId, height: first.height, round: first.round, type: first.type }, 'equivocation evidence');
  }

  /** Adds evidence (from an operator or a peer); returns its problem if it is not valid for the next height. */
  offer(e: Evidence, state: StateReader, nextHeight: number): { code: ErrorCode; message: string } | null {
    const problem = checkEvidence(state, e, this.context(nextHeight));
    if (problem !== null) return problem;
    this.pending.set(evidenceKey(e.a), e);
    this.save();
    return null;
  }

  /**
   * Valid, unused evidence for a block at `height`, by the rule of that height:
   * at most one item per validator (below the height of
   * `evidence-once-per-spell`, one per validator and height).
   */
  select(state: StateReader, height: number): Evidence[] {
    return selectValidEvidence(state, this.pending.values(), this.context(height));
  }

  /** Drops pending evidence that is on chain now, too old, or otherwise no longer valid. */
  prune(state: StateReader, nextHeight: number): void {
    if (this.pending.size === 0) return;
    const before = this.pending.size;
    // Each item on its own: evidence of one validator at several heights stays until one of them is on chain.
    const ctx = this.context(nextHeight);
    for (const [k, e] of this.pending) if (checkEvidence(state, e, ctx) !== null) this.pending.delete(k);
    if (this.pending.size !== before) this.save();
  }

  seenList(): EvidenceRecord[] {
    return [...this.records.values()];
  }

  pendingList(): Evidence[] {
    return [...this.pending.values()];
  }

  private save(): void {
    this.deps.save([...this.pending.values()]);
  }
}
