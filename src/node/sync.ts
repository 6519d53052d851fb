/**
 * Catch-up from peers. When a node is behind, it asks peers (in an order that
 * varies) for their height and, from one that is ahead, fetches finalized
 * blocks with their certificates, checks each (certificate, body bound to
 * header, tx signatures, execution) and hands it to the running consensus
 * driver as a certified block of its current height — the driver is never
 * replaced, so the messages it holds for the heights ahead are kept, and
 * consensus never waits on a peer. A peer that fails, serves a bad block or
 * is too slow is reported (`penalize`) and the next peer is asked; one that
 * served blocks that checked is reported too (`served`). Each request to a
 * peer is bounded by the source (a deadline and a byte cap, see
 * `maxSyncResponseBytes`), so one peer holds a round up for at most that.
 *
 * `SyncScheduler` decides when to run: soon when consensus messages show the
 * node two or more heights behind, after a second when one height behind,
 * and every few seconds otherwise.
 * @module
 */
import { bodyMismatch } from '../consensus/block.js';
import { verifyCommit } from '../consensus/commit.js';
import type { ConsensusDriver } from '../consensus/driver.js';
import { ErrorCode, FastposError, FatalError } from '../errors.js';
import type { FinalizedBlock } from '../types/index.js';
import type { ChainApp } from './chainApp.js';
import type { ChainHead } from './chainHead.js';
import type { Clock, Log, Timers } from './context.js';

/** Where a node fetches finalized blocks when it is behind. */
export interface SyncSource {
  peers(): string[];
  status(peer: string): Promise<{ height: number; genesisHash: string }>;
  blocks(peer: string, from: number, limit: number): Promise<FinalizedBlock[]>;
  /** A peer that failed, served invalid data or was too slow (the source backs off from it, then drops it). */
  penalize?(peer: string, reason: string): void;
  /** A peer served blocks that checked (the source clears its penalties). */
  served?(peer: string): void;
}

export const SYNC_BATCH = 50;

/**
 * The largest `/sync/blocks` answer an honest peer sends for one batch:
 * SYNC_BATCH blocks, each with up to maxBlockBytes of txs and evidence, a
 * result per tx (64 bytes each), two certificates (256 bytes per validator
 * each) and its header (16 KiB), plus 1 MiB. About 60 MiB with the default parameters.
 */
export function maxSyncResponseBytes(params: { readonly maxBlockBytes: number; readonly maxBlockTxs: number; readonly maxValidators: number }): number {
  const perBlock = params.maxBlockBytes + 64 * params.maxBlockTxs + 2 * 256 * params.maxValidators + 16 * 1024;
  return SYNC_BATCH * perBlock + 1024 * 1024;
}

/** Longest wait for the driver to commit a block handed to it. */
const COMMIT_WAIT_MS = 30_000;

export interface CatchUpDeps {
  readonly head: ChainHead;
  readonly app: ChainApp;
  readonly driver: () => ConsensusDriver | null;
  readonly log: Log;
  readonly timers: Timers;
  readonly clock: Pick<Clock, 'now'>;
  /** Uniform in [0, 1): the order in which peers are asked. */
  readonly random: () => number;
}

export class CatchUp {
  private running = false;
  /** Blocks are being fetched from a peer ahead of us (not merely asking peers where they are). */
  private fetching = false;
  private progressValue: { target: number; from: number; startedAt: number } | null = null;
  private lastLog = 0;

  constructor(private readonly deps: CatchUpDeps) {}

  /** The height being fetched up to, the height fetching began at and when (null when not fetching). */
  get progress(): { target: number; from: number; startedAt: number } | null {
    return this.progressValue;
  }

  /** Whether this node is catching up: a peer is ahead and its blocks are being fetched (the periodic check of peers' heights does not count). */
  get isSyncing(): boolean {
    return this.fetching;
  }

  /** Fetches and commits blocks from peers at least `minLead` heights ahead; returns the number of blocks applied. */
  async run(source: SyncSource, minLead = 1): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let applied = 0;
    try {
      for (const peer of this.shuffled(source.peers())) {
        try {
          const n = await this.fromPeer(source, peer, minLead);
          if (n > 0) source.served?.(peer);
          applied += n;
        } catch (e) {
          if (e instanceof FatalError) throw e;
          const reason = e instanceof Error ? e.message : String(e);
          if (e instanceof FastposError && e.code === ErrorCode.PRUNED) {
            // An honest answer: the peer no longer keeps the blocks this node needs (snapshot sync is the way then).
            this.deps.log.info({ peer, err: reason }, 'a peer no longer keeps the blocks this node needs');
            continue;
          }
          source.penalize?.(peer, reason);
          this.deps.log.warn({ peer, err: reason }, 'sync from a peer failed; trying the next one');
        }
      }
    } finally {
      this.running = false;
    }
    if (applied > 0) this.deps.log.info({ applied, height: this.deps.head.height }, 'caught up from peers');
    return applied;
  }

  private async fromPeer(source: SyncSource, peer: string, minLead: number): Promise<number> {
    const { head } = this.deps;
    const status = await source.status(peer);
    if (status.genesisHash !== head.genesisHash || status.height < head.height + minLead) return 0;
    let applied = 0;
    this.fetching = true;
    this.progressValue = { target: status.height, from: head.height, startedAt: this.deps.clock.now() };
    try {
      applied = await this.fetchUpTo(source, peer, status.height);
    } finally {
      this.fetching = false;
      this.progressValue = null;
    }
    return applied;
  }

  private async fetchUpTo(source: SyncSource, peer: string, target: number): Promise<number> {
    const { head } = this.deps;
    const status = { height: target };
    let applied = 0;
    while (status.height > head.height) {
      const from = head.height + 1;
      const blocks = await source.blocks(peer, from, Math.min(SYNC_BATCH, status.height - head.height));
      if (blocks.length === 0) throw new FastposError(ErrorCode.INVALID_BLOCK, `peer ${peer} reported height ${status.height} but served no block from ${from}`);
      for (const fb of blocks) {
        const height = fb.block.header.height;
        if (height < head.height + 1) continue; // committed meanwhile by consensus
        if (height !== head.height + 1) throw new FastposError(ErrorCode.INVALID_BLOCK, `peer ${peer} served block ${height} where ${head.height + 1} was next`);
        await this.apply(fb, peer);
        applied++;
      }
      const now = this.deps.clock.now();
      if (now - this.lastLog >= 5000 && this.progressValue !== null) {
        this.lastLog = now;
        const seconds = Math.max(0.001, (now - this.progressValue.startedAt) / 1000);
        const rate = (head.height - this.progressValue.from) / seconds;
        this.deps.log.info({ height: head.height, target, blocksPerSecond: Math.round(rate * 10) / 10, etaSeconds: rate > 0 ? Math.round((target - head.height) / rate) : null }, 'block sync progress');
      }
    }
    return applied;
  }

  /** Checks a block of the next height and has it committed (through the driver when consensus runs). */
  private async apply(fb: FinalizedBlock, peer: string): Promise<void> {
    const { head, app } = this.deps;
    const height = fb.block.header.height;
    verifyCommit({ chainId: head.chainId, set: head.set, commit: fb.commit, height, blockHash: fb.hash, keyCache: head.keyCache });
    const mismatch = bodyMismatch(fb.block);
    if (mismatch !== null) throw new FastposError(ErrorCode.INVALID_BLOCK, `peer ${peer} served block ${height} with a body that does not match its header: ${mismatch}`);
    if (!(await app.checkBlock(fb.block, fb.hash))) throw new FastposError(ErrorCode.INVALID_BLOCK, `peer ${peer} served an invalid block at height ${height}`);
    for (let attempt = 0; head.height < height; attempt++) {
      await app.idle();
      if (head.height >= height) return;
      const driver = this.deps.driver();
      if (driver === null || !driver.isRunning) {
        // Consensus is paused: commit directly.
        await app.commit(fb.block, fb.hash, fb.commit);
        return;
      }
      if (driver.certified(fb)) {
        await this.committed(height);
        return;
      }
      // The driver is between heights (committing, or about to enter the next one): ask again shortly.
      if (attempt >= 100) throw new FastposError(ErrorCode.NOT_READY, `consensus did not take block ${height}`);
      await new Promise<void>((resolve) => this.deps.timers.setTimeout(resolve, 10));
    }
  }

  /** Resolves once `height` is committed; rejects after COMMIT_WAIT_MS. */
  private committed(height: number): Promise<void> {
    return this.deps.app.whenHeight(height, COMMIT_WAIT_MS);
  }

  private shuffled(peers: string[]): string[] {
    return shuffled(peers, this.deps.random);
  }
}

/** A copy of `items` in an order drawn from `random` (uniform in [0, 1)): Fisher–Yates. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** When to catch up: soon when far behind, after a second when one height behind, and every few seconds to check. */
export class SyncScheduler {
  private timer: unknown = null;
  private at = Infinity;
  private lead = 2;
  private heightAtLastCheck = -1;
  private closed = false;

  constructor(
    private readonly deps: {
      readonly clock: Clock;
      readonly timers: Timers;
      readonly height: () => number;
      /** Whether there is anyone to sync from. */
      readonly hasPeers: () => boolean;
      readonly run: (minLead: number) => Promise<unknown>;
    },
  ) {}

  /** Consensus messages arrive for `height`. */
  behind(height: number): void {
    if (height - this.deps.height() >= 3) this.schedule(50, 1);
    else this.schedule(1000, 1);
  }

  start(): void {
    this.schedule(100, 1);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.timer = null;
    this.at = Infinity;
    const stalled = this.deps.height() === this.heightAtLastCheck;
    this.heightAtLastCheck = this.deps.height();
    const minLead = stalled ? 1 : this.lead;
    this.lead = 2;
    void this.deps.run(minLead).finally(() => this.schedule(3000, 2));
  }

  private schedule(delayMs: number, minLead: number): void {
    if (this.closed || !this.deps.hasPeers()) return;
    const at = this.deps.clock.now() + delayMs;
    if (this.timer !== null && this.at <= at) {
      this.lead = Math.min(this.lead, minLead);
      return;
    }
    if (this.timer !== null) this.deps.timers.clearTimeout(this.timer);
    this.at = at;
    this.lead = Math.min(this.timer === null ? minLead : this.lead, minLead);
    this.timer = this.deps.timers.setTimeout(() => this.fire(), delayMs);
  }
}
