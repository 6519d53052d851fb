/**
 * Watches a running node's health and says so in the log: a stall (no block
 * finalized for `stallWarnMs`, repeated as long again passes, and a line when
 * blocks come again), falling behind (a peer reports a height at least
 * `behindWarnBlocks` above this node's: once per episode), and peers lost and
 * back. Events come in as calls, lines go out through the log; the clock is
 * injected and `tick` is called by the wiring's timer, so the watcher runs
 * without timers of its own.
 * @module
 */
import type { Log } from './context.js';

/** Most peers remembered as lost (the oldest is forgotten first). */
const MAX_LOST = 1000;

/** Reported heights older than this no longer count for the sync lag. */
export const PEER_HEIGHT_TTL_MS = 30_000;

export interface HealthWatchDeps {
  readonly clock: { now(): number };
  readonly log: Log;
  /** 0 = never warn about a stall. */
  readonly stallWarnMs: number;
  /** 0 = never warn about being behind. */
  readonly behindWarnBlocks: number;
  /** This node's finalized height. */
  readonly height: () => number;
  /** Where consensus stands (for the stall line). */
  readonly consensus: () => { height: number; round: number; step: string };
  /** Voting power that signed the last certificates and the set's total (for the stall line). */
  readonly power: () => { online: bigint; total: bigint };
  /** Peers answering and peers known (for the stall line): who is up now, which the last certificates cannot tell. */
  readonly peers?: () => { connected: number; known: number };
  /** Whether a sync is running (a stall is not reported then: the sync logs its progress). */
  readonly syncing: () => boolean;
}

export class HealthWatch {
  private lastBlockAt: number;
  private lastStallWarnAt: number | null = null;
  private behindEpisode = false;
  private readonly peerHeights = new Map<string, { height: number; at: number }>();
  private readonly lost = new Set<string>();

  constructor(private readonly deps: HealthWatchDeps) {
    this.lastBlockAt = deps.clock.now();
  }

  /** A block was finalized (by consensus or by sync). */
  finalized(height: number): void {
    const now = this.deps.clock.now();
    if (this.lastStallWarnAt !== null) {
      this.deps.log.info({ height, stalledMs: now - this.lastBlockAt }, 'blocks are being finalized again');
    }
    this.lastBlockAt = now;
    this.lastStallWarnAt = null;
    if (this.behindEpisode && this.syncLag() < Math.max(1, this.deps.behindWarnBlocks)) {
      this.behindEpisode = false;
      this.deps.log.info({ height }, 'node caught up with its peers');
    }
  }

  /** Called periodically: checks for a stall. */
  tick(): void {
    const { stallWarnMs, log } = this.deps;
    const now = this.deps.clock.now();
    if (this.deps.syncing()) {
      // Time spent syncing is not a stall of this node's consensus.
      this.lastBlockAt = Math.max(this.lastBlockAt, now - stallWarnMs / 2);
      return;
    }
    if (stallWarnMs <= 0) return;
    const idle = now - this.lastBlockAt;
    if (idle < stallWarnMs) return;
    if (this.lastStallWarnAt !== null && now - this.lastStallWarnAt < stallWarnMs) return;
    this.lastStallWarnAt = now;
    const c = this.deps.consensus();
    const p = this.deps.power();
    const peers = this.deps.peers?.();
    log.warn(
      {
        height: this.deps.height(),
        consensusHeight: c.height,
        round: c.round,
        step: c.step,
        online: `${p.online}/${p.total}`,
        ...(peers === undefined ? {} : { peers: `${peers.connected}/${peers.known}` }),
        idleMs: idle,
      },
      `no block finalized for ${Math.floor(idle / 1000)} s`,
    );
  }

  /** A peer reported its finalized height (sync status, or consensus messages for the height after it). */
  peerHeight(peer: string, height: number): void {
    const now = this.deps.clock.now();
    this.peerHeights.set(peer, { height, at: now });
    const ours = this.deps.height();
    const n = this.deps.behindWarnBlocks;
    if (n > 0 && !this.behindEpisode && height - ours >= n) {
      this.behindEpisode = true;
      this.deps.log.warn({ ours, theirs: height, peer }, 'node is behind');
    } else if (this.behindEpisode && this.syncLag() < Math.max(1, n)) {
      this.behindEpisode = false;
      this.deps.log.info({ height: ours }, 'node caught up with its peers');
    }
  }

  /** Best height peers reported lately minus ours; 0 when none is ahead. */
  syncLag(): number {
    const now = this.deps.clock.now();
    let best = 0;
    for (const [peer, r] of this.peerHeights) {
      if (now - r.at > PEER_HEIGHT_TTL_MS) this.peerHeights.delete(peer);
      else if (r.height > best) best = r.height;
    }
    return Math.max(0, best - this.deps.height());
  }

  /** Requests to a peer keep failing; `wasUp` when it had answered before. */
  peerDown(peer: string, info: { nodeId: string | null; wasUp: boolean; error: string | null }): void {
    if (this.lost.has(peer)) return;
    if (!info.wasUp) {
      this.deps.log.debug({ peer, nodeId: info.nodeId, err: info.error }, 'peer not reachable yet');
      return;
    }
    this.markLost(peer);
    this.deps.log.warn({ peer, nodeId: info.nodeId, err: info.error }, 'peer lost');
  }

  /** A peer answered after failing. */
  peerUp(peer: string, nodeId: string | null): void {
    if (this.lost.delete(peer)) this.deps.log.warn({ peer, nodeId }, 'peer back');
  }

  /** The peer book dropped a peer (aged out, evicted, penalized away). */
  peerDropped(peer: string, why: string): void {
    this.peerHeights.delete(peer);
    if (this.lost.has(peer)) return;
    this.markLost(peer);
    this.deps.log.warn({ peer, reason: why }, 'peer lost');
  }

  private markLost(peer: string): void {
    this.peerHeights.delete(peer);
    this.lost.add(peer);
    if (this.lost.size > MAX_LOST) this.lost.delete(this.lost.values().next().value as string);
  }

  /** Peers currently lost (for tests and the status of the watcher). */
  lostPeers(): string[] {
    return [...this.lost].sort();
  }
}
