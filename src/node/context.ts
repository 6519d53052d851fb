/**
 * What every part of a node is given instead of reaching for the outside
 * world: a clock, timers, a logger and metrics. A node passes real ones; the
 * simulation passes a virtual clock and timers, so the same parts run there.
 * @module
 */
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/index.js';

export interface Clock {
  /** Wall time, Unix ms (block timestamps, pool expiry, block pacing). */
  now(): number;
  /** A monotonic time in ms with sub-ms precision (durations for metrics). */
  monotonic(): number;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The logging calls the parts make (a pino logger is one). */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'fatal'>;

export interface VerifyItem {
  readonly pubKey: string;
  readonly message: Uint8Array;
  readonly signature: string;
}

/** Verifies Ed25519 signatures (in a node: off the main thread, in batches). */
export interface SignatureVerifier {
  verify(item: VerifyItem): Promise<boolean>;
  verifyMany(items: readonly VerifyItem[]): Promise<boolean[]>;
  /**
   * Lattice elements of state entries (`ltElementOf` of each input), computed
   * by the same threads; absent where hashing off the main thread does not pay.
   */
  stateElements?(inputs: readonly string[]): Promise<Uint16Array[]>;
  close(): Promise<void>;
}

export interface PartContext {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly log: Log;
  readonly metrics: Metrics;
}
