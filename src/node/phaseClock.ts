/**
 * When this node reached each step of the height in progress, for
 * fastpos_consensus_phase_seconds{phase}: proposal, prevote, precommit,
 * decided and commit (decided → durable); and the metrics of a finalized block.
 * @module
 */
import type { Metrics } from '../metrics/index.js';
import type { FinalizedBlock } from '../types/index.js';
import type { Clock } from './context.js';

export type Phase = 'proposal' | 'prevote' | 'precommit' | 'decided';

const BEFORE: Record<Phase, 'start' | Phase> = { proposal: 'start', prevote: 'proposal', precommit: 'prevote', decided: 'precommit' };

export class PhaseClock {
  private steps: { height: number; start: number } & Partial<Record<Phase, number>> = { height: 0, start: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {}

  /** A new height begins now. */
  begin(height: number): void {
    this.steps = { height, start: this.clock.monotonic() };
  }

  /** Records the first time this node reaches `name` at `height` and the phase that ended there. */
  reach(height: number, name: Phase): void {
    const s = this.steps;
    if (s.height !== height || s[name] !== undefined) return;
    const now = this.clock.monotonic();
    s[name] = now;
    const from = s[BEFORE[name]];
    if (from !== undefined) this.metrics.consensusPhase.observe({ phase: name }, (now - from) / 1000);
  }

  /** `height` is durable: its commit phase ends and the next height begins. */
  committed(height: number): void {
    const decidedAt = this.steps.height === height ? this.steps.decided : undefined;
    if (decidedAt !== undefined) this.metrics.consensusPhase.observe({ phase: 'commit' }, (this.clock.monotonic() - decidedAt) / 1000);
    this.begin(height + 1);
  }
}

/** The block metrics of a finalized block: height, count, size, deciding round, tx results. */
export function observeFinalized(m: Metrics, fb: FinalizedBlock): void {
  const txs = fb.block.txs.length;
  m.finalizedHeight.set(fb.block.header.height);
  m.blocksFinalized.inc();
  m.blockTxs.observe(txs);
  m.consensusRound.observe(fb.commit.round);
  const ok = fb.results.filter((r) => r.success).length;
  if (ok > 0) m.txsFinalized.inc({ result: 'success' }, ok);
  if (txs - ok > 0) m.txsFinalized.inc({ result: 'failed' }, txs - ok);
}
