import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  VALIDATOR_INDEX_KEY,
  accountKey,
  decodeStateValue,
  delegationKey,
  doubleSignKey,
  encodeStateValue,
  epochKey,
  evidenceUsedKey,
  unbondingKey,
  validatorKey,
  type StateValue,
} from '../../../src/codec/state.js';
import { FastposError } from '../../../src/errors.js';
import { Overlay } from '../../../src/state/overlay.js';
import { WorldState } from '../../../src/state/worldState.js';
import type { Validator } from '../../../src/types/index.js';

const ID = 'ab'.repeat(20);
const OTHER = 'cd'.repeat(20);
const validator: Validator = {
  id: ID,
  pubKey: '11'.repeat(32),
  rewardAddress: OTHER,
  stake: 10n ** 30n,
  delegated: 5n,
  delegatorShares: 7n,
  workWeight: 10_000,
  status: 'jailed',
  jailedUntil: 42,
  missed: [3, 4],
  slashes: [{ height: 9, infractionHeight: 8, reason: 'double_sign', fractionBps: 500, burned: 123n }],
};
const samples: [string, StateValue][] = [
  [accountKey(ID), { balance: 5n, nonce: 2 }],
  [validatorKey(ID), validator],
  [delegationKey(OTHER), { shares: { [ID]: 3n, [OTHER]: 10n ** 25n } }],
  [unbondingKey(1010), { entries: [{ validatorId: ID, delegator: OTHER, amount: 9n, creationHeight: 10 }] }],
  [epochKey(3), { epoch: 3, startHeight: 301, validators: [{ id: ID, pubKey: '22'.repeat(32), votingPower: 100n, proposerWeight: 200n }] }],
  [evidenceUsedKey(ID, 7), { evidenceId: 'ef'.repeat(32), usedAt: 9 }],
  [doubleSignKey(ID), { punishedAt: 9, infractionHeight: 7, unjailedAt: null }],
  [doubleSignKey(OTHER), { punishedAt: 9, infractionHeight: 7, unjailedAt: 60 }],
  [VALIDATOR_INDEX_KEY, { ids: [ID, OTHER] }],
];

describe('state entry codec', () => {
  it('default: every entry type round-trips with amounts as decimal strings', () => {
    for (const [k, v] of samples) {
      const json = encodeStateValue(k, v);
      assert.deepEqual(decodeStateValue(k, json), v, k);
      assert.equal(encodeStateValue(k, decodeStateValue(k, json)), json);
    }
    assert.match(encodeStateValue(validatorKey(ID), validator), /"stake":"1000000000000000000000000000000"/);
  });

  it('error: strict decoding refuses missing, unknown and mistyped fields', () => {
    const bad: [string, string][] = [
      [accountKey(ID), '{"balance":"1"}'],
      [accountKey(ID), '{"balance":1,"nonce":0}'],
      [accountKey(ID), '{"balance":"1","nonce":0,"x":1}'],
      [accountKey(ID), '{"balance":"-1","nonce":0}'],
      [validatorKey(ID), encodeStateValue(validatorKey(ID), validator).replace('"delegatorShares":"7",', '')],
      [validatorKey(ID), encodeStateValue(validatorKey(ID), validator).replace('"status":"jailed"', '"status":"gone"')],
      [validatorKey(ID), encodeStateValue(validatorKey(ID), validator).replace('"missed":[3,4]', '"missed":[3,"4"]')],
      [validatorKey(ID), encodeStateValue(validatorKey(ID), validator).replace('"reason":"double_sign"', '"reason":"other"')],
      [delegationKey(OTHER), '{"shares":{"xyz":"1"}}'],
      [delegationKey(OTHER), '{"shares":[]}'],
      [unbondingKey(1), '{"entries":[{"validatorId":"' + ID + '","delegator":"' + OTHER + '","amount":"1"}]}'],
      [epochKey(0), '{"epoch":0,"startHeight":1,"validators":{}}'],
      [evidenceUsedKey(ID, 1), '{"evidenceId":"ab","usedAt":1}'],
      [doubleSignKey(ID), '{"punishedAt":9,"infractionHeight":7}'],
      [doubleSignKey(ID), '{"punishedAt":9,"infractionHeight":7,"unjailedAt":"60"}'],
      [VALIDATOR_INDEX_KEY, '{"ids":[1]}'],
      ['nope/1', '{}'],
      [accountKey(ID), 'not json'],
    ];
    for (const [k, json] of bad) {
      assert.throws(() => decodeStateValue(k, json), (e: unknown) => e instanceof FastposError && e.code === 'CORRUPT_DATA', `${k} ${json}`);
    }
  });
});

describe('state deletion', () => {
  it('behavior: the root after adding then deleting an entry equals the root before', () => {
    const ws = WorldState.fromEntries(samples.slice(0, 2));
    const before = ws.stateRoot;
    const [k, v] = samples[3]!;
    ws.apply(ws.diff(new Map([[k, v]])));
    assert.notEqual(ws.stateRoot, before);
    const d = ws.diff(new Map([[k, null]]));
    assert.equal(d.encoded.get(k), null);
    assert.equal(d.elements.has(k), false);
    ws.apply(d);
    assert.equal(ws.stateRoot, before);
    assert.equal(ws.get(k), undefined);
    assert.equal(ws.size, 2);
  });

  it('behavior: deleting in the same diff as writing others equals a state built without the entry', () => {
    const ws = WorldState.fromEntries(samples);
    const keep = samples.filter(([k]) => k !== samples[2]![0] && k !== samples[3]![0]);
    ws.apply(ws.diff(new Map<string, StateValue | null>([[samples[2]![0], null], [samples[3]![0], null], [accountKey(ID), { balance: 5n, nonce: 2 }]])));
    assert.equal(ws.stateRoot, WorldState.fromEntries(keep).stateRoot);
  });

  it('behavior: deleting an absent key changes nothing', () => {
    const ws = WorldState.fromEntries(samples.slice(0, 1));
    const d = ws.diff(new Map([[unbondingKey(5), null]]));
    assert.equal(d.stateRoot, ws.stateRoot);
  });

  it('behavior: the overlay records a delete only for keys the base has, and rolls back a journal', () => {
    const base = WorldState.fromEntries(samples.slice(0, 2));
    const o = new Overlay(base);
    o.set(unbondingKey(1), samples[3]![1]);
    o.delete(unbondingKey(1));
    assert.equal(o.changes.has(unbondingKey(1)), false);
    o.delete(accountKey(ID));
    assert.equal(o.changes.get(accountKey(ID)), null);
    assert.equal(o.get(accountKey(ID)), undefined);
    o.mark();
    o.set(accountKey(ID), { balance: 1n, nonce: 0 });
    o.set(accountKey(OTHER), { balance: 1n, nonce: 0 });
    o.delete(validatorKey(ID));
    o.rollback();
    assert.deepEqual([...o.changes], [[accountKey(ID), null]]);
    assert.equal(o.get(validatorKey(ID)), validator);
  });
});
