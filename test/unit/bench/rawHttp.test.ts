/**
 * The bench's request plan for `--batch N` (src/bench/rawHttp.ts): which
 * requests carry which txs, and how each tx's outcome is read from the answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { submissionOutcomes, txSubmissions } from '../../../src/bench/rawHttp.js';

const list = Array.from({ length: 5 }, (_, i) => ({ key: `a/${i}`, json: `{"n":${i}}` }));

describe('bench request plan', () => {
  it('default: batch 1 is one POST /tx per tx, in order', () => {
    const s = txSubmissions(list, 1, '127.0.0.1');
    assert.equal(s.length, 5);
    assert.deepEqual(s.map((x) => x.keys), list.map((b) => [b.key]));
    const text = s[2]!.request.toString();
    assert.match(text, /^POST \/tx HTTP\/1\.1\r\n/);
    assert.ok(text.endsWith('\r\n\r\n{"n":2}'));
    assert.match(text, /content-length: 7\r\n/);
  });

  it('behavior: batch 2 is POST /txs requests of 2 txs, the last one shorter', () => {
    const s = txSubmissions(list, 2, '127.0.0.1');
    assert.deepEqual(s.map((x) => x.keys), [['a/0', 'a/1'], ['a/2', 'a/3'], ['a/4']]);
    const text = s[1]!.request.toString();
    assert.match(text, /^POST \/txs HTTP\/1\.1\r\n/);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    assert.deepEqual(JSON.parse(body), { txs: [{ n: 2 }, { n: 3 }] });
    assert.match(text, new RegExp(`content-length: ${Buffer.byteLength(body)}\\r\\n`));
  });

  it('behavior: outcomes per tx: admitted (null) or the error code, for single and batch answers', () => {
    const [one] = txSubmissions(list.slice(0, 1), 1, 'h');
    assert.deepEqual(submissionOutcomes(one!, { status: 202, body: '{"id":"x","status":"pending"}' }), [null]);
    assert.deepEqual(submissionOutcomes(one!, { status: 409, body: '{"error":{"code":"DUPLICATE_TX","message":"m"}}' }), ['DUPLICATE_TX']);
    const [batch] = txSubmissions(list.slice(0, 3), 3, 'h');
    const answer = { accepted: 1, rejected: 2, results: [{ id: 'x', status: 'pending' }, { error: { code: 'INVALID_SIGNATURE', message: 'm' } }, { id: 'y', status: 'pending', known: true }] };
    assert.deepEqual(submissionOutcomes(batch!, { status: 200, body: JSON.stringify(answer) }), [null, 'INVALID_SIGNATURE', 'UNEXPECTED_ANSWER']);
    assert.deepEqual(submissionOutcomes(batch!, { status: 429, body: '{"error":{"code":"RATE_LIMITED","message":"m"}}' }), ['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    assert.deepEqual(submissionOutcomes(batch!, { status: 502, body: 'bad gateway' }), ['502', '502', '502']);
  });
});
