import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTx, encodeTx } from '../../../src/codec/tx.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import { acct, transfer } from '../../helpers/fixtures.js';
import type { Tx } from '../../../src/types/index.js';
import { VALS, doubleVote, signTx, spec } from '../state/stakingHarness.js';

const good = encodeTx(transfer({ from: 0, to: acct(1).address, amount: 5n, nonce: 0 }).tx);

function code(mutate: (t: Record<string, any>) => void): string {
  const t = structuredClone(good) as Record<string, any>;
  mutate(t);
  try {
    decodeTx(t);
  } catch (e) {
    assert.ok(e instanceof FastposError);
    return e.code;
  }
  return 'OK';
}

describe('decodeTx', () => {
  it('default: decodes a well-formed transfer', () => {
    const d = decodeTx(good);
    assert.equal(d.tx.kind === 'transfer' && d.tx.payload.amount, 5n);
    assert.equal(d.tx.fee, 10n);
  });
  const cases: [string, (t: Record<string, any>) => void, string][] = [
    ['not an object', (t) => Object.keys(t).forEach((k) => delete t[k]), 'INVALID_TX'],
    ['unknown field', (t) => (t.extra = 1), 'INVALID_TX'],
    ['empty chainId', (t) => (t.chainId = ''), 'INVALID_TX'],
    ['unknown kind', (t) => (t.kind = 'mint'), 'INVALID_TX'],
    ['a product kind with a transfer payload', (t) => (t.kind = 'product_settle'), 'INVALID_TX'],
    ['uppercase from', (t) => (t.from = t.from.toUpperCase()), 'INVALID_TX'],
    ['short pubKey', (t) => (t.pubKey = t.pubKey.slice(2)), 'INVALID_TX'],
    ['from not matching pubKey', (t) => (t.from = acct(1).address), 'SENDER_MISMATCH'],
    ['negative nonce', (t) => (t.nonce = -1), 'INVALID_TX'],
    ['fractional nonce', (t) => (t.nonce = 1.5), 'INVALID_TX'],
    ['string nonce', (t) => (t.nonce = '0'), 'INVALID_TX'],
    ['numeric fee', (t) => (t.fee = 10), 'INVALID_AMOUNT'],
    ['fee with leading zero', (t) => (t.fee = '010'), 'INVALID_AMOUNT'],
    ['negative fee', (t) => (t.fee = '-1'), 'INVALID_AMOUNT'],
    ['huge fee', (t) => (t.fee = '1'.repeat(40)), 'INVALID_AMOUNT'],
    ['bad signature length', (t) => (t.signature = 'ab'), 'INVALID_TX'],
    ['payload not object', (t) => (t.payload = 'x'), 'INVALID_TX'],
    ['payload unknown field', (t) => (t.payload.memo = 'hi'), 'INVALID_TX'],
    ['payload bad to', (t) => (t.payload.to = 'xyz'), 'INVALID_TX'],
    ['zero amount', (t) => (t.payload.amount = '0'), 'INVALID_AMOUNT'],
    ['amount as number', (t) => (t.payload.amount = 5), 'INVALID_AMOUNT'],
  ];
  for (const [name, mutate, expected] of cases) {
    it(`error: ${name} -> ${expected}`, () => assert.equal(code(mutate), expected));
  }
  it('error: non-object inputs', () => {
    for (const v of [null, 1, 'x', [], true]) assert.throws(() => decodeTx(v), (e: unknown) => e instanceof FastposError && e.code === 'INVALID_TX');
  });
});

// ---------------------------------------------------------------- staking kinds


const VID = VALS[0]!.address;
const goodPayloads: { [K in Tx['kind']]?: Extract<Tx, { kind: K }>['payload'] } = {
  validator_bond: { pubKey: VALS[4]!.publicKey, amount: 500n },
  validator_unbond: { validatorId: VID, amount: 5n },
  delegation_delegate: { validatorId: VID, amount: 5n },
  delegation_undelegate: { validatorId: VID, amount: 5n },
  validator_jail: { validatorId: VID, jailBlocks: 10 },
  validator_unjail: { validatorId: VID },
};

function wireOf(kind: Tx['kind'], payload: unknown): Record<string, any> {
  return structuredClone(encodeTx(signTx(spec(acct(0), kind as any, payload as any), 0).tx)) as Record<string, any>;
}

function decodeCode(t: Record<string, any>): string {
  try {
    decodeTx(t);
  } catch (e) {
    assert.ok(e instanceof FastposError);
    return e.code;
  }
  return 'OK';
}

describe('decodeTx: staking, slashing and evidence kinds', () => {
  const evidence = doubleVote(VALS[0]!, 3);
  const all: [Tx['kind'], unknown][] = [
    ...Object.entries(goodPayloads).map(([k, p]) => [k as Tx['kind'], p] as [Tx['kind'], unknown]),
    ['validator_slash', { validatorId: VID, fractionBps: 10_000 }],
    ['validator_slash', { evidence }],
  ];
  for (const [kind, payload] of all) {
    it(`default: ${kind} ${'evidence' in (payload as object) ? '(evidence) ' : ''}round-trips through the wire form`, () => {
      const w = wireOf(kind, payload);
      const d = decodeTx(w);
      assert.equal(d.tx.kind, kind);
      assert.deepEqual(d.tx.payload, payload);
      assert.deepEqual(encodeTx(d.tx), w);
    });
  }

  it('default: amounts travel as decimal strings', () => {
    assert.deepEqual(wireOf('validator_bond', goodPayloads.validator_bond).payload, { pubKey: VALS[4]!.publicKey, amount: '500' });
  });

  type Case = [string, Tx['kind'], unknown, (p: Record<string, any>) => void, string];
  const id = { validatorId: VID };
  const cases: Case[] = [
    ['bond: unknown field', 'validator_bond', goodPayloads.validator_bond, (p) => (p.memo = 'x'), ErrorCode.INVALID_TX],
    ['bond: missing pubKey', 'validator_bond', goodPayloads.validator_bond, (p) => delete p.pubKey, ErrorCode.INVALID_TX],
    ['bond: uppercase pubKey', 'validator_bond', goodPayloads.validator_bond, (p) => (p.pubKey = p.pubKey.toUpperCase()), ErrorCode.INVALID_TX],
    ['bond: validatorId instead of pubKey', 'validator_bond', goodPayloads.validator_bond, (p) => ((p.validatorId = VID), delete p.pubKey), ErrorCode.INVALID_TX],
    ['bond: zero amount', 'validator_bond', goodPayloads.validator_bond, (p) => (p.amount = '0'), ErrorCode.INVALID_AMOUNT],
    ['bond: numeric amount', 'validator_bond', goodPayloads.validator_bond, (p) => (p.amount = 500), ErrorCode.INVALID_AMOUNT],
    ['unbond: missing amount', 'validator_unbond', goodPayloads.validator_unbond, (p) => delete p.amount, ErrorCode.INVALID_AMOUNT],
    ['unbond: bad validatorId', 'validator_unbond', goodPayloads.validator_unbond, (p) => (p.validatorId = 'xyz'), ErrorCode.INVALID_TX],
    ['unbond: unknown field', 'validator_unbond', goodPayloads.validator_unbond, (p) => (p.to = VID), ErrorCode.INVALID_TX],
    ['delegate: negative amount', 'delegation_delegate', goodPayloads.delegation_delegate, (p) => (p.amount = '-5'), ErrorCode.INVALID_AMOUNT],
    ['delegate: missing validatorId', 'delegation_delegate', goodPayloads.delegation_delegate, (p) => delete p.validatorId, ErrorCode.INVALID_TX],
    ['undelegate: leading zero', 'delegation_undelegate', goodPayloads.delegation_undelegate, (p) => (p.amount = '05'), ErrorCode.INVALID_AMOUNT],
    ['undelegate: unknown field', 'delegation_undelegate', goodPayloads.delegation_undelegate, (p) => (p.shares = '1'), ErrorCode.INVALID_TX],
    ['slash: fractionBps 0', 'validator_slash', { ...id, fractionBps: 1 }, (p) => (p.fractionBps = 0), ErrorCode.INVALID_TX],
    ['slash: fractionBps 10001', 'validator_slash', { ...id, fractionBps: 1 }, (p) => (p.fractionBps = 10_001), ErrorCode.INVALID_TX],
    ['slash: fractionBps as string', 'validator_slash', { ...id, fractionBps: 1 }, (p) => (p.fractionBps = '1'), ErrorCode.INVALID_TX],
    ['slash: missing fractionBps', 'validator_slash', { ...id, fractionBps: 1 }, (p) => delete p.fractionBps, ErrorCode.INVALID_TX],
    ['slash: evidence with validatorId', 'validator_slash', { evidence }, (p) => (p.validatorId = VID), ErrorCode.INVALID_TX],
    ['slash: evidence not an object', 'validator_slash', { evidence }, (p) => (p.evidence = 'x'), ErrorCode.INVALID_EVIDENCE],
    ['slash: evidence with identical payloads', 'validator_slash', { evidence }, (p) => (p.evidence.b = p.evidence.a), ErrorCode.INVALID_EVIDENCE],
    ['slash: evidence with a finalize message', 'validator_slash', { evidence }, (p) => ((p.evidence.a.type = 'finalize'), (p.evidence.b.type = 'finalize')), ErrorCode.INVALID_EVIDENCE],
    ['jail: jailBlocks 0', 'validator_jail', goodPayloads.validator_jail, (p) => (p.jailBlocks = 0), ErrorCode.INVALID_TX],
    ['jail: fractional jailBlocks', 'validator_jail', goodPayloads.validator_jail, (p) => (p.jailBlocks = 1.5), ErrorCode.INVALID_TX],
    ['jail: missing jailBlocks', 'validator_jail', goodPayloads.validator_jail, (p) => delete p.jailBlocks, ErrorCode.INVALID_TX],
    ['jail: unknown field', 'validator_jail', goodPayloads.validator_jail, (p) => (p.reason = 'x'), ErrorCode.INVALID_TX],
    ['unjail: unknown field', 'validator_unjail', goodPayloads.validator_unjail, (p) => (p.amount = '1'), ErrorCode.INVALID_TX],
    ['unjail: missing validatorId', 'validator_unjail', goodPayloads.validator_unjail, (p) => delete p.validatorId, ErrorCode.INVALID_TX],
  ];
  for (const [name, kind, payload, mutate, expected] of cases) {
    it(`error: ${name} -> ${expected}`, () => {
      const w = wireOf(kind, payload);
      mutate(w.payload);
      assert.equal(decodeCode(w), expected);
    });
  }
});
