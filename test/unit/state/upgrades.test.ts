/**
 * Coordinated upgrades: the genesis schedule, the governance tx that changes
 * it, and `evidence-once-per-spell` as the first rule change that takes
 * effect at a height — the same block is valid below it and invalid from it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UPGRADE_INDEX_KEY, decodeStateValue, doubleSignKey, encodeStateValue, upgradeKey } from '../../../src/codec/state.js';
import { decodeTx, encodeTx } from '../../../src/codec/tx.js';
import { refuseUnknownUpgrade } from '../../../src/consensus/block.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { ErrorCode, FastposError, FatalError } from '../../../src/errors.js';
import { selectValidEvidence } from '../../../src/state/evidence.js';
import { decodeGenesis, encodeGenesis, genesisEntries, genesisHash } from '../../../src/state/genesis.js';
import {
  UPGRADE,
  UPGRADE_HALT_EXIT_CODE,
  UPGRADE_MIN_NOTICE_BLOCKS,
  UpgradeHaltError,
  isUpgradeActive,
  rulesAt,
  unknownUpgradeDue,
  upgradeHeight,
  upgradeSchedule,
} from '../../../src/state/upgrades.js';
import type { Genesis, GenesisUpgrade } from '../../../src/types/index.js';
import { CHAIN, Chain, GOV, OPS, VALS, doubleVote, signTx, spec, testGenesis } from './stakingHarness.js';

const SPELL = UPGRADE.evidenceOncePerSpell;
const A1 = devAccount(1);
const v = (i: number) => VALS[i]!.address;
const ok = { success: true };
const fail = (error: string) => ({ success: false, error });

const withUpgrades = (upgrades: GenesisUpgrade[]): Genesis => ({ ...testGenesis(), upgrades });

function chainAt(h: number, genesis: Genesis): Chain {
  const c = new Chain(genesis);
  c.advanceTo(h);
  return c;
}

function blockError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FastposError, String(e));
    return `${e.code}: ${e.message}`;
  }
  return 'OK';
}

const genesisJson = (g: Genesis): Record<string, unknown> => JSON.parse(JSON.stringify(encodeGenesis(g)));

describe('upgrades in the genesis', () => {
  it('default: a genesis without the section hashes as before, writes no record, and has every rule of this release from height 1', () => {
    const g = testGenesis();
    assert.equal('upgrades' in encodeGenesis(g), false);
    assert.equal(genesisHash(decodeGenesis(genesisJson(g))), genesisHash(g));
    assert.equal(genesisEntries(g).some(([k]) => k.startsWith('upgrade/') || k === UPGRADE_INDEX_KEY), false);
    const c = new Chain(g);
    assert.equal(upgradeHeight(c.ws, SPELL), 1);
    assert.deepEqual(rulesAt(c.ws, 1), { evidenceOncePerSpell: true });
    assert.deepEqual(upgradeSchedule(c.ws), [{ name: SPELL, height: 1, scheduledAt: 0, known: true }]);
  });

  it('behavior: the section is hashed when present, sorted by height then name; unknown names are parsed', () => {
    const j = { ...genesisJson(testGenesis()), upgrades: [{ name: 'z-later', height: 50 }, { name: SPELL, height: 120 }, { name: 'a-later', height: 50 }] };
    const g = decodeGenesis(j);
    assert.deepEqual(g.upgrades, [{ name: 'a-later', height: 50 }, { name: 'z-later', height: 50 }, { name: SPELL, height: 120 }]);
    assert.notEqual(genesisHash(g), genesisHash(testGenesis()));
    // The order it was written in does not change the hash.
    assert.equal(genesisHash({ ...g, upgrades: [...g.upgrades!].reverse() }), genesisHash(g));
    const c = new Chain(g);
    assert.equal(upgradeHeight(c.ws, SPELL), 120);
    assert.deepEqual(c.ws.get(UPGRADE_INDEX_KEY), { names: ['a-later', SPELL, 'z-later'] });
    assert.deepEqual(unknownUpgradeDue(c.ws, 49), null);
    assert.deepEqual(unknownUpgradeDue(c.ws, 50), { name: 'a-later', height: 50 });
  });

  it('behavior: with the section, a rule of this release it leaves out is not in effect until it is scheduled', () => {
    const c = new Chain(withUpgrades([]));
    assert.equal(upgradeHeight(c.ws, SPELL), null);
    assert.deepEqual(c.ws.get(upgradeKey(SPELL)), { height: 0, scheduledAt: 0 });
    assert.equal(isUpgradeActive(c.ws, SPELL, 1_000_000), false);
  });

  for (const [upgrades, message] of [
    [{}, /upgrades must be an array/],
    [[{ name: SPELL, height: 0 }], /upgrades\[0\]\.height must be an integer from 1/],
    [[{ name: SPELL, height: 1.5 }], /upgrades\[0\]\.height/],
    [[{ name: 'Bad_Name', height: 3 }], /upgrades\[0\]\.name must be/],
    [[{ name: SPELL, height: 3 }, { name: SPELL, height: 9 }], /upgrades\[1\]\.name evidence-once-per-spell appears twice/],
    [[{ name: SPELL, height: 3, when: 'now' }], /upgrades\[0\]: unknown key "when"/],
  ] as const) {
    it(`error: INVALID_GENESIS for ${JSON.stringify(upgrades)}`, () => {
      assert.throws(() => decodeGenesis({ ...genesisJson(testGenesis()), upgrades }), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INVALID_GENESIS && message.test(e.message));
    });
  }
});

describe('evidence-once-per-spell takes effect at its height', () => {
  const twoOfOne = () => [doubleVote(VALS[1]!, 2), doubleVote(VALS[1]!, 3)];

  it('behavior: the same block with two evidence items of one validator is valid and slashes twice below the height, and is invalid from it', () => {
    // The same chain and the same block at height 6, under two schedules.
    const before = chainAt(5, withUpgrades([{ name: SPELL, height: 7 }]));
    const from = chainAt(5, withUpgrades([{ name: SPELL, height: 6 }]));
    assert.equal(before.ws.stateRoot === from.ws.stateRoot, false, 'the schedules differ, so do the states');

    assert.deepEqual(before.block([], { evidence: twoOfOne() }), []);
    assert.deepEqual(before.validator(v(1)).slashes.map((s) => [s.height, s.infractionHeight, s.reason]), [[6, 2, 'double_sign'], [6, 3, 'double_sign']]);
    assert.equal(before.validator(v(1)).stake, 3000n - 150n - 142n);
    assert.equal(before.ws.get(doubleSignKey(v(1))), undefined, 'no spell record under the old rule');

    assert.match(blockError(() => from.block([], { evidence: twoOfOne() })), /^INVALID_BLOCK: evidence 1 may not be in block 6: EVIDENCE_ALREADY_USED/);
    // One item is fine from the height on, and opens the spell.
    assert.deepEqual(from.block([], { evidence: [twoOfOne()[0]!] }), []);
    assert.deepEqual(from.ws.get(doubleSignKey(v(1))), { punishedAt: 6, infractionHeight: 2, unjailedAt: null });
  });

  it('behavior: a block at the height itself follows the new rule; the one before it the old', () => {
    const c = chainAt(6, withUpgrades([{ name: SPELL, height: 8 }]));
    assert.deepEqual(c.block([], { evidence: twoOfOne() }), []); // height 7: old rule
    assert.equal(c.validator(v(1)).slashes.length, 2);
    assert.match(blockError(() => c.block([], { evidence: [doubleVote(VALS[2]!, 5), doubleVote(VALS[2]!, 6)] })), /evidence 1 may not be in block 8: EVIDENCE_ALREADY_USED/);
  });

  it('behavior: a proposer selects by the rule of the height it builds: several per validator (once per height) below it, one from it', () => {
    const c = chainAt(6, withUpgrades([{ name: SPELL, height: 8 }]));
    const [e2, e3] = twoOfOne();
    const sameHeight = doubleVote(VALS[1]!, 2, 1);
    const other = doubleVote(VALS[2]!, 3);
    assert.deepEqual(selectValidEvidence(c.ws, [e2!, sameHeight, e3!, other], c.ctx(7)), [e2, e3, other]);
    assert.deepEqual(selectValidEvidence(c.ws, [e2!, sameHeight, e3!, other], c.ctx(8)), [e2, other]);
  });

  it('behavior: a double-signing spell at and after the height is punished once; below it, once per height', () => {
    const c = chainAt(5, withUpgrades([{ name: SPELL, height: 8 }]));
    // Below the height: two txs with evidence of two heights both punish.
    assert.deepEqual(c.block([spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 3) }), spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 4) })]), [ok, ok]);
    assert.equal(c.validator(v(0)).slashes.length, 2);
    c.advanceTo(10);
    // From the height: the spell of validator 1 (heights 8 and 9) is punished once, the other item is covered.
    const r = c.block([spec(A1, 'validator_slash', { evidence: doubleVote(VALS[1]!, 8) }), spec(A1, 'validator_slash', { evidence: doubleVote(VALS[1]!, 9) })]); // 11
    assert.deepEqual(r, [ok, fail(ErrorCode.EVIDENCE_ALREADY_USED)]);
    assert.deepEqual(c.validator(v(1)).slashes.map((s) => s.infractionHeight), [8]);
    assert.deepEqual(c.ws.get(doubleSignKey(v(1))), { punishedAt: 11, infractionHeight: 8, unjailedAt: null });
    // Validator 0, punished under the old rule, has no spell record: its double sign after the height is punished once more.
    assert.equal(c.ws.get(doubleSignKey(v(0))), undefined);
    assert.deepEqual(c.block([spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 9) }), spec(A1, 'validator_slash', { evidence: doubleVote(VALS[0]!, 10) })]), [ok, fail(ErrorCode.EVIDENCE_ALREADY_USED)]);
    assert.deepEqual(c.validator(v(0)).slashes.map((s) => s.infractionHeight), [3, 4, 9]);
  });
});

describe('upgrade_schedule', () => {
  it('default: governance schedules a rule at least UPGRADE_MIN_NOTICE_BLOCKS ahead; it is recorded and indexed', () => {
    const c = chainAt(3, withUpgrades([]));
    const at = 4 + UPGRADE_MIN_NOTICE_BLOCKS;
    assert.deepEqual(c.block([spec(GOV, 'upgrade_schedule', { name: SPELL, height: at }), spec(GOV, 'upgrade_schedule', { name: 'a-later-rule', height: at + 5 })]), [ok, ok]); // 4
    assert.deepEqual(c.ws.get(upgradeKey(SPELL)), { height: at, scheduledAt: 4 });
    assert.deepEqual(c.ws.get(UPGRADE_INDEX_KEY), { names: ['a-later-rule', SPELL] });
    assert.deepEqual(upgradeSchedule(c.ws), [
      { name: 'a-later-rule', height: at + 5, scheduledAt: 4, known: false },
      { name: SPELL, height: at, scheduledAt: 4, known: true },
    ]);
    assert.equal(isUpgradeActive(c.ws, SPELL, at - 1), false);
    assert.equal(isUpgradeActive(c.ws, SPELL, at), true);
    assert.equal(unknownUpgradeDue(c.ws, at + 4), null);
    assert.deepEqual(unknownUpgradeDue(c.ws, at + 5), { name: 'a-later-rule', height: at + 5 });
  });

  it('behavior: a pending schedule may be moved or cancelled (height 0); a rule in effect may not', () => {
    const c = chainAt(3, withUpgrades([{ name: 'a-later-rule', height: 30 }]));
    assert.deepEqual(c.block([spec(GOV, 'upgrade_schedule', { name: 'a-later-rule', height: 40 })]), [ok]);
    assert.equal(upgradeHeight(c.ws, 'a-later-rule'), 40);
    assert.deepEqual(c.block([spec(GOV, 'upgrade_schedule', { name: 'a-later-rule', height: 0 })]), [ok]);
    assert.equal(upgradeHeight(c.ws, 'a-later-rule'), null);
    assert.equal(unknownUpgradeDue(c.ws, 1_000), null, 'a cancelled later rule stops nobody');
    assert.deepEqual(c.block([spec(GOV, 'upgrade_schedule', { name: 'never-scheduled', height: 0 })]), [fail(ErrorCode.NOT_FOUND)]);
    // The default rule of a chain without a schedule is in effect from height 1: never moved.
    const d = chainAt(3, testGenesis());
    assert.deepEqual(d.block([spec(GOV, 'upgrade_schedule', { name: SPELL, height: 0 }), spec(GOV, 'upgrade_schedule', { name: SPELL, height: 100 })]), [fail(ErrorCode.INVALID_TX), fail(ErrorCode.INVALID_TX)]);
    assert.equal(upgradeHeight(d.ws, SPELL), 1);
  });

  it('error: FORBIDDEN for a sender outside governance; INVALID_TX for a height closer than the notice', () => {
    const c = chainAt(3, withUpgrades([]));
    assert.deepEqual(c.block([spec(OPS[0]!, 'upgrade_schedule', { name: SPELL, height: 100 })]), [fail(ErrorCode.FORBIDDEN)]);
    assert.deepEqual(c.block([spec(GOV, 'upgrade_schedule', { name: SPELL, height: 5 + UPGRADE_MIN_NOTICE_BLOCKS - 1 })]), [fail(ErrorCode.INVALID_TX)]);
    assert.equal(upgradeHeight(c.ws, SPELL), null);
  });

  it('default: the tx and the state records round-trip through the codec; malformed payloads are INVALID_TX', () => {
    const d = signTx(spec(GOV, 'upgrade_schedule', { name: SPELL, height: 120 }), 0);
    const wire = encodeTx(d.tx) as Record<string, unknown>;
    assert.deepEqual(wire.payload, { name: SPELL, height: 120 });
    assert.deepEqual(decodeTx(wire).tx, d.tx);
    for (const payload of [{ name: 'UP', height: 3 }, { name: SPELL, height: -1 }, { name: SPELL }, { name: SPELL, height: 3, extra: 1 }]) {
      assert.throws(() => decodeTx({ ...wire, payload }), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.INVALID_TX, JSON.stringify(payload));
    }
    assert.equal(encodeStateValue(upgradeKey(SPELL), { height: 120, scheduledAt: 7 }), '{"height":120,"scheduledAt":7}');
    assert.deepEqual(decodeStateValue(upgradeKey(SPELL), '{"height":120,"scheduledAt":7}'), { height: 120, scheduledAt: 7 });
    assert.deepEqual(decodeStateValue(UPGRADE_INDEX_KEY, '{"names":["a","b-2"]}'), { names: ['a', 'b-2'] });
    for (const [key, json] of [[upgradeKey(SPELL), '{"height":"1","scheduledAt":0}'], [upgradeKey('Bad'), '{"height":1,"scheduledAt":0}'], [UPGRADE_INDEX_KEY, '{"names":["A"]}']] as const) {
      assert.throws(() => decodeStateValue(key, json), (e: unknown) => e instanceof FastposError && e.code === ErrorCode.CORRUPT_DATA);
    }
    assert.equal(CHAIN, d.tx.chainId);
  });
});

describe('a rule change this release does not know', () => {
  it('behavior: no block at or above its height is built or checked (INVALID_BLOCK, naming it); the height before is fine', () => {
    const c = chainAt(4, withUpgrades([{ name: 'a-later-rule', height: 6 }]));
    refuseUnknownUpgrade(c.ws, 5);
    assert.match(blockError(() => refuseUnknownUpgrade(c.ws, 6)), /^INVALID_BLOCK: block 6: upgrade a-later-rule takes effect at height 6 and this release does not know it: install a release that does, then start again$/);
    assert.match(blockError(() => refuseUnknownUpgrade(c.ws, 9)), /block 9: upgrade a-later-rule takes effect at height 6/);
  });

  it('default: the node stops with an UpgradeHaltError, a FatalError with its own exit code', () => {
    const e = new UpgradeHaltError({ name: 'a-later-rule', height: 6 });
    assert.ok(e instanceof FatalError);
    assert.equal(e.exitCode, UPGRADE_HALT_EXIT_CODE);
    assert.notEqual(UPGRADE_HALT_EXIT_CODE, 1);
    assert.equal(e.message, 'upgrade a-later-rule takes effect at height 6 and this release does not know it: install a release that does, then start again');
  });
});
