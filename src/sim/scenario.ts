/**
 * What happens in a run: which application the nodes run (the node's real
 * parts, or the stand-in of empty blocks), the network's quality, the
 * validators' stakes, who (if anyone) is Byzantine and how, and the faults
 * with their times. Everything is derived from the seed (and the options that
 * pin parts of it), so a seed alone replays a run.
 *
 * The faults of the stand-in application are drawn from the `scenario`
 * stream exactly as they always were, so its seeds keep replaying the same
 * runs; everything the real parts add (partition shapes, clock skew, write
 * failures, all nodes crashing, Byzantine behaviours, the tx load) comes from
 * a second stream, `faults`.
 * @module
 */
import type { SignStep } from '../consensus/driver.js';
import { DEFAULT_TIMEOUTS, type TimeoutParams } from '../consensus/engine.js';
import { Rng } from './rng.js';
import { SNAPSHOT_LIES, type SnapshotLie } from './snapshots.js';

/**
 * Who cannot talk to whom from `start` (inclusive) to `end` (exclusive),
 * virtual ms, by `kind` (default `split`):
 * - `split`: nodes in different groups cannot talk;
 * - `ring`: `groups[0]` is a ring; each node talks only to its two neighbours;
 * - `bridge`: `groups` are [A, B, [bridge]]: A and B cannot talk, the bridge talks to both;
 * - `oneway`: `groups` are [from, to]: messages from `from` to `to` are lost, the other way they pass.
 */
export type PartitionKind = 'split' | 'ring' | 'bridge' | 'oneway';

export interface Partition {
  readonly start: number;
  readonly end: number;
  readonly kind?: PartitionKind;
  readonly groups: readonly (readonly number[])[];
}

/** Whether partition `p` drops a message from node `a` to node `b` (at a time inside it). */
export function partitionBlocks(p: Partition, a: number, b: number): boolean {
  if (a === b) return false;
  const g = p.groups;
  switch (p.kind ?? 'split') {
    case 'split':
      return g.findIndex((x) => x.includes(a)) !== g.findIndex((x) => x.includes(b));
    case 'ring': {
      const ring = g[0] ?? [];
      const i = ring.indexOf(a);
      const j = ring.indexOf(b);
      if (i < 0 || j < 0) return true;
      const d = Math.abs(i - j);
      return d !== 1 && d !== ring.length - 1;
    }
    case 'bridge':
      return (g[0]!.includes(a) && g[1]!.includes(b)) || (g[1]!.includes(a) && g[0]!.includes(b));
    case 'oneway':
      return g[0]!.includes(a) && g[1]!.includes(b);
  }
}

export function describePartition(p: Partition): string {
  const set = (x: readonly number[] | undefined): string => `{${(x ?? []).join(',')}}`;
  switch (p.kind ?? 'split') {
    case 'split':
      return `partition ${p.groups.map(set).join(' | ')}`;
    case 'ring':
      return `ring partition ${(p.groups[0] ?? []).join('-')} (each node talks to its neighbours only)`;
    case 'bridge':
      return `bridge partition ${set(p.groups[0])} | ${set(p.groups[1])} joined only through node ${p.groups[2]?.[0]}`;
    case 'oneway':
      return `one-way partition: ${set(p.groups[0])} -> ${set(p.groups[1])} lost, the other way passes`;
  }
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

/**
 * A write of `node` fails between `at` and `until` (node application only).
 * Guard writes (`guard`): the double-sign guard cannot make a record durable,
 * so it signs nothing more and the node stops with a fatal error. Block
 * writes (`disk`): the next block commit fails (`fail`: the store refuses it
 * and the node stops with a fatal error) or the node crashes while the block
 * waits to become durable (`torn`: the block is lost). A node stopped by a
 * fault is restarted `restartMs` later, as a supervisor would.
 */
export interface WriteFault {
  readonly node: number;
  readonly target: 'guard' | 'disk';
  readonly mode: 'fail' | 'torn';
  readonly at: number;
  readonly until: number;
  readonly restartMs: number;
}

/**
 * Scenario `snapshot-join`: `node` crashes at `at` and loses its chain store
 * (its guard record survives); it comes back no earlier than `minDownMs`
 * later, once every honest peer that is up keeps whole blocks only above
 * height 1 and holds a snapshot, so it can rejoin only by installing one.
 */
export interface SnapshotJoin {
  readonly node: number;
  readonly at: number;
  readonly minDownMs: number;
}

export interface Scenario {
  readonly partitions: readonly Partition[];
  readonly crashes: readonly CrashPlan[];
  readonly signCrashes: readonly SignCrashPlan[];
  readonly writeFaults?: readonly WriteFault[];
  /** When every node crashes at once (their crashes are in `crashes`), for the description. */
  readonly allCrashAt?: number | null;
  readonly snapshotJoin?: SnapshotJoin | undefined;
}

export const NO_FAULTS: Scenario = { partitions: [], crashes: [], signCrashes: [], writeFaults: [], allCrashAt: null };

/** What the simulated nodes run: the node's real parts over the real state machine, or a stand-in of empty blocks. */
export type SimAppKind = 'node' | 'stand-in';

/**
 * What the Byzantine validator does (power < 1/3):
 * - `equivocate`: signs a conflicting proposal or vote for each of its messages and splits the network;
 * - `forge`: sends proposals and finalize messages whose bodies do not match their headers, and serves forged blocks to catch-up;
 * - `invalid-txs`: proposes blocks that carry txs with forged signatures;
 * - `flood`: signs many distinct votes for each position it votes at;
 * - `withhold`: sends its messages to a random few peers, often to none;
 * - `duplicate`: its key runs in two nodes at once, each with its own guard.
 * The stand-in application runs `equivocate` only.
 */
export type ByzantineKind = 'equivocate' | 'forge' | 'invalid-txs' | 'flood' | 'withhold' | 'duplicate';
export const BYZANTINE_KINDS: readonly ByzantineKind[] = ['equivocate', 'forge', 'invalid-txs', 'flood', 'withhold', 'duplicate'];

export interface SimConfig {
  readonly seed: number;
  readonly app: SimAppKind;
  /** Stake (voting power) of dev validator i; the number of validators is its length. */
  readonly stakes: readonly bigint[];
  /** Index of the Byzantine validator, or null. */
  readonly byzantine: number | null;
  readonly byzantineKind: ByzantineKind;
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
  // ---- node application only
  /** Per node: its clock's offset from the virtual time, ms (a missing entry is 0). */
  readonly clockSkewMs: readonly number[];
  /** Heights per epoch: the validator set may change every this many blocks. */
  readonly epochLengthBlocks: number;
  /** Mean time between two client txs, virtual ms (0: no txs). */
  readonly txIntervalMs: number;
  /** Whether clients also bond, unbond, delegate and undelegate (until the faults are over). */
  readonly stakingTxs: boolean;
  readonly minBlockIntervalMs: number;
  /** A proposer with no txs waits this long since the last block (the others wait that much longer for it). */
  readonly idleBlockIntervalMs: number;
  /** Pruning, snapshots and snapshot sync (absent: none, as in every scenario but `snapshot-join`). */
  readonly snapshots?: SimSnapshots | undefined;
}

/** Pruning, snapshots and snapshot sync of every node (node application). */
export interface SimSnapshots {
  /** Whole blocks each store keeps (older bodies are pruned; headers stay). */
  readonly pruneKeepBlocks: number;
  /** A snapshot every this many heights. */
  readonly everyBlocks: number;
  /** Snapshots each node keeps. */
  readonly keep: number;
  readonly chunkBytes: number;
  /** Auto sync mode: a snapshot when this many heights behind the best peer (or when the peers ahead pruned what it needs). */
  readonly minLag: number;
  /** Longest one snapshot sync attempt may take, virtual ms. */
  readonly timeoutMs: number;
  /** What the Byzantine validator's node lies about when it serves snapshots. */
  readonly lie: SnapshotLie;
}

export interface SimulationOptions {
  readonly seed: number;
  /** What the nodes run (default `node`). */
  readonly app?: SimAppKind;
  /** Validators. */
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
  /** Node application: what the Byzantine validator does (default: from the seed). */
  readonly byzantineKind?: ByzantineKind;
  /** Node application: client txs on (default) or off. */
  readonly txs?: boolean;
  /** Node application: a named scenario that puts one fault in every run (the seed picks the rest). */
  readonly scenario?: ScenarioName;
}

/**
 * Scenarios that each make sure one fault happens in a run, on top of what the
 * seed picks (node application):
 * - `equivocation`, `forged-bodies`, `invalid-txs`, `vote-flood`,
 *   `withheld-votes`, `duplicate-validator`: a Byzantine validator of that kind;
 * - `ring-partition`, `bridge-partition`, `one-way-partition`: one more
 *   partition of that shape, 2 to 8 s long;
 * - `clock-skew`: every node's clock off by up to 5 s either way;
 * - `all-crash`: every node crashes at once and restarts;
 * - `guard-write-failure`, `disk-write-failure`, `torn-write`: one honest
 *   node's guard writes fail, its block writes fail, or a block write is torn;
 * - `set-changes`: epochs of 2 blocks, a tx every ~100 ms with staking, at
 *   least 8 heights: the validator set changes while the faults run.
 * - `snapshot-join`: every node prunes and takes snapshots; an honest node
 *   is away with its chain store wiped until its peers pruned the blocks it
 *   needs, and must rejoin by a snapshot, which a Byzantine node serves with
 *   lies (see `SimSnapshots`, `SnapshotJoin`).
 */
export const SCENARIO_NAMES = [
  'equivocation',
  'forged-bodies',
  'invalid-txs',
  'vote-flood',
  'withheld-votes',
  'duplicate-validator',
  'ring-partition',
  'bridge-partition',
  'one-way-partition',
  'clock-skew',
  'all-crash',
  'guard-write-failure',
  'disk-write-failure',
  'torn-write',
  'set-changes',
  'snapshot-join',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

const BYZANTINE_SCENARIOS: Partial<Record<ScenarioName, ByzantineKind>> = {
  equivocation: 'equivocate',
  'forged-bodies': 'forge',
  'invalid-txs': 'invalid-txs',
  'vote-flood': 'flood',
  'withheld-votes': 'withhold',
  'duplicate-validator': 'duplicate',
};

export const SIM_CHAIN_ID = 'fastpos-sim';

/** Largest power the Byzantine validator may hold against `others`: 3F < F + O. */
function maxByzantinePower(others: bigint): bigint {
  return (others - 1n) / 2n;
}

export function hasQuorumPower(p: bigint, total: bigint): boolean {
  return 3n * p >= 2n * total;
}

/** Faults fall in a window about as long as the run would take without them. */
function horizonOf(c: Pick<SimConfig, 'heights' | 'maxDelayMs'>): number {
  return c.heights * (4 * c.maxDelayMs + 200);
}

/** The full configuration of a run from its options and seed. */
export function deriveConfig(o: SimulationOptions): SimConfig {
  if (o.scenario === undefined) return deriveMix(o);
  if ((o.app ?? 'node') !== 'node') throw new RangeError(`scenario ${o.scenario} needs the node application`);
  const kind = BYZANTINE_SCENARIOS[o.scenario];
  if (kind !== undefined && o.byzantine === false) throw new RangeError(`scenario ${o.scenario} needs a Byzantine validator`);
  if (o.scenario === 'snapshot-join') {
    if (o.nodes < 4) throw new RangeError('scenario snapshot-join needs at least 4 validators');
    const c = withScenario(deriveMix({ ...o, byzantine: o.byzantine ?? true }), o.scenario);
    // Loss of at most 2% unless given (see withSnapshotJoin).
    return o.loss === undefined ? { ...c, loss: Math.min(c.loss, 0.02) } : c;
  }
  return withScenario(deriveMix(kind === undefined ? o : { ...o, byzantine: true, byzantineKind: kind }), o.scenario);
}

/** The random mix: every fault the seed picks. */
function deriveMix(o: SimulationOptions): SimConfig {
  const rng = new Rng(o.seed, 'scenario');
  const app = o.app ?? 'node';
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

  const horizon = horizonOf({ heights: o.heights, maxDelayMs });
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
  const base: SimConfig = {
    seed: o.seed,
    app,
    stakes,
    byzantine,
    byzantineKind: 'equivocate',
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
    scenario: { partitions, crashes, signCrashes, writeFaults: [], allCrashAt: null },
    trace: o.trace ?? false,
    clockSkewMs: [],
    epochLengthBlocks: 1_000_000,
    txIntervalMs: 0,
    stakingTxs: false,
    minBlockIntervalMs: 0,
    idleBlockIntervalMs: 0,
  };
  return app === 'stand-in' ? base : withNodeFaults(base, o, horizon);
}

const byNumber = (xs: number[]): number[] => xs.sort((a, b) => a - b);

/** A partition of `kind` (not `split`) among nodes 0..n-1, from `start` to `end`. */
function shapedPartition(kind: Exclude<PartitionKind, 'split'>, start: number, end: number, n: number, rng: Rng): Partition {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  switch (kind) {
    case 'ring':
      return { start, end, kind, groups: [order] };
    case 'bridge': {
      const [bridge, ...rest] = order;
      const cut = rng.int(1, rest.length - 1);
      return { start, end, kind, groups: [byNumber(rest.slice(0, cut)), byNumber(rest.slice(cut)), [bridge!]] };
    }
    case 'oneway': {
      const cut = rng.int(1, n - 1);
      return { start, end, kind, groups: [byNumber(order.slice(0, cut)), byNumber(order.slice(cut))] };
    }
  }
}

/** A named scenario's fault, added to a run of the mix (from the stream `scenario/<name>`). */
function withScenario(c: SimConfig, name: ScenarioName): SimConfig {
  const rng = new Rng(c.seed, `scenario/${name}`);
  const n = c.stakes.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const honest = all.filter((i) => i !== c.byzantine);
  const horizon = horizonOf(c);
  const s = c.scenario;
  const writeFault = (target: WriteFault['target'], mode: WriteFault['mode']): SimConfig => {
    const at = rng.int(0, horizon);
    const w: WriteFault = { node: rng.pick(honest), target, mode, at, until: at + rng.int(200, 3_000), restartMs: rng.int(100, 5_000) };
    return { ...c, scenario: { ...s, writeFaults: [...(s.writeFaults ?? []), w] } };
  };
  switch (name) {
    case 'ring-partition':
    case 'bridge-partition':
    case 'one-way-partition': {
      const start = rng.int(0, horizon);
      const kind = name === 'ring-partition' ? 'ring' : name === 'bridge-partition' ? 'bridge' : 'oneway';
      return { ...c, scenario: { ...s, partitions: [...s.partitions, shapedPartition(kind, start, start + rng.int(2_000, 8_000), n, rng)] } };
    }
    case 'clock-skew':
      return { ...c, clockSkewMs: all.map(() => rng.int(-5_000, 5_000)) };
    case 'all-crash': {
      const at = rng.int(0, horizon);
      return { ...c, scenario: { ...s, allCrashAt: at, crashes: [...s.crashes, ...all.map((node) => ({ node, at, downMs: rng.int(50, 5_000) }))] } };
    }
    case 'guard-write-failure':
      return writeFault('guard', 'fail');
    case 'disk-write-failure':
      return writeFault('disk', 'fail');
    case 'torn-write':
      return writeFault('disk', 'torn');
    case 'set-changes':
      return { ...c, epochLengthBlocks: 2, txIntervalMs: 100, stakingTxs: true, heights: Math.max(c.heights, 8) };
    case 'snapshot-join':
      return withSnapshotJoin(c, rng, horizon);
    default:
      // A Byzantine scenario: its validator was chosen with the mix.
      return c;
  }
}

/**
 * `snapshot-join` on top of a run of the mix: every node prunes (keeping 20
 * whole blocks) and takes a snapshot every 5 heights; one honest node, of a
 * small stake so that the others keep a quorum without it, leaves with its
 * store wiped and comes back once its peers pruned block 1. The mix's other
 * faults stay, except that no other node stays down for good (the chain must
 * move on while it is away) and none of them hits the node that leaves.
 * Epochs of 6 to 10 blocks and delays of at most 300 ms keep the light
 * client's walk from the genesis within the liveness window; so does a loss
 * of at most 2% (unless `--loss` is given): the manifest check asks one
 * peer for two records per epoch one after another, and one lost request
 * fails that peer for the attempt, so from 5% on many attempts fail and
 * the node may not rejoin within the window.
 */
function withSnapshotJoin(c: SimConfig, rng: Rng, horizon: number): SimConfig {
  const n = c.stakes.length;
  const honest = Array.from({ length: n }, (_, i) => i).filter((i) => i !== c.byzantine);
  const node = rng.pick(honest);
  const stakes: bigint[] = c.stakes.map((_, i) => (i === node ? 2n : 10n));
  if (c.byzantine !== null) {
    // The honest validators without the one away: at least 2/3 of the total, and the Byzantine one below 1/3.
    const rest = honest.filter((i) => i !== node).reduce((a, i) => a + stakes[i]!, 0n);
    stakes[c.byzantine] = (rest - 4n) / 2n < 10n ? (rest - 4n) / 2n : 10n;
  }
  const s = c.scenario;
  const other = (p: { readonly node: number }): boolean => p.node !== node;
  const restartLater = <T extends { readonly downMs: number | null }>(p: T): T => (p.downMs === null ? { ...p, downMs: rng.int(1_000, 8_000) } : p);
  const maxDelayMs = Math.min(c.maxDelayMs, 300);
  return {
    ...c,
    stakes,
    maxDelayMs,
    minDelayMs: Math.min(c.minDelayMs, maxDelayMs),
    epochLengthBlocks: rng.int(6, 10),
    heights: Math.max(c.heights, 6),
    scenario: {
      ...s,
      crashes: s.crashes.filter(other).map(restartLater),
      signCrashes: s.signCrashes.filter(other).map(restartLater),
      writeFaults: (s.writeFaults ?? []).filter(other),
      snapshotJoin: { node, at: rng.int(0, Math.floor(horizon / 2)), minDownMs: rng.int(3_000, 10_000) },
    },
    snapshots: { pruneKeepBlocks: 20, everyBlocks: 5, keep: 3, chunkBytes: 2_048, minLag: 10, timeoutMs: 60_000, lie: rng.pick(SNAPSHOT_LIES) },
  };
}

/**
 * The node application's part of a run, from the `faults` stream: more
 * partition shapes, clock skew, guard and disk write failures, every node
 * crashing at once, the Byzantine behaviour, epochs and the tx load.
 */
function withNodeFaults(c: SimConfig, o: SimulationOptions, horizon: number): SimConfig {
  const rng = new Rng(o.seed, 'faults');
  const n = c.stakes.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const honest = all.filter((i) => i !== c.byzantine);
  const byzantineKind = o.byzantineKind ?? rng.pick(BYZANTINE_KINDS);
  // Partitions keep their times; some take another shape.
  const partitions = c.scenario.partitions.map((p): Partition => {
    const kind = rng.pick(['split', 'split', 'ring', 'bridge', 'oneway'] as const);
    return kind === 'split' ? p : shapedPartition(kind, p.start, p.end, n, rng);
  });
  const skew = rng.chance(0.5) ? rng.pick([200, 1_000, 5_000]) : 0;
  const clockSkewMs = all.map(() => (skew === 0 ? 0 : rng.int(-skew, skew)));
  const crashes = [...c.scenario.crashes];
  let allCrashAt: number | null = null;
  if ((o.crashes ?? true) && rng.chance(0.12)) {
    allCrashAt = rng.int(0, horizon);
    for (const node of all) crashes.push({ node, at: allCrashAt, downMs: rng.int(50, 5_000) });
  }
  const writeFaults: WriteFault[] = [];
  if (o.crashes ?? true) {
    const count = rng.pick([0, 0, 1, 1, 2]);
    for (let k = 0; k < count && honest.length > 0; k++) {
      const node = rng.pick(honest);
      const target = rng.pick(['guard', 'disk'] as const);
      const at = rng.int(0, horizon);
      writeFaults.push({ node, target, mode: target === 'guard' ? 'fail' : rng.pick(['fail', 'torn'] as const), at, until: at + rng.int(10, 3_000), restartMs: rng.int(100, 5_000) });
    }
  }
  const txs = o.txs ?? true;
  return {
    ...c,
    byzantineKind,
    scenario: { ...c.scenario, partitions, crashes, writeFaults, allCrashAt },
    clockSkewMs,
    epochLengthBlocks: rng.int(2, 5),
    txIntervalMs: txs ? rng.pick([100, 250, 500, 1_000]) : 0,
    stakingTxs: txs && rng.chance(0.7),
    minBlockIntervalMs: 75,
    idleBlockIntervalMs: rng.pick([150, 300]),
  };
}

/**
 * A configuration for a hand-written scenario (tests): equal defaults for
 * everything not given (no faults, no loss, 1-30 ms delays, 6 heights).
 */
export function simConfig(p: Partial<SimConfig> & { readonly seed: number; readonly stakes: readonly bigint[] }): SimConfig {
  return {
    app: 'stand-in',
    byzantine: null,
    byzantineKind: 'equivocate',
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
    clockSkewMs: [],
    epochLengthBlocks: 4,
    txIntervalMs: 0,
    stakingTxs: false,
    minBlockIntervalMs: 0,
    idleBlockIntervalMs: 150,
    ...p,
  };
}

/** Time after which no fault is scheduled any more (the last partition healed, the last restart done). */
export function faultsOverAt(s: Scenario): number {
  let t = 0;
  for (const p of s.partitions) t = Math.max(t, p.end);
  for (const c of s.crashes) t = Math.max(t, c.at + (c.downMs ?? 0));
  for (const c of s.signCrashes) t = Math.max(t, c.until + (c.downMs ?? 0));
  for (const w of s.writeFaults ?? []) t = Math.max(t, w.until + w.restartMs);
  return t;
}

export function describeConfig(c: SimConfig): string {
  const byz = c.byzantine === null ? 'none' : c.app === 'stand-in' ? String(c.byzantine) : `${c.byzantine} (${c.byzantineKind})`;
  const lines = [`seed ${c.seed}: ${c.app === 'node' ? 'node parts' : 'stand-in app'}, ${c.stakes.length} validators, stakes [${c.stakes.join(', ')}], byzantine ${byz}, ${c.heights} heights`];
  if (c.app === 'node') {
    const skew = c.clockSkewMs.some((x) => x !== 0) ? `, clock skew [${c.clockSkewMs.join(', ')}] ms` : '';
    const txs = c.txIntervalMs === 0 ? 'no txs' : `a tx every ~${c.txIntervalMs} ms${c.stakingTxs ? ' (staking too)' : ''}`;
    lines.push(`epochs of ${c.epochLengthBlocks} blocks, ${txs}, blocks every ${c.minBlockIntervalMs} ms (idle ${c.idleBlockIntervalMs} ms)${skew}`);
  }
  lines.push(`network: delay ${c.minDelayMs}-${c.maxDelayMs} ms, loss ${c.loss}, duplication ${c.duplication}`);
  for (const p of c.scenario.partitions) lines.push(`${describePartition(p)} from ${p.start} to ${p.end} ms`);
  if (c.scenario.allCrashAt != null) lines.push(`every node crashes at ${c.scenario.allCrashAt} ms`);
  for (const k of c.scenario.crashes) lines.push(`crash node ${k.node} at ${k.at} ms, ${k.downMs === null ? 'stays down' : `restarts ${k.downMs} ms later`}`);
  for (const w of c.scenario.writeFaults ?? []) {
    const what = w.target === 'guard' ? 'guard writes fail' : w.mode === 'fail' ? 'block writes fail' : 'a block write is torn by a crash';
    lines.push(`node ${w.node}: ${what} from ${w.at} to ${w.until} ms (restart ${w.restartMs} ms after it stops)`);
  }
  const j = c.scenario.snapshotJoin;
  if (j !== undefined) lines.push(`node ${j.node} leaves at ${j.at} ms with its chain store wiped; it comes back at least ${j.minDownMs} ms later, once its peers pruned block 1`);
  if (c.snapshots !== undefined) {
    const p = c.snapshots;
    lines.push(`pruning to ${p.pruneKeepBlocks} blocks, a snapshot every ${p.everyBlocks} heights (${p.keep} kept, chunks of ${p.chunkBytes} bytes), snapshot sync at ${p.minLag} heights behind; a Byzantine server's lie: ${p.lie}`);
  }
  for (const k of c.scenario.signCrashes) {
    lines.push(`crash node ${k.node} ${k.mode === 'sent' ? 'right after sending' : k.mode === 'unsent' ? 'after signing, before sending' : 'after signing, while persisting'} its first ${k.step} in [${k.after}, ${k.until}] ms, ${k.downMs === null ? 'stays down' : `restarts ${k.downMs} ms later`}`);
  }
  return lines.join('\n');
}
