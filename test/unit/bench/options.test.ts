/**
 * The benchmark's command line (src/bench/options.ts): the usage printed by
 * `--help` is the synopsis that opens bench.ts, and a command line it cannot
 * run is a UsageError naming the cause.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { nonNegativeInt, parseBenchArgs, positiveInt, USAGE, UsageError } from '../../../src/bench/options.js';

describe('bench options', () => {
  it('default: the usage is the synopsis of bench.ts\'s opening comment, and names every scenario', () => {
    const src = readFileSync(new URL('../../../src/bench/bench.ts', import.meta.url), 'utf8');
    const asComment = USAGE.trimEnd().split('\n').map((l) => ` * ${l}`).join('\n');
    assert.ok(src.includes(asComment), 'bench.ts opens with the usage text');
    for (const s of ['overload', 'product-reads', 'sync', 'disk', 'scale', 'chain']) assert.ok(USAGE.includes(`--scenario ${s}`), s);
  });

  it('behavior: options given on the command line are told apart from defaults', () => {
    const p = parseBenchArgs(['--scenario', 'overload', '--batch=20', '--keep']);
    assert.equal(p.args.scenario, 'overload');
    assert.equal(p.args.batch, '20');
    assert.equal(p.args.senders, '400');
    assert.ok(p.given('batch') && p.given('keep'));
    assert.ok(!p.given('senders'));
    assert.equal(parseBenchArgs(['--help']).args.help, true);
    assert.equal(parseBenchArgs(['-h']).args.help, true);
  });

  it('error: an unknown option, a missing value, a stray argument or an unknown scenario is a UsageError', () => {
    assert.throws(() => parseBenchArgs(['--bogus']), UsageError);
    assert.throws(() => parseBenchArgs(['--senders']), UsageError);
    assert.throws(() => parseBenchArgs(['stray']), UsageError);
    assert.throws(() => parseBenchArgs(['--scenario', 'nope']), (e: unknown) => e instanceof UsageError && /unknown --scenario nope/.test(e.message));
  });

  it('error: integer options out of range name the option', () => {
    assert.equal(positiveInt('batch', '3'), 3);
    assert.throws(() => positiveInt('batch', '0'), /--batch must be a positive integer, got 0/);
    assert.throws(() => positiveInt('batch', '1.5'), UsageError);
    assert.equal(nonNegativeInt('retries', '0'), 0);
    assert.throws(() => nonNegativeInt('retries', '-1'), /--retries/);
  });
});
