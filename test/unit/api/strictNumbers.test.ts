/**
 * Numbers in query strings and path parameters take their canonical decimal
 * text only: `?from=0x10` is refused, not read as 16 (issue 12, point 8).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as S from '../../../src/api/schemas.js';
import { numberFields, numberTextProblem } from '../../../src/api/strictNumbers.js';
import { assertApiError } from '../../helpers/api.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const UINT = { integer: true, negative: false } as const;
const INT = { integer: true, negative: true } as const;
const UNUM = { integer: false, negative: false } as const;

/** Texts that `Number()` (and so Ajv's coercion) reads as a number, but that are not canonical decimal. */
const NOT_CANONICAL = ['0x10', '0X1', '0b1', '0o7', '01', '00', '1.0', '1.', '.5', '1e0', '1E3', '+1', '-0', ' 1', '1 ', '\t1', '1\n', '', ' ', '1_000', 'Infinity', 'NaN', '１', '٣'];

describe('numberTextProblem', () => {
  it('default: canonical unsigned integers are accepted', () => {
    for (const t of ['0', '1', '7', '10', '100', '9007199254740991']) assert.equal(numberTextProblem(t, UINT), null, t);
  });

  it('error: hex, leading zeros, fractions, exponents, signs, spaces and other digits are refused', () => {
    for (const t of [...NOT_CANONICAL, '-1', '-5']) {
      const p = numberTextProblem(t, UINT);
      assert.ok(p !== null, `${JSON.stringify(t)} was accepted`);
      assert.match(p, /canonical decimal/);
    }
  });

  it('error: an integer beyond the safe range is refused', () => {
    for (const t of ['9007199254740992', '9007199254740993', '1' + '0'.repeat(400)]) assert.match(numberTextProblem(t, UINT) ?? '', /at most 9007199254740991/, t);
  });

  it('behavior: a field that allows negatives takes a leading minus, never "-0" or "--1"', () => {
    for (const t of ['-1', '-42', '0', '5']) assert.equal(numberTextProblem(t, INT), null, t);
    for (const t of ['-0', '--1', '- 1', '-01', '+-1', '-']) assert.notEqual(numberTextProblem(t, INT), null, t);
  });

  it('behavior: a `number` field takes a fraction without trailing zeros', () => {
    for (const t of ['0', '0.5', '12.25', '3']) assert.equal(numberTextProblem(t, UNUM), null, t);
    for (const t of ['0.50', '1.0', '.5', '5.', '1e-3', '-0.5']) assert.notEqual(numberTextProblem(t, UNUM), null, t);
  });

  it('behavior: the refused text is shown, cut to 40 characters', () => {
    assert.match(numberTextProblem('0x10', UINT) ?? '', /got "0x10"/);
    const p = numberTextProblem('x'.repeat(5000), UINT) ?? '';
    assert.ok(p.length < 300, p);
  });
});

describe('numberFields', () => {
  it('default: finds the integer fields of the route schemas and whether they may be negative', () => {
    assert.deepEqual(numberFields(S.heightParams), [{ name: 'height', integer: true, negative: false }]);
    assert.deepEqual(numberFields(S.blocksQuery).map((f) => f.name), ['from', 'limit']);
    assert.deepEqual(numberFields(S.txFinalizedQuery).map((f) => f.name).sort(), ['fromHeight', 'fromTime', 'limit', 'offset', 'toHeight', 'toTime']);
    assert.deepEqual(numberFields(S.txPendingQuery).map((f) => f.name).sort(), ['fromTime', 'limit', 'offset', 'toTime']);
    assert.deepEqual(numberFields(S.validatorsQuery).map((f) => f.name).sort(), ['epoch', 'limit', 'offset']);
    assert.deepEqual(numberFields(S.addressParams), []);
    assert.deepEqual(numberFields({ type: 'object', properties: { a: { type: 'integer' }, b: { type: ['number', 'null'], minimum: -3 }, c: { type: 'string' } } }), [
      { name: 'a', integer: true, negative: true },
      { name: 'b', integer: false, negative: true },
    ]);
  });
});

describe('strict numbers on every route that reads a number from its path or query', () => {
  let n: TestNode;
  const TOKEN = 'strict-numbers-admin-token';
  before(async () => {
    n = await startTestNode({ config: { adminToken: TOKEN } });
    await waitForHeight(n, 2);
  });
  after(async () => {
    await n.dispose();
  });

  async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
    const r = await n.app.inject({ method: 'GET', url, headers });
    return { status: r.statusCode, json: r.json() };
  }

  // [path with X where the number goes, the field's name, a canonical value that is answered 200]
  const routes: [string, string, string][] = [
    ['/blocks/X', 'height', '1'],
    ['/blocks?from=X', 'from', '1'],
    ['/blocks?limit=X', 'limit', '2'],
    ['/tx/pending?offset=X', 'offset', '0'],
    ['/tx/pending?limit=X', 'limit', '10'],
    ['/tx/pending?fromTime=X', 'fromTime', '0'],
    ['/tx/pending?toTime=X', 'toTime', '10'],
    ['/tx/finalized?fromHeight=X', 'fromHeight', '1'],
    ['/tx/finalized?fromTime=X', 'fromTime', '0'],
    ['/tx/finalized?toTime=X', 'toTime', '10'],
    ['/tx/finalized?toHeight=X', 'toHeight', '10'],
    ['/tx/finalized?offset=X', 'offset', '0'],
    ['/tx/finalized?limit=X', 'limit', '10'],
    ['/validators?epoch=X', 'epoch', '0'],
    ['/validators?offset=X', 'offset', '0'],
    ['/validators?limit=X', 'limit', '1'],
    ['/admin/evidence?limit=X', 'limit', '10'],
    ['/p2p/evidence?limit=X', 'limit', '10'],
    ['/sync/blocks?from=X', 'from', '1'],
    ['/sync/blocks?limit=X', 'limit', '2'],
  ];
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('error: `?from=0x10` is 400 INVALID_REQUEST naming the field, not blocks from height 16', async () => {
    assertApiError(await get('/blocks?from=0x10'), 400, 'INVALID_REQUEST', 'from');
    assertApiError(await get('/blocks/0x1'), 400, 'INVALID_REQUEST', 'height');
  });

  it('error: every non-canonical spelling is refused on every such route, naming the field', async () => {
    for (const [path, field, ok] of routes) {
      const h = path.startsWith('/admin') ? auth : {};
      const good = await get(path.replace('X', ok), h);
      assert.equal(good.status, 200, `${path} with ${ok}: ${JSON.stringify(good.json)}`);
      for (const t of [...NOT_CANONICAL, '-1', '9007199254740993']) {
        // In a path, "" would be another route and a space or newline must be escaped: all are percent-encoded.
        const r = await get(path.replace('X', encodeURIComponent(t)), h);
        if (path.startsWith('/blocks/') && t === '') continue; // `/blocks/` is another route (404)
        assertApiError(r, 400, 'INVALID_REQUEST', `(querystring|params)/${field}`);
      }
    }
  });

  it('behavior: canonical numbers still read as numbers (height 1 is block 1)', async () => {
    const b = await get('/blocks/1');
    assert.equal(b.json.header.height, 1);
    const list = await get('/blocks?from=2&limit=1');
    assert.equal(list.json.length, 1);
    assert.equal(list.json[0].header.height, 2);
  });
});
