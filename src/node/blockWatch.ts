/**
 * What each finalized block tells an operator: one concise `info` line
 * (height, txs, round, signers' power, time since the previous block, hash),
 * the validator metrics (online and total power, missed blocks, power, jailed),
 * and a `warn` when a
 * validator key this node holds has no voting power (at start and at each
 * epoch). A block costs the size of the validator set (and, only when a block
 * changed validator records, the number of records): never the state's size.
 * @module
 */
import type { Metrics } from '../metrics/index.js';
import type { FinalizedBlock, Validator, ValidatorSet } from '../types/index.js';
import type { Log } from './context.js';

/** A validator counts as online when one of its precommits is in a certificate of the last this-many heights. */
export const ONLINE_WINDOW_HEIGHTS = 5;

/** What `/status` says of each validator key this node holds. */
export interface HeldValidatorStatus {
  readonly id: string;
  /** Voting power in the set deciding the next height (decimal string). */
  readonly votingPower: string;
  readonly inActiveSet: boolean;
  readonly jailed: boolean;
  /** Height from which an unjail is allowed, while jailed. */
  readonly jailedUntil?: number;
  /** Why the key has no voting power (absent when it has some). */
  readonly reason?: string;
}

/** The standing of each held validator key in `set`, with the records of every validator. */
export function describeHeldValidators(ids: readonly string[], set: ValidatorSet, records: ReadonlyMap<string, Validator>): HeldValidatorStatus[] {
  return ids.map((id) => {
    const entry = set.validators.find((v) => v.id === id);
    const rec = records.get(id);
    const jailed = rec?.status === 'jailed';
    const power = entry?.votingPower ?? 0n;
    const base = { id, votingPower: power.toString(), inActiveSet: entry !== undefined && power > 0n, jailed, ...(jailed ? { jailedUntil: rec!.jailedUntil } : {}) };
    if (power > 0n) return base;
    let reason: string;
    if (rec === undefined) reason = 'not bonded';
    else if (jailed) reason = `jailed until ${rec.jailedUntil}`;
    else if (rec.status === 'unbonding') reason = 'unbonding: self stake below the minimum self bond';
    else if (rec.stake + rec.delegated === 0n) reason = 'zero stake';
    else reason = 'not in the current set (bonded or unjailed since the epoch began: it joins at the next epoch)';
    return { ...base, reason };
  });
}

export interface BlockWatchDeps {
  readonly log: Log;
  readonly metrics: Metrics;
  /** The set of a finalized height (its epoch's set). */
  readonly setAt: (height: number) => ValidatorSet;
  /** The set deciding the next height. */
  readonly currentSet: () => ValidatorSet;
  /** Every validator record (a new map object whenever a block changed one). */
  readonly records: () => ReadonlyMap<string, Validator>;
  /** The epoch of the next height. */
  readonly epoch: () => number;
  /** Validator keys this node holds. */
  readonly heldIds: readonly string[];
}

export class BlockWatch {
  /** Last height at which each validator's precommit was seen in a certificate. */
  private readonly lastSigned = new Map<string, number>();
  private lastTimestamp: number | null = null;
  private setHash = '';
  private recordsSeen: ReadonlyMap<string, Validator> | null = null;
  private epochSeen = -1;

  constructor(private readonly deps: BlockWatchDeps) {}

  /** The node started at `tip` (null: at genesis): gauges and the voting-power check. */
  start(tip: FinalizedBlock | null): void {
    this.lastTimestamp = tip?.block.header.timestamp ?? null;
    if (tip !== null) this.noteSigners(tip);
    this.refreshSet();
    this.refreshRecords();
    this.checkHeldPower();
  }

  /** A block is durable and applied. `quiet` leaves out its line (during a block sync, which logs its progress). */
  finalized(fb: FinalizedBlock, opts: { quiet: boolean }): void {
    const h = fb.block.header.height;
    const set = this.setOf(h);
    if (!opts.quiet && set !== null) this.deps.log.info(blockLine(fb, set, this.lastTimestamp), 'finalized block');
    this.lastTimestamp = fb.block.header.timestamp;
    this.countMisses(fb);
    this.noteSigners(fb);
    this.refreshSet();
    this.refreshRecords();
    if (this.deps.epoch() !== this.epochSeen) this.checkHeldPower();
  }

  /** Power of the current set seen signing in the last heights, and the set's total. */
  power(): { online: bigint; total: bigint } {
    const set = this.deps.currentSet();
    return { online: this.onlinePower(set), total: set.totalPower };
  }

  private onlinePower(set: ValidatorSet): bigint {
    let online = 0n;
    let newest = 0;
    for (const h of this.lastSigned.values()) if (h > newest) newest = h;
    for (const v of set.validators) {
      const h = this.lastSigned.get(v.id);
      if (h !== undefined && h > newest - ONLINE_WINDOW_HEIGHTS) online += v.votingPower;
    }
    return online;
  }

  /** The set of `height`, or null when this node does not hold it (below a state installed from a snapshot). */
  private setOf(height: number): ValidatorSet | null {
    try {
      return this.deps.setAt(height);
    } catch {
      return null;
    }
  }

  /** Members of the previous height's set missing from its certificate as this block carries it. */
  private countMisses(fb: FinalizedBlock): void {
    const lc = fb.block.lastCommit;
    if (lc === null || lc.height < 1) return;
    const signed = new Set(lc.signatures.map((s) => s.validatorId));
    for (const v of this.setOf(lc.height)?.validators ?? []) {
      if (!signed.has(v.id)) this.deps.metrics.validatorMissed.inc({ validator: v.id });
    }
  }

  private noteSigners(fb: FinalizedBlock): void {
    const note = (height: number, ids: readonly { validatorId: string }[]): void => {
      for (const s of ids) if ((this.lastSigned.get(s.validatorId) ?? -1) < height) this.lastSigned.set(s.validatorId, height);
    };
    note(fb.commit.height, fb.commit.signatures);
    if (fb.block.lastCommit !== null) note(fb.block.lastCommit.height, fb.block.lastCommit.signatures);
    const m = this.deps.metrics;
    const { online, total } = this.power();
    m.onlinePower.set(Number(online));
    m.totalPower.set(Number(total));
  }

  /** Power gauges when the set changed (every record's power reads 0 unless it is in the set). */
  private refreshSet(): void {
    const set = this.deps.currentSet();
    if (set.hash === this.setHash) return;
    this.setHash = set.hash;
    const m = this.deps.metrics;
    for (const id of this.deps.records().keys()) m.validatorPower.set({ validator: id }, 0);
    for (const v of set.validators) {
      m.validatorPower.set({ validator: v.id }, Number(v.votingPower));
      m.validatorMissed.inc({ validator: v.id }, 0);
      if (!this.lastSigned.has(v.id)) this.lastSigned.set(v.id, -ONLINE_WINDOW_HEIGHTS);
    }
    // Validators that left the set no longer count as online.
    const members = new Set(set.validators.map((v) => v.id));
    for (const id of [...this.lastSigned.keys()]) if (!members.has(id)) this.lastSigned.delete(id);
    m.totalPower.set(Number(set.totalPower));
  }

  /** Jailed and downtime gauges when a block changed validator records (the jail and slash lines come from the chain app). */
  private refreshRecords(): void {
    const records = this.deps.records();
    if (records === this.recordsSeen) return;
    this.recordsSeen = records;
    const m = this.deps.metrics;
    let jailed = 0;
    for (const [id, v] of records) {
      const isJailed = v.status === 'jailed';
      if (isJailed) jailed++;
      m.validatorJailed.set({ validator: id }, isJailed ? 1 : 0);
      m.validatorDowntimeMissed.set({ validator: id }, v.missed.length);
    }
    m.validatorsJailed.set(jailed);
  }

  /** Warns for each held validator key without voting power in the current epoch. */
  private checkHeldPower(): void {
    this.epochSeen = this.deps.epoch();
    if (this.deps.heldIds.length === 0) return;
    for (const s of describeHeldValidators(this.deps.heldIds, this.deps.currentSet(), this.deps.records())) {
      if (s.reason === undefined) continue;
      this.deps.log.warn(
        { validator: s.id, epoch: this.epochSeen, reason: s.reason },
        `this node's validator key ${s.id} has no voting power in epoch ${this.epochSeen}: it will not propose or vote (${s.reason})`,
      );
    }
  }
}

/** The fields of a block's `finalized block` line. */
export function blockLine(fb: FinalizedBlock, set: ValidatorSet, previousTimestamp: number | null): Record<string, unknown> {
  const signers = new Set(fb.commit.signatures.map((s) => s.validatorId));
  let signed = 0n;
  for (const v of set.validators) if (signers.has(v.id)) signed += v.votingPower;
  const h = fb.block.header;
  return {
    height: h.height,
    txs: fb.block.txs.length,
    round: fb.commit.round,
    power: `${signed}/${set.totalPower}`,
    ...(previousTimestamp === null ? {} : { ms: h.timestamp - previousTimestamp }),
    hash: fb.hash.slice(0, 8),
  };
}
