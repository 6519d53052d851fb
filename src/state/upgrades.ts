import { UPGRADE_INDEX_KEY, upgradeKey, type StateValue } from '../codec/state.js';
import { ErrorCode, FatalError } from '../errors.js';
import type { Address, ChainParams, GenesisUpgrade, UpgradeIndex, UpgradeRecord, UpgradeSchedulePayload } from '../types/index.js';
import type { Overlay } from './overlay.js';
import type { StateReader } from './worldState.js';

/**
 * Coordinated upgrades (docs/operations.md, "Coordinated upgrades"): a rule
 * change of the state transition has a name and takes effect at a height.
 * Blocks below that height are executed with the old rule, blocks at or above
 * it with the new one, so one release replays a whole history made across
 * the change. The schedule is state: `upgrade/<name>` records, seeded by the
 * genesis `upgrades` section and changed by governance `upgrade_schedule` txs,
 * listed in `index/upgrades`. A scheduled name this release does not know is
 * a later release's rule: the node stops before the first block at its height.
 * @module
 */

/** The rule changes this release knows, by name. */
export const UPGRADE = {
  /** Double signing is punished once per spell (`dsp/` records); a block carries at most one evidence item per validator. */
  evidenceOncePerSpell: 'evidence-once-per-spell',
} as const;
export type UpgradeName = (typeof UPGRADE)[keyof typeof UPGRADE];

export const KNOWN_UPGRADES: readonly string[] = Object.values(UPGRADE);

/**
 * Rule changes in effect from height 1 on a chain whose state holds no record
 * of them: a genesis without an `upgrades` section. Frozen: a later release's
 * rule changes are not added here, a chain takes them through its schedule
 * (else a release would apply a new rule to a history made before it existed).
 */
export const DEFAULT_UPGRADES: readonly string[] = [UPGRADE.evidenceOncePerSpell];

/** An `upgrade_schedule` must name a height at least this many blocks after the block that carries it. */
export const UPGRADE_MIN_NOTICE_BLOCKS = 10;

/** Exit code of a node process that stopped before a rule change this release does not know. */
export const UPGRADE_HALT_EXIT_CODE = 3;

export function getUpgrade(state: StateReader, name: string): UpgradeRecord | undefined {
  return state.get(upgradeKey(name)) as UpgradeRecord | undefined;
}

/** First height of the new rule `name`, or null when it is not scheduled. */
export function upgradeHeight(state: StateReader, name: string): number | null {
  const r = getUpgrade(state, name);
  if (r === undefined) return DEFAULT_UPGRADES.includes(name) ? 1 : null;
  return r.height === 0 ? null : r.height;
}

/** Whether a block at `height` follows the new rule `name`. */
export function isUpgradeActive(state: StateReader, name: UpgradeName, height: number): boolean {
  const at = upgradeHeight(state, name);
  return at !== null && height >= at;
}

/** The rules a block at `height` is executed with, one flag per known rule change. */
export interface Rules {
  readonly evidenceOncePerSpell: boolean;
}

export function rulesAt(state: StateReader, height: number): Rules {
  return { evidenceOncePerSpell: isUpgradeActive(state, UPGRADE.evidenceOncePerSpell, height) };
}

/** One entry of the chain's schedule as operators see it. */
export interface ScheduledUpgrade {
  readonly name: string;
  /** First height of the new rule; null when not scheduled. */
  readonly height: number | null;
  /** Height of the block that set it (0: the genesis, or a default of this release). */
  readonly scheduledAt: number;
  /** Whether this release knows the rule. */
  readonly known: boolean;
}

/** The schedule: every recorded name and every default of this release, sorted by name. */
export function upgradeSchedule(state: StateReader): ScheduledUpgrade[] {
  const names = new Set<string>(DEFAULT_UPGRADES);
  for (const n of (state.get(UPGRADE_INDEX_KEY) as UpgradeIndex | undefined)?.names ?? []) names.add(n);
  return [...names].sort().map((name) => ({ name, height: upgradeHeight(state, name), scheduledAt: getUpgrade(state, name)?.scheduledAt ?? 0, known: KNOWN_UPGRADES.includes(name) }));
}

/** The first rule change this release does not know that is in effect at `height` (lowest height, then name), or null. */
export function unknownUpgradeDue(state: StateReader, height: number): { name: string; height: number } | null {
  let due: { name: string; height: number } | null = null;
  for (const name of (state.get(UPGRADE_INDEX_KEY) as UpgradeIndex | undefined)?.names ?? []) {
    if (KNOWN_UPGRADES.includes(name)) continue;
    const at = upgradeHeight(state, name);
    if (at !== null && at <= height && (due === null || at < due.height)) due = { name, height: at };
  }
  return due;
}

export function unknownUpgradeMessage(u: { name: string; height: number }): string {
  return `upgrade ${u.name} takes effect at height ${u.height} and this release does not know it: install a release that does, then start again`;
}

/**
 * The node stops before a block whose height follows a rule change it does
 * not know: nothing of that height is executed, signed or stored, so a
 * release that knows the rule resumes from the same data dir.
 */
export class UpgradeHaltError extends FatalError {
  readonly exitCode = UPGRADE_HALT_EXIT_CODE;
  constructor(readonly upgrade: { readonly name: string; readonly height: number }) {
    super(unknownUpgradeMessage(upgrade));
  }
}

function writeRecord(o: Overlay, name: string, record: UpgradeRecord): void {
  o.set(upgradeKey(name), record);
  const names = (o.get(UPGRADE_INDEX_KEY) as UpgradeIndex | undefined)?.names ?? [];
  if (!names.includes(name)) o.set(UPGRADE_INDEX_KEY, { names: [...names, name].sort() } satisfies UpgradeIndex);
}

/**
 * `upgrade_schedule`, a governance tx: sets the height `name` takes effect at
 * (at least UPGRADE_MIN_NOTICE_BLOCKS after this block), or cancels it with
 * height 0. A rule change already in effect is never moved or cancelled: the
 * blocks made under it stay valid. The name need not be known to this release.
 */
export function scheduleUpgrade(o: Overlay, ctx: { readonly height: number; readonly params: ChainParams }, from: Address, p: UpgradeSchedulePayload): ErrorCode | null {
  if (!ctx.params.governance.includes(from)) return ErrorCode.FORBIDDEN;
  const current = upgradeHeight(o, p.name);
  if (current !== null && current <= ctx.height) return ErrorCode.INVALID_TX;
  if (p.height === 0) {
    if (current === null) return ErrorCode.NOT_FOUND;
  } else if (p.height < ctx.height + UPGRADE_MIN_NOTICE_BLOCKS) {
    return ErrorCode.INVALID_TX;
  }
  writeRecord(o, p.name, { height: p.height, scheduledAt: ctx.height });
  return null;
}

/**
 * State entries of the genesis schedule. Without a section: none (the
 * defaults apply). With one: a record per listed name, a "not scheduled"
 * record for each default it leaves out, and the index.
 */
export function upgradeGenesisEntries(upgrades: readonly GenesisUpgrade[] | undefined): [string, StateValue][] {
  if (upgrades === undefined) return [];
  const records = new Map<string, UpgradeRecord>();
  for (const name of DEFAULT_UPGRADES) records.set(name, { height: 0, scheduledAt: 0 });
  for (const u of upgrades) records.set(u.name, { height: u.height, scheduledAt: 0 });
  const names = [...records.keys()].sort();
  const out: [string, StateValue][] = names.map((n) => [upgradeKey(n), records.get(n)!]);
  if (names.length > 0) out.push([UPGRADE_INDEX_KEY, { names } satisfies UpgradeIndex]);
  return out;
}
