import { sha256 } from '../crypto/hash.js';
import type { ValidatorEntry, ValidatorSet } from '../types/index.js';

/**
 * Deterministic stake × workWeight proposer selection for (height, round).
 *
 * For each height the validators are put in a weighted random order drawn
 * without replacement from sha256("fastpos/proposer/v1\n" + setHash + height + k);
 * round r takes position r mod n. Every validator's chance to lead round 0 is
 * proportional to its weight, and successive rounds of one height always move
 * to a different validator, so an offline proposer costs one round.
 * All arithmetic is on bigint: the same answer on every machine.
 */
export function selectProposer(set: ValidatorSet, height: number, round: number): ValidatorEntry {
  const order = proposerOrder(set, height, round % set.validators.length);
  return order[order.length - 1]!;
}

const orderCache = new Map<string, ValidatorEntry[]>();

/** The first `upto + 1` entries of height's proposer order. */
function proposerOrder(set: ValidatorSet, height: number, upto: number): ValidatorEntry[] {
  const cacheKey = `${set.hash}/${height}`;
  let order = orderCache.get(cacheKey);
  if (order === undefined) {
    order = [];
    if (orderCache.size > 64) orderCache.clear();
    orderCache.set(cacheKey, order);
  }
  if (order.length > upto) return order.slice(0, upto + 1);
  // By id: the cache is shared by every set object with this hash (equal sets need not be one object).
  const picked = new Set(order.map((v) => v.id));
  const remaining = set.validators.filter((v) => !picked.has(v.id));
  // Zero total weight (all work weights 0): fall back to voting power.
  const weightOf = (v: ValidatorEntry): bigint => (remaining.some((r) => r.proposerWeight > 0n) ? v.proposerWeight : v.votingPower);
  while (order.length <= upto) {
    const k = order.length;
    const total = remaining.reduce((s, v) => s + weightOf(v), 0n);
    const seed = sha256(`fastpos/proposer/v1\n${set.hash}\n${height}\n${k}`);
    let x = BigInt('0x' + seed.toString('hex')) % total;
    let pick = remaining.length - 1;
    for (let i = 0; i < remaining.length; i++) {
      const w = weightOf(remaining[i]!);
      if (x < w) {
        pick = i;
        break;
      }
      x -= w;
    }
    order.push(remaining[pick]!);
    remaining.splice(pick, 1);
  }
  return order.slice(0, upto + 1);
}
