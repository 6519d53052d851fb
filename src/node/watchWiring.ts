/**
 * Wires the watchers of a running node (`HealthWatch`, `BlockWatch`) to its
 * events, its peer book and a once-a-second timer that checks for a stall and
 * refreshes the peer and sync-lag gauges.
 * @module
 */
import type { Metrics } from '../metrics/index.js';
import { isConnected, type Peer, type PeerBook } from '../p2p/peers.js';
import { BlockWatch } from './blockWatch.js';
import type { Clock, Log, Timers } from './context.js';
import { HealthWatch } from './healthWatch.js';
import type { FastposNode } from './node.js';

export interface Watchers {
  readonly health: HealthWatch;
  readonly blocks: BlockWatch;
  /** The peer book's reachability callback. */
  reachability(peer: Peer, reachable: boolean, wasUp: boolean): void;
  /** The peer book dropped a peer. */
  dropped(url: string, why: string): void;
  /** A peer reported its finalized height. */
  peerHeight(peer: string, height: number): void;
  /** Starts the checks (after the node started). */
  start(): void;
  close(): void;
}

export interface WatchWiringDeps {
  readonly node: FastposNode;
  readonly log: Log;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly stallWarnMs: number;
  readonly behindWarnBlocks: number;
  /** The peer book, filled in once it exists. */
  readonly book: () => PeerBook | undefined;
}

const TICK_MS = 1000;

export function createWatchers(d: WatchWiringDeps): Watchers {
  const { node } = d;
  const blocks = new BlockWatch({
    log: d.log,
    metrics: d.metrics,
    setAt: (h) => node.setAt(h),
    currentSet: () => node.validatorSet,
    records: () => node.validatorRecords,
    epoch: () => node.currentEpoch,
    heldIds: node.heldValidatorIds(),
  });
  const health = new HealthWatch({
    clock: d.clock,
    log: d.log,
    stallWarnMs: d.stallWarnMs,
    behindWarnBlocks: d.behindWarnBlocks,
    height: () => node.height,
    consensus: () => node.consensusState,
    power: () => blocks.power(),
    peers: () => {
      const list = d.book()?.list() ?? [];
      return { connected: list.filter(isConnected).length, known: list.length };
    },
    syncing: () => node.isSyncing,
  });
  let timer: unknown = null;
  let closed = false;
  const gauges = (): void => {
    const book = d.book();
    if (book !== undefined) {
      const peers = book.list();
      d.metrics.peersKnown.set(peers.length);
      d.metrics.peersConnected.set(peers.filter(isConnected).length);
    }
    d.metrics.syncLag.set(health.syncLag());
  };
  const tick = (): void => {
    timer = null;
    if (closed) return;
    health.tick();
    gauges();
    timer = d.timers.setTimeout(tick, TICK_MS);
  };
  const onFinalized = (fb: Parameters<BlockWatch['finalized']>[0]): void => {
    blocks.finalized(fb, { quiet: node.isSyncing });
    health.finalized(fb.block.header.height);
  };
  return {
    health,
    blocks,
    reachability: (peer, reachable, wasUp) => {
      if (reachable) health.peerUp(peer.url, peer.nodeId);
      else health.peerDown(peer.url, { nodeId: peer.nodeId, wasUp, error: peer.lastError });
    },
    dropped: (url, why) => health.peerDropped(url, why),
    peerHeight: (peer, height) => health.peerHeight(peer, height),
    start: () => {
      blocks.start(node.latestBlock);
      node.on('finalized', onFinalized);
      // Consensus messages for a height ahead: their senders have finalized the height before it.
      node.on('behind', (height: number) => health.peerHeight('consensus', height - 1));
      gauges();
      timer = d.timers.setTimeout(tick, TICK_MS);
    },
    close: () => {
      closed = true;
      node.off('finalized', onFinalized);
      if (timer !== null) d.timers.clearTimeout(timer);
      timer = null;
    },
  };
}
