import { doubleSignKey, evidenceUsedKey } from '../codec/state.js';
import { envelopeSignBytes } from '../codec/envelope.js';
import { evidenceId, evidenceShapeProblem } from '../codec/tx.js';
import { verifySignature } from '../crypto/ed25519.js';
import { ErrorCode } from '../errors.js';
import type { ChainParams, DoubleSignPunishment, Evidence, SignedMessage } from '../types/index.js';
import { readEpoch, epochOf } from './epochs.js';
import type { Overlay } from './overlay.js';
import { getDoubleSignPunishment, jail, slash, type StakingContext } from './staking.js';
import { UPGRADE, isUpgradeActive } from './upgrades.js';
import type { StateReader } from './worldState.js';

export { decodeEvidence, encodeEvidence, evidenceId } from '../codec/tx.js';

/**
 * Equivocation evidence (after Cosmos SDK x/evidence): two different signed
 * messages of one validator for one (type, chain, height, round). Valid when
 * both signatures verify under the key the validator had in the set of that
 * height, the height is in the past but at most `evidenceMaxAgeBlocks` old,
 * no double sign of that validator at that height was punished yet
 * (`evused/<validatorId>/<height>`), and the double sign is not covered by the
 * validator's latest double-sign punishment (`dsp/<validatorId>`: every
 * double sign committed before the validator unjailed from it is). Its effect:
 * slash `slashDoubleSignBps` for the evidence height, jail for
 * `jailDoubleSignBlocks`, and open a punishment that covers the validator's
 * other double signs until it unjails: a validator whose key signs twice at
 * many heights (two nodes running one key, typically) is punished once for
 * the spell, as Cosmos SDK's tombstone does, without barring it for good.
 *
 * The spell rule is the rule change `evidence-once-per-spell` (see
 * upgrades.ts): a block below its height follows the rule before it, where
 * every valid evidence item is punished (once per validator and height, the
 * `evused/` record), a block may carry several items of one validator, and
 * no `dsp/` record is read or written.
 */

export interface EvidenceContext {
  readonly chainId: string;
  readonly params: ChainParams;
  /** Height of the block that would apply the evidence. */
  readonly height: number;
}

export interface EvidenceProblem {
  readonly code: ErrorCode;
  readonly message: string;
}

function problem(code: ErrorCode, message: string): EvidenceProblem {
  return { code, message };
}

/** Why `e` may not be applied at `ctx.height` on `state`, or null when it may. Cheap checks first. */
export function checkEvidence(state: StateReader, e: Evidence, ctx: EvidenceContext): EvidenceProblem | null {
  const shape = evidenceShapeProblem(e);
  if (shape !== null) return problem(ErrorCode.INVALID_EVIDENCE, shape);
  const { height, validatorId, chainId } = e.a;
  if (chainId !== ctx.chainId) return problem(ErrorCode.INVALID_EVIDENCE, `evidence is for chain ${chainId}, not ${ctx.chainId}`);
  if (height >= ctx.height) return problem(ErrorCode.INVALID_EVIDENCE, `evidence height ${height} is not below the current height ${ctx.height}`);
  if (ctx.height - height > ctx.params.evidenceMaxAgeBlocks) {
    return problem(ErrorCode.EVIDENCE_TOO_OLD, `evidence of height ${height} is older than ${ctx.params.evidenceMaxAgeBlocks} blocks at height ${ctx.height}`);
  }
  if (state.get(evidenceUsedKey(validatorId, height)) !== undefined) {
    return problem(ErrorCode.EVIDENCE_ALREADY_USED, `a double sign of ${validatorId} at height ${height} was already punished`);
  }
  const punished = isUpgradeActive(state, UPGRADE.evidenceOncePerSpell, ctx.height) ? getDoubleSignPunishment(state, validatorId) : undefined;
  if (punished !== undefined && (punished.unjailedAt === null || height < punished.unjailedAt)) {
    return problem(
      ErrorCode.EVIDENCE_ALREADY_USED,
      `a double sign of ${validatorId} at height ${height} is covered by its punishment at height ${punished.punishedAt} ` +
        (punished.unjailedAt === null ? '(not unjailed since)' : `(it unjailed at height ${punished.unjailedAt})`),
    );
  }
  const set = readEpoch(state, epochOf(height, ctx.params));
  const member = set?.validators.find((v) => v.id === validatorId);
  if (member === undefined) return problem(ErrorCode.INVALID_EVIDENCE, `${validatorId} is not in the validator set of height ${height}`);
  for (const [name, m] of [['a', e.a], ['b', e.b]] as const) {
    if (!verifies(member.pubKey, m)) return problem(ErrorCode.INVALID_EVIDENCE, `evidence message ${name} is not signed by ${validatorId}'s key of height ${height}`);
  }
  return null;
}

function verifies(pubKey: string, m: SignedMessage): boolean {
  return verifySignature(pubKey, envelopeSignBytes(m), m.signature);
}

/** Applies evidence already checked by `checkEvidence`: records its use and the punishment, slashes and jails. */
export function applyEvidence(o: Overlay, ctx: StakingContext, e: Evidence): void {
  const { validatorId, height } = e.a;
  o.set(evidenceUsedKey(validatorId, height), { evidenceId: evidenceId(e), usedAt: ctx.height });
  if (isUpgradeActive(o, UPGRADE.evidenceOncePerSpell, ctx.height)) {
    o.set(doubleSignKey(validatorId), { punishedAt: ctx.height, infractionHeight: height, unjailedAt: null } satisfies DoubleSignPunishment);
  }
  slash(o, ctx, validatorId, ctx.params.slashDoubleSignBps, height, 'double_sign');
  jail(o, ctx, validatorId, ctx.params.jailDoubleSignBlocks);
}

/**
 * For a proposer: the candidates a block at `ctx.height` on `state` may carry,
 * in order, skipping invalid ones and more than one per validator (the first
 * one applied covers the validator's others) — or, below the height of
 * `evidence-once-per-spell`, more than one per validator and height.
 * `beginBlock` accepts exactly such a list.
 */
export function selectValidEvidence(state: StateReader, candidates: Iterable<Evidence>, ctx: EvidenceContext): Evidence[] {
  const perSpell = isUpgradeActive(state, UPGRADE.evidenceOncePerSpell, ctx.height);
  const out: Evidence[] = [];
  const taken = new Set<string>();
  for (const e of candidates) {
    const key = perSpell ? e.a.validatorId : evidenceUsedKey(e.a.validatorId, e.a.height);
    if (taken.has(key) || checkEvidence(state, e, ctx) !== null) continue;
    taken.add(key);
    out.push(e);
  }
  return out;
}
