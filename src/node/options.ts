/**
 * How a node is configured and what it is given: options, injected
 * dependencies, the events it emits, and the real clock and timers a node
 * process uses.
 * @module
 */
import type { Logger } from 'pino';
import type { SignGuard, Transport } from '../consensus/driver.js';
import type { TimeoutParams } from '../consensus/engine.js';
import type { FatalError } from '../errors.js';
import type { MempoolOptions } from '../mempool/index.js';
import type { Metrics } from '../metrics/index.js';
import type { ChainStore } from '../storage/types.js';
import type { DecodedTx, Evidence, FinalizedBlock, Genesis } from '../types/index.js';
import type { Clock, SignatureVerifier, Timers } from './context.js';

export interface NodeOptions {
  readonly genesis: Genesis;
  /** Private seeds (hex) of the validator keys this node signs with. */
  readonly validatorKeys: readonly string[];
  /** Private seed of a governance account, for admin-initiated governance txs. */
  readonly governanceKey?: string | undefined;
  readonly mempool: MempoolOptions;
  readonly minBlockIntervalMs: number;
  /** The block interval when this node's keys alone hold a quorum (default: minBlockIntervalMs). */
  readonly soloBlockIntervalMs?: number;
  /** Milliseconds of block interval per 1,000 tx/s arriving (see ChainAppOptions). */
  readonly blockIntervalPerKtps?: number;
  /** Most the load may stretch the block interval to. */
  readonly maxBlockIntervalMs?: number;
  readonly idleBlockIntervalMs: number;
  /** How long a proposal waits after a decision for precommits that missed the quorum (default 50 ms). */
  readonly commitGatherMs?: number;
  /** Consensus round timeouts; the propose timeout is extended by idleBlockIntervalMs (a proposer may wait that long for txs). */
  readonly timeouts?: TimeoutParams;
  /** Where the double-sign guard record lives (a node that signs needs one). */
  readonly dataDir: string;
  readonly verifyWorkers: number;
  readonly allowDevKeys: boolean;
  readonly nodeId?: string;
  /** Consensus messages per second accepted from one validator (0 = no limit). */
  readonly p2pRateLimit?: number;
}

export interface NodeDeps {
  readonly store: ChainStore;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly metrics?: Metrics;
  readonly verifier?: SignatureVerifier;
  /** Sends consensus messages to peers (none: a node that holds 2/3 of power alone). */
  readonly transport?: Transport;
  readonly guard?: SignGuard;
  /** Keeps the pending evidence list (default: pending_evidence.json in the data dir). */
  readonly saveEvidence?: (pending: readonly Evidence[]) => void;
  /** Uniform in [0, 1) (the order in which peers are asked for blocks). */
  readonly random?: () => number;
}

/** What a node tells the code that embeds it. */
export interface NodeEvents {
  /** A block is durable and applied. */
  finalized: (fb: FinalizedBlock) => void;
  /** A tx entered the pool (from a client, or from a peer). */
  txAdmitted: (d: DecodedTx, json: unknown, fromPeer: boolean) => void;
  /** Genuine consensus messages arrive for a height ahead of ours. */
  behind: (height: number) => void;
  /** The node stopped signing for good: a block or a guard record could not be made durable. */
  fatal: (e: FatalError) => void;
}

/** Chain ids on which the public development keys are expected. */
export function isDevChainId(chainId: string): boolean {
  return /(^|[-_.])(devnet|localnet)([-_.]|$)/.test(chainId);
}

export const realClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
