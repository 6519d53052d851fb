import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../src/client/index.js';
import { isUnreachable } from '../../../src/cli/errors.js';
import { amount, keyValues, table } from '../../../src/cli/format.js';

describe('cli/format', () => {
  it('default: amounts get thousands separators; other text is left as is', () => {
    assert.equal(amount('0'), '0');
    assert.equal(amount('999'), '999');
    assert.equal(amount('1000'), '1,000');
    assert.equal(amount(1_000_000_000_000n), '1,000,000,000,000');
    assert.equal(amount('-1234567'), '-1,234,567');
    assert.equal(amount('12.5'), '12.5');
    assert.equal(amount(undefined), '');
  });

  it('default: key-value lines and tables are aligned; missing values show as -', () => {
    assert.equal(keyValues([['a', 1], ['long key', undefined]]), 'a         1\nlong key  -\n');
    assert.equal(table(['id', 'n'], [['x', '1,000'], ['yy', '5']], [1]), 'id      n\nx   1,000\nyy      5\n');
  });
});

describe('cli/errors isUnreachable', () => {
  it('default: fetch failures, refused connections and timeouts are "unreachable"; answers of the node are not', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.equal(isUnreachable(new TypeError('fetch failed', { cause: refused })), true);
    assert.equal(isUnreachable(new Error('gave up', { cause: new TypeError('fetch failed') })), true);
    assert.equal(isUnreachable(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), true);
    assert.equal(isUnreachable(new ApiError(404, 'NOT_FOUND', 'no such block')), false);
    assert.equal(isUnreachable(new Error('something else')), false);
    assert.equal(isUnreachable('a string'), false);
  });
});
