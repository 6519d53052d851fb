import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LatestValueWriter } from '../../../src/node/fileWriter.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-writer-');

describe('LatestValueWriter', () => {
  it('default: a burst of values resolves once the latest is on disk', async () => {
    const dir = tmp();
    const w = new LatestValueWriter<number>(dir, (v) => [{ name: 'value', data: String(v) }]);
    await Promise.all([1, 2, 3, 4].map((v) => w.write(v)));
    assert.equal(readFileSync(join(dir, 'value'), 'utf8'), '4');
  });

  it('error: every value covered by a failed write is reported failed, also those merged into it', async () => {
    const dir = tmp();
    // Values >= 10 go to a file that cannot be written (a directory where its temporary file would go).
    mkdirSync(join(dir, 'bad.tmp'));
    const w = new LatestValueWriter<number>(dir, (v) => [{ name: v >= 10 ? 'bad' : 'good', data: String(v) }]);
    const results = await Promise.allSettled([w.write(1), w.write(10), w.write(11)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected'],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /bad\.tmp/);
    // A failure is not carried into writes of later values: each promise speaks for its own write.
    await w.write(2);
    assert.equal(readFileSync(join(dir, 'good'), 'utf8'), '2');
  });

  it('error: a value whose files cannot be listed is reported failed', async () => {
    const dir = tmp();
    const w = new LatestValueWriter<number>(dir, (v) => {
      if (v === 0) throw new Error('cannot encode');
      return [{ name: 'value', data: String(v) }];
    });
    await assert.rejects(w.write(0), /cannot encode/);
    await w.write(1);
  });

  it('error: a failing `written` callback fails the write it follows', async () => {
    const dir = tmp();
    const w = new LatestValueWriter<number>(
      dir,
      (v) => [{ name: 'value', data: String(v) }],
      () => {
        throw new Error('bookkeeping failed');
      },
    );
    await assert.rejects(w.write(1), /bookkeeping failed/);
  });
});
