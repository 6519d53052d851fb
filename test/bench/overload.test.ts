/**
 * The overload scenario and the command line of the built benchmark, against
 * real node processes: with a pool of 4,096 bytes (one transfer) and batches
 * of ten, the node refuses txs with MEMPOOL_FULL, the client sends them again,
 * and every sample of every pool stays within the bound. `--help` and a wrong
 * command line print the usage and exit with code 2. No timing is asserted:
 * the run is bounded by its own --run-time-s and the spawn by a timeout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const BENCH = fileURLToPath(new URL('../../dist/bench/bench.js', import.meta.url));
const bench = (args: string[]) => spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 120_000 });
/** The first number after `label` on the line that starts with it. */
const figure = (out: string, label: string): number => {
  const line = out.split('\n').find((l) => l.startsWith(label));
  assert.ok(line !== undefined, `no "${label}" line in:\n${out}`);
  return Number(/(\d+)/.exec(line.slice(label.length))![1]);
};

describe('overload scenario', () => {
  for (const nodes of ['1', '2']) {
    test(`behavior: with ${nodes} node${nodes === '1' ? '' : 's'}, a pool of one transfer refuses txs with MEMPOOL_FULL, they are sent again, and the bound holds`, () => {
      const r = bench([
        '--scenario', 'overload', '--nodes', nodes, '--senders', '12', '--txs-per-sender', '4', '--batch', '10', '--concurrency', '4',
        '--run-time-s', '3', '--mempool-max-bytes', '4096', '--retries', '3', '--log-level', 'error',
      ]);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      const out = r.stdout;
      assert.ok(figure(out, 'pool-full rejections (MEMPOOL_FULL): ') > 0, out);
      assert.match(out, /offered tx\/s: \d+ \(\d+ tx sends, [1-9]\d* of them retries after MEMPOOL_FULL\)/);
      assert.ok(figure(out, 'admitted tx/s: ') >= 0);
      assert.match(out, /^finalized tx\/s: \d+ \(\d+ txs finalized during the run/m);
      assert.match(out, /^the pool's estimated memory stayed within mempoolMaxBytes: yes \(largest \d+ B of 4096 B\)$/m);
      const pools = out.split('\n').find((l) => l.startsWith('mempool at its largest'))!;
      assert.equal(pools.match(/node \d+: /g)?.length, Number(nodes), pools);
      for (const m of pools.matchAll(/, (\d+) above it/g)) assert.equal(m[1], '0');
      assert.match(out, /^node peak memory \(VmHWM\): \d+ MiB/m);
      assert.match(out, /^verify\/s \(one core, this run\): \d+$/m);
    });
  }

  test('behavior: --help prints the usage on stdout and exits 2', () => {
    const r = bench(['--help']);
    assert.equal(r.status, 2);
    assert.match(r.stdout, /^usage:\n {2}npm run bench -- \[--senders 400\]/);
    assert.match(r.stdout, /--scenario overload/);
  });

  test('error: an unknown option or scenario prints the cause and the usage on stderr, no stack trace, exit 2', () => {
    for (const args of [['--no-such-option'], ['--scenario', 'nope'], ['--batch', '0']]) {
      const r = bench(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /^bench: .+\nusage:\n/, args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    }
  });
});
