/**
 * Chooses how a node that is behind catches up, each time the sync scheduler
 * fires: by snapshot (`StateSync`) or block by block (`CatchUp`, through the
 * node), and reports where it stands for `GET /sync/status`, metrics and the
 * terminal.
 *
 * `syncMode`: `blocks` never uses snapshots; `snapshot` uses one whenever a
 * peer offers one above this node's height; `auto` uses one when the node is
 * at least `minLag` heights behind the best peer, or when the peers ahead no
 * longer keep the blocks it needs (pruned). Without a usable snapshot it
 * falls back to blocks, and when blocks are pruned everywhere it says so and
 * tries again at the next round.
 * @module
 */
import type { Clock, Log } from './context.js';
import type { SnapshotSource, StateSync } from './stateSync.js';

export type SyncMode = 'auto' | 'blocks' | 'snapshot';

/** What `GET /sync/status` shows of a sync in progress. */
export interface SyncProgressView {
  readonly mode: 'snapshot' | 'blocks';
  /** Snapshot sync: choosing, verifying, downloading, installing; blocks: fetching. */
  readonly phase: string;
  /** Height being synced to. */
  readonly targetHeight: number;
  /** Units: entries (snapshot) or blocks. */
  readonly unit: 'entries' | 'blocks';
  readonly current: number;
  readonly total: number;
  /** Units per second since the sync began. */
  readonly rate: number;
  readonly etaSeconds: number | null;
  readonly startedAt: number;
}

export interface SyncCoordinatorDeps {
  readonly mode: SyncMode;
  readonly minLag: number;
  readonly height: () => number;
  readonly stateSync: StateSync | null;
  readonly snapshots: SnapshotSource | null;
  /** Catch-up by blocks (returns blocks applied). */
  readonly blocks: (minLead: number) => Promise<number>;
  readonly blockProgress: () => { target: number; from: number; startedAt: number } | null;
  readonly clock: Pick<Clock, 'now'>;
  readonly log: Log;
}

export class SyncCoordinator {
  private lastReason = '';
  private running = false;

  constructor(private readonly deps: SyncCoordinatorDeps) {}

  /** One round at a time: a round asked for while one runs is skipped. */
  async run(minLead: number): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      return await this.round(minLead);
    } finally {
      this.running = false;
    }
  }

  private async round(minLead: number): Promise<number> {
    const { stateSync, snapshots, mode } = this.deps;
    if (stateSync !== null && snapshots !== null && mode !== 'blocks') {
      const local = this.deps.height();
      const standings = await stateSync.survey(snapshots);
      const ahead = standings.filter((s) => s.height > local);
      const best = Math.max(local, ...ahead.map((s) => s.height));
      const pruned = ahead.length > 0 && ahead.every((s) => s.earliestBlockHeight > local + 1);
      const wanted = ahead.length > 0 && (mode === 'snapshot' || pruned || best - local >= this.deps.minLag);
      if (wanted) {
        const installed = await stateSync.run(snapshots, standings, local);
        // Installed: the blocks since the snapshot come at once, not at the next round.
        if (installed !== null) return installed - local + (await this.deps.blocks(1));
        if (pruned) {
          const earliest = Math.min(...ahead.map((s) => s.earliestBlockHeight));
          this.say(`no usable snapshot, and the peers ahead keep whole blocks only from height ${earliest} (this node is at ${local}); retrying`);
          return 0;
        }
        if (stateSync.outcome === 'failed') this.say('no usable snapshot; catching up block by block');
      }
    }
    return this.deps.blocks(minLead);
  }

  /** Logs a reason once (not again at every round while it holds). */
  private say(reason: string): void {
    if (reason === this.lastReason) return;
    this.lastReason = reason;
    this.deps.log.warn({ height: this.deps.height() }, reason);
  }

  /** The sync in progress, or null. */
  progress(): SyncProgressView | null {
    const now = this.deps.clock.now();
    const seconds = (startedAt: number): number => Math.max(0.001, (now - startedAt) / 1000);
    const snap = this.deps.stateSync?.progress ?? null;
    if (snap !== null) {
      const rate = snap.entriesDone / seconds(snap.startedAt);
      return {
        mode: 'snapshot',
        phase: snap.phase,
        targetHeight: snap.height,
        unit: 'entries',
        current: snap.entriesDone,
        total: snap.entries,
        rate: Math.round(rate),
        etaSeconds: rate > 0 ? Math.round((snap.entries - snap.entriesDone) / rate) : null,
        startedAt: snap.startedAt,
      };
    }
    const b = this.deps.blockProgress();
    if (b === null) return null;
    const done = this.deps.height() - b.from;
    const rate = done / seconds(b.startedAt);
    return {
      mode: 'blocks',
      phase: 'fetching',
      targetHeight: b.target,
      unit: 'blocks',
      current: this.deps.height(),
      total: b.target,
      rate: Math.round(rate * 10) / 10,
      etaSeconds: rate > 0 ? Math.round((b.target - this.deps.height()) / rate) : null,
      startedAt: b.startedAt,
    };
  }
}
