/**
 * What happens in a run: the network's quality, the validators' stakes, who
 * (if anyone) is Byzantine, and the faults with their times. Everything is
 * derived from the seed (and the options that pin parts of it), so a seed
 * alone replays a run.
 * @module
 */
import type { SignStep } from '../consensus/driver.js';
import { DEFAULT_TIMEOUTS, type TimeoutParams } from '../consensus/engine.js';
import { Rng } from './rng.js';

/** Nodes in different groups cannot talk from `start` (inclusive) to `end` (exclusive), virtual ms. */
export interface Partition {
  readonly start: number;
  readonly end: number;
  readonly groups: readonly (readonly number[])[];
}

/** Crash `node` at `at`; restart it `downMs` later (null: it stays down). */
export interface CrashPlan {
  readonly node: number;
  readonly at: number;
  readonly downMs: number | null;
}

/**
 * Crash `node` right after its guard signs its first `step` between `after`
 * and `until`: while the guard makes the record durable (the write is lost,
 * nothing leaves: `unflushed`), after the record is durable but before the
 * envelope leaves (`unsent`), or right after it left (`sent`).
 */
export type SignCrashMode = 'unflushed' | 'unsent' | 'sent';

export interface SignCrashPlan {
  readonly node: number;
  readonly after: number;
  readonly until: number;
  readonly step: SignStep;
  readonly mode: SignCrashMode;
  readonly downMs: number | null;
}

export interface Scenario {
  readonly partitions: readonly Partition[];
  readonly crashes: readonly CrashPlan[];
  readonly signCrashes: readonly SignCrashPlan[];
}

export const NO_FAULTS: Scenario = { partitions: [], crashes: [], signCrashes: [] };

export interface SimConfig {
  readonly seed: number;
  /** Stake (voting power) of dev validator i; the number of nodes is its length. */
  readonly stakes: readonly bigint[];
  /** Index of the equivocating validator, or null. */
  readonly byzantine: number | null;
  readonly chainId: string;
  /** Every honest node that is up at the end must have decided this many heights. */
  readonly heights: number;
  readonly loss: number;
  readonly duplication: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly buildDelayMaxMs: number;
  /** A proposer builds no earlier than this long after the previous block's timestamp (block pacing). */
  readonly blockIntervalMs: number;
  readonly timeouts: TimeoutParams;
  readonly repairMs: number;
  readonly maxVirtualMs: number;
  /** After the last fault, every honest node that is up decides within this long, again and again. */
  readonly livenessWindowMs: number;
  /** Probability that one node gets both copies of an equivocation. */
  readonly byzantineLeak: number;
  readonly scenario: Scenario;
  readonly trace: boolean;
}

export interface SimulationOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly stakes?: readonly bigint[];
  readonly heights: number;
  /** Undefined: decided by the seed (about one run in three). */
  readonly byzantine?: boolean;
  readonly loss?: number;
  readonly duplication?: number;
  readonly maxDelayMs?: number;
  /** Partitions on (default) or off. */
  readonly partitions?: boolean;
  /** Crashes and restarts on (default) or off. */
  readonly crashes?: boolean;
  readonly maxVirtualMs?: number;
  readonly livenessWindowMs?: number;
  readonly trace?: boolean;
}

export const SIM_CHAIN_ID = 'fastpos-sim';

/** Largest power the Byzantine validator may hold against `others`: 3F < F + O. */
function maxByzantinePower(others: bigint): bigint {
  return (others - 1n) / 2n;
}

export function hasQuorumPower(p: bigint, total: bigint): boolean {
  return 3n * p >= 2n * total;
}

/** The full configuration of a run from its options and seed. */
export function deriveConfig(o: SimulationOptions): SimConfig {
  const rng = new Rng(o.seed, 'scenario');
  const n = o.nodes;
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError('nodes must be 1 to 64');
  let stakes: bigint[];
  if (o.stakes !== undefined) {
    if (o.stakes.length !== n) throw new RangeError(`stakes has ${o.stakes.length} entries for ${n} nodes`);
    stakes = [...o.stakes];
  } else if (rng.chance(0.35)) {
    stakes = Array.from({ length: n }, () => 10n);
  } else {
    stakes = Array.from({ length: n }, () => BigInt(rng.int(1, 10)));
  }
  const byzantineOn = o.byzantine ?? (n >= 4 && rng.chance(0.35));
  let byzantine: number | null = null;
  if (byzantineOn) {
    const total = (s: bigint[]): bigint => s.reduce((a, b) => a + b, 0n);
    if (o.stakes === undefined) {
      byzantine = rng.int(0, n - 1);
      const others = total(stakes) - stakes[byzantine]!;
      const cap = maxByzantinePower(others);
      if (cap < 1n) throw new RangeError('no Byzantine validator below 1/3 of the power is possible with these nodes');
      if (stakes[byzantine]! > cap) stakes[byzantine] = cap;
    } else {
      // Given stakes: the smallest validator is the Byzantine one, if it is below 1/3.
      let idx = 0;
      for (let i = 1; i < n; i++) if (stakes[i]! < stakes[idx]!) idx = i;
      if (stakes[idx]! > maxByzantinePower(total(stakes) - stakes[idx]!)) throw new RangeError('the smallest stake is not below 1/3 of the total: no Byzantine validator possible');
      byzantine = idx;
    }
  }
  const loss = o.loss ?? rng.pick([0, 0, 0.02, 0.05, 0.1, 0.2]);
  const duplication = o.duplication ?? rng.pick([0, 0.02, 0.1]);
  const maxDelayMs = o.maxDelayMs ?? rng.pick([20, 100, 100, 300, 800]);
  const minDelayMs = Math.min(maxDelayMs, rng.int(1, 10));

  // Faults fall in a window about as long as the run would take without them.
  const horizon = o.heights * (4 * maxDelayMs + 200);
  const honest = Array.from({ length: n }, (_, i) => i).filter((i) => i !== byzantine);
  const totalPower = stakes.reduce((a, b) => a + b, 0n);
  const partitions: Partition[] = [];
  if (o.partitions ?? true) {
    const count = rng.pick([0, 1, 1, 2]);
    for (let k = 0; k < count; k++) {
      const start = rng.int(0, horizon);
      const end = start + rng.int(300, 8_000);
      const groupCount = n >= 5 && rng.chance(0.25) ? 3 : 2;
      const groups: number[][] = Array.from({ length: groupCount }, () => []);
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      order.forEach((node, i) => groups[i < groupCount ? i : rng.int(0, groupCount - 1)]!.push(node));
      partitions.push({ start, end, groups: groups.map((g) => g.sort((a, b) => a - b)) });
    }
  }
  const crashes: CrashPlan[] = [];
  const signCrashes: SignCrashPlan[] = [];
  if (o.crashes ?? true) {
    const count = Math.min(honest.length, rng.pick([0, 1, 1, 2, 3]));
    const victims = rng.shuffle(honest).slice(0, count);
    const downForever = new Set<number>();
    for (const node of victims) {
      // A node may stay down only if the honest nodes left up keep a quorum (liveness is then still required).
      let downMs: number | null = rng.int(100, 12_000);
      if (rng.chance(0.2)) {
        const upHonest = honest.filter((i) => i !== node && !downForever.has(i)).reduce((a, i) => a + stakes[i]!, 0n);
        if (hasQuorumPower(upHonest, totalPower)) {
          downMs = null;
          downForever.add(node);
        }
      }
      if (rng.chance(0.5)) {
        crashes.push({ node, at: rng.int(0, horizon), downMs });
      } else {
        const after = rng.int(0, horizon);
        signCrashes.push({ node, after, until: after + 6_000, step: rng.pick(['proposal', 'prevote', 'prevote', 'precommit', 'precommit'] as const), mode: rng.pick(['unflushed', 'unsent', 'sent'] as const), downMs });
      }
    }
  }
  return {
    seed: o.seed,
    stakes,
    byzantine,
    chainId: SIM_CHAIN_ID,
    heights: o.heights,
    loss,
    duplication,
    minDelayMs,
    maxDelayMs,
    buildDelayMaxMs: 30,
    blockIntervalMs: 150,
    timeouts: DEFAULT_TIMEOUTS,
    repairMs: 2000,
    maxVirtualMs: o.maxVirtualMs ?? 900_000,
    livenessWindowMs: o.livenessWindowMs ?? 60_000,
    byzantineLeak: 0.5,
    scenario: { partitions, crashes, signCrashes },
    trace: o.trace ?? false,
  };
}

/**
 * A configuration for a hand-written scenario (tests): equal defaults for
 * everything not given (no faults, no loss, 1-30 ms delays, 6 heights).
 */
export function simConfig(p: Partial<SimConfig> & { readonly seed: number; readonly stakes: readonly bigint[] }): SimConfig {
  return {
    byzantine: null,
    chainId: SIM_CHAIN_ID,
    heights: 6,
    loss: 0,
    duplication: 0,
    minDelayMs: 1,
    maxDelayMs: 30,
    buildDelayMaxMs: 10,
    blockIntervalMs: 0,
    timeouts: DEFAULT_TIMEOUTS,
    repairMs: 2000,
    maxVirtualMs: 300_000,
    livenessWindowMs: 60_000,
    byzantineLeak: 0.5,
    scenario: NO_FAULTS,
    trace: false,
    ...p,
  };
}

/** Time after which no fault is scheduled any more (the last partition healed, the last restart done). */
export function faultsOverAt(s: Scenario): number {
  let t = 0;
  for (const p of s.partitions) t = Math.max(t, p.end);
  for (const c of s.crashes) t = Math.max(t, c.at + (c.downMs ?? 0));
  for (const c of s.signCrashes) t = Math.max(t, c.until + (c.downMs ?? 0));
  return t;
}

export function describeConfig(c: SimConfig): string {
  const lines = [
    `seed ${c.seed}: ${c.stakes.length} nodes, stakes [${c.stakes.join(', ')}], byzantine ${c.byzantine ?? 'none'}, ${c.heights} heights`,
    `network: delay ${c.minDelayMs}-${c.maxDelayMs} ms, loss ${c.loss}, duplication ${c.duplication}`,
  ];
  for (const p of c.scenario.partitions) lines.push(`partition ${p.groups.map((g) => `{${g.join(',')}}`).join(' | ')} from ${p.start} to ${p.end} ms`);
  for (const k of c.scenario.crashes) lines.push(`crash node ${k.node} at ${k.at} ms, ${k.downMs === null ? 'stays down' : `restarts ${k.downMs} ms later`}`);
  for (const k of c.scenario.signCrashes) {
    lines.push(`crash node ${k.node} ${k.mode === 'sent' ? 'right after sending' : k.mode === 'unsent' ? 'after signing, before sending' : 'after signing, while persisting'} its first ${k.step} in [${k.after}, ${k.until}] ms, ${k.downMs === null ? 'stays down' : `restarts ${k.downMs} ms later`}`);
  }
  return lines.join('\n');
}
