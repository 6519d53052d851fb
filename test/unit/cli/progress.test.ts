/** The progress helper: a bar on a terminal, a plain line every few seconds elsewhere, nothing when quiet. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Progress, formatDuration, type ProgressStream } from '../../../src/cli/progress.js';

function stream(isTTY: boolean, columns?: number): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY, ...(columns === undefined ? {} : { columns }), out, write: (s: string) => out.push(s) };
}

describe('Progress', () => {
  it('default (terminal): a bar redrawn in place with percentage, count, rate and ETA, then a newline', () => {
    const s = stream(true);
    let t = 0;
    const p = new Progress({ label: 'replaying', total: 200, unit: 'blocks', stream: s, now: () => t });
    t = 1000;
    p.update(50);
    assert.equal(s.out.length, 1);
    assert.equal(s.out[0], '\rreplaying [######..................] 25.0% 50/200 blocks 50.0/s ETA 3s\x1b[K');
    t = 1050;
    p.update(60); // within the redraw interval: nothing
    assert.equal(s.out.length, 1);
    t = 4000;
    p.update(200);
    p.finish();
    assert.match(s.out.at(-2)!, /^\rreplaying \[#{24}\] 100\.0% 200\/200 blocks 50\.0\/s ETA 0s\x1b\[K$/);
    assert.equal(s.out.at(-1), '\n');
  });

  it('behavior (terminal): a line is cut to the terminal width', () => {
    const s = stream(true, 30);
    let t = 0;
    const p = new Progress({ label: 'restoring', total: 10, stream: s, now: () => t });
    t = 500;
    p.update(1);
    assert.equal(s.out[0], '\r' + 'restoring [##......................] 10.0% 1/10 2.0/s ETA 5s'.slice(0, 29) + '\x1b[K');
  });

  it('behavior (not a terminal): a plain line every plainEveryMs, and a summary at the end', () => {
    const s = stream(false);
    let t = 0;
    const p = new Progress({ label: 'replaying', total: 1000, unit: 'blocks', stream: s, now: () => t, plainEveryMs: 5000 });
    for (let i = 1; i <= 1000; i++) {
      t = i * 12; // 12 s in all
      p.update(i);
    }
    p.finish();
    assert.deepEqual(s.out, [
      'replaying: 41.7% 417/1000 blocks 83.3/s ETA 7s\n',
      'replaying: 83.4% 834/1000 blocks 83.3/s ETA 2s\n',
      'replaying: 1000 blocks done in 12s\n',
    ]);
  });

  it('behavior (not a terminal): a run shorter than one interval prints nothing', () => {
    const s = stream(false);
    let t = 0;
    const p = new Progress({ label: 'x', total: 3, stream: s, now: () => t });
    for (let i = 1; i <= 3; i++) {
      t += 10;
      p.update(i);
    }
    p.finish();
    assert.deepEqual(s.out, []);
  });

  it('behavior: quiet (--json) prints nothing, on a terminal too', () => {
    const s = stream(true);
    let t = 0;
    const p = new Progress({ label: 'x', total: 3, stream: s, now: () => t, quiet: true });
    t = 10_000;
    p.tick();
    p.finish();
    assert.deepEqual(s.out, []);
  });

  it('behavior: a total of 0 is complete at once, and an unknown rate shows "?"', () => {
    const p = new Progress({ label: 'x', total: 0, stream: stream(true), now: () => 0 });
    assert.equal(p.describe(0), '100.0% 0/0 ?/s ETA 0s');
  });

  it('formatDuration', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(59.4), '59s');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(3720), '1h02m');
    assert.equal(formatDuration(NaN), '?');
  });
});
