import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeTx, encodeTx } from '../../../src/codec/tx.js';
import { FastposError } from '../../../src/errors.js';
import { acct, transfer } from '../../helpers/fixtures.js';

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
    ['kind without rules yet', (t) => (t.kind = 'product_settle'), 'UNSUPPORTED_TX_KIND'],
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
