/**
 * The logger's formats (JSON lines, pretty one-line text, auto by terminal),
 * the per-block line, and BlockWatch: missed blocks, online and total power,
 * validator power and jailed gauges, jail and slash lines, and the warning
 * for a held validator key without voting power.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createMetrics, type Metrics } from '../../../src/metrics/index.js';
import { BlockWatch, blockLine, describeHeldValidators } from '../../../src/node/blockWatch.js';
import { createLogger, usesPretty } from '../../../src/node/logging.js';
import { PeerBook } from '../../../src/p2p/peers.js';
import type { FinalizedBlock, Validator, ValidatorSet } from '../../../src/types/index.js';
import type { Log } from '../../../src/node/context.js';

function recordingLog(): { log: Log; lines: { level: string; msg: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown> | string, msg?: string) => {
    lines.push(typeof fields === 'string' ? { level, msg: fields, fields: {} } : { level, msg: msg ?? '', fields });
  };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal') } as never, lines };
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const A = 'aa'.repeat(20);
const B = 'bb'.repeat(20);
const C = 'cc'.repeat(20);

function setOf(powers: Record<string, bigint>, hash = 'set1'): ValidatorSet {
  const validators = Object.entries(powers).map(([id, p]) => ({ id, pubKey: id, votingPower: p, proposerWeight: p }));
  return { validators, totalPower: validators.reduce((s, v) => s + v.votingPower, 0n), hash };
}

function block(height: number, p: { signers: string[]; lastSigners?: string[] | undefined; timestamp?: number; txs?: unknown[]; round?: number }): FinalizedBlock {
  const sig = (ids: string[]) => ids.map((validatorId) => ({ validatorId, signature: '00' }));
  return {
    block: {
      header: { height, round: p.round ?? 0, timestamp: p.timestamp ?? 1000 * height, txCount: p.txs?.length ?? 0 } as never,
      txs: (p.txs ?? []) as never,
      lastCommit: p.lastSigners === undefined ? null : { height: height - 1, round: 0, blockHash: 'x', signatures: sig(p.lastSigners) },
      evidence: [],
    },
    hash: 'ab12cd34'.repeat(8),
    results: [],
    commit: { height, round: p.round ?? 0, blockHash: 'ab12cd34'.repeat(8), signatures: sig(p.signers) },
  };
}

function record(id: string, over: Partial<Validator> = {}): Validator {
  return { id, pubKey: id, rewardAddress: id, stake: 1_000_000n, delegated: 0n, delegatorShares: 0n, workWeight: 10_000, status: 'active', jailedUntil: 0, missed: [], slashes: [], ...over };
}

async function value(m: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('logger', () => {
  it('behavior: json writes one JSON object per line with the fields', () => {
    const out = sink();
    const log = createLogger({ level: 'info', format: 'json', destination: out.stream });
    log.info({ height: 5, txs: 2 }, 'finalized block');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'finalized block');
    assert.equal(line.height, 5);
    assert.equal(line.service, 'fastpos');
  });

  it('behavior: pretty writes one readable line: time, level, message, the main fields as key=value, synchronously', () => {
    const out = sink();
    const log = createLogger({ level: 'info', format: 'pretty', destination: out.stream, colorize: false });
    log.info({ height: 5, txs: 2, round: 0, power: '3000000/3000000', ms: 412, hash: 'ab12cd34' }, 'finalized block');
    log.warn({ peer: 'http://127.0.0.1:26658', nodeId: 'n1', extra: 'kept' }, 'peer lost');
    const lines = out.text().trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: finalized block {2}height=5 txs=2 round=0 power=3000000\/3000000 ms=412 hash=ab12cd34$/);
    assert.match(lines[1]!, /WARN: peer lost {2}peer=http:\/\/127\.0\.0\.1:26658 nodeId=n1 .*"extra":"kept"/);
  });

  it('behavior: pretty shows an error\'s message inline, and its stack below on error and fatal lines', () => {
    const out = sink();
    const log = createLogger({ level: 'info', format: 'pretty', destination: out.stream, colorize: false });
    log.warn({ err: new Error('connect ECONNREFUSED') }, 'consensus message dropped');
    log.error({ err: new Error('disk full') }, 'shutdown failed');
    const text = out.text();
    assert.match(text, /WARN: consensus message dropped {2}err=connect ECONNREFUSED\n/);
    assert.match(text, /ERROR: shutdown failed {2}err=disk full\nError: disk full\n\s+at /);
  });

  it('behavior: auto is pretty on a terminal and JSON otherwise', () => {
    assert.equal(usesPretty('auto', true), true);
    assert.equal(usesPretty('auto', false), false);
    assert.equal(usesPretty('json', true), false);
    assert.equal(usesPretty('pretty', false), true);
    const out = sink();
    createLogger({ level: 'info', format: 'auto', destination: out.stream, isTTY: false }).info('hello');
    assert.equal((JSON.parse(out.text()) as { msg: string }).msg, 'hello');
  });
});

describe('the per-block line', () => {
  it('behavior: height, txs, round, signed/total power, ms since the previous block, hash prefix', () => {
    const set = setOf({ [A]: 1000n, [B]: 1000n, [C]: 1000n });
    const fb = block(7, { signers: [A, C], timestamp: 7412, txs: [{}, {}], round: 1 });
    assert.deepEqual(blockLine(fb, set, 7000), { height: 7, txs: 2, round: 1, power: '2000/3000', ms: 412, hash: 'ab12cd34' });
    assert.equal('ms' in blockLine(fb, set, null), false);
  });
});

describe('PeerBook reachability', () => {
  it('behavior: unreachable at the third failure in a row (wasUp when it answered before), reachable at the next answer', () => {
    const calls: [string, boolean, boolean][] = [];
    const book = new PeerBook(10, { onReachability: (p, reachable, wasUp) => calls.push([p.url, reachable, wasUp]) });
    book.add('http://127.0.0.1:1', 'config');
    book.add('http://127.0.0.1:2', 'config');
    book.ok('http://127.0.0.1:1', 1);
    for (let i = 0; i < 5; i++) {
      book.failed('http://127.0.0.1:1', 10 + i, 'refused');
      book.failed('http://127.0.0.1:2', 10 + i, 'refused');
    }
    book.ok('http://127.0.0.1:1', 20);
    book.ok('http://127.0.0.1:1', 21);
    assert.deepEqual(calls, [
      ['http://127.0.0.1:1', false, true],
      ['http://127.0.0.1:2', false, false],
      ['http://127.0.0.1:1', true, true],
    ]);
  });
});

describe('BlockWatch', () => {
  function setup(held: string[] = []) {
    const { log, lines } = recordingLog();
    const metrics = createMetrics({ defaultMetrics: false });
    const state = {
      set: setOf({ [A]: 1_000_000n, [B]: 1_000_000n, [C]: 1_000_000n }),
      records: new Map([A, B, C].map((id) => [id, record(id)])) as ReadonlyMap<string, Validator>,
      epoch: 0,
    };
    const watch = new BlockWatch({ log, metrics, setAt: () => state.set, currentSet: () => state.set, records: () => state.records, epoch: () => state.epoch, heldIds: held });
    return { watch, lines, metrics, state };
  }

  it('behavior: a line per block unless quiet; missed blocks counted from the certificate the next block carries', async () => {
    const { watch, lines, metrics } = setup();
    watch.start(null);
    assert.equal(await value(metrics, 'fastpos_validator_missed_blocks_total', { validator: C }), 0);
    watch.finalized(block(1, { signers: [A, B] }), { quiet: false });
    watch.finalized(block(2, { signers: [A, B], lastSigners: [A, B] }), { quiet: true });
    watch.finalized(block(3, { signers: [A, B], lastSigners: [A, B, C] }), { quiet: false });
    watch.finalized(block(4, { signers: [A, B], lastSigners: [A, B] }), { quiet: false });
    assert.deepEqual(lines.filter((l) => l.msg === 'finalized block').map((l) => l.fields.height), [1, 3, 4]);
    assert.equal(await value(metrics, 'fastpos_validator_missed_blocks_total', { validator: C }), 2);
    assert.equal(await value(metrics, 'fastpos_validator_missed_blocks_total', { validator: A }), 0);
  });

  it('behavior: online power counts validators seen signing in the last heights; it drops when one stops and comes back when it signs', async () => {
    const { watch, metrics } = setup();
    watch.start(null);
    let h = 1;
    for (; h <= 3; h++) watch.finalized(block(h, { signers: [A, B, C], lastSigners: h > 1 ? [A, B, C] : undefined }), { quiet: true });
    assert.equal(await value(metrics, 'fastpos_validators_online_power'), 3_000_000);
    assert.equal(await value(metrics, 'fastpos_validators_total_power'), 3_000_000);
    for (; h <= 12; h++) watch.finalized(block(h, { signers: [A, B], lastSigners: [A, B] }), { quiet: true });
    assert.equal(await value(metrics, 'fastpos_validators_online_power'), 2_000_000);
    assert.deepEqual(watch.power(), { online: 2_000_000n, total: 3_000_000n });
    watch.finalized(block(h, { signers: [A, B], lastSigners: [A, B, C] }), { quiet: true });
    assert.equal(await value(metrics, 'fastpos_validators_online_power'), 3_000_000);
  });

  it('behavior: jailed gauges when a block jails a validator; power gauges follow the set', async () => {
    const { watch, metrics, state } = setup();
    watch.start(null);
    assert.equal(await value(metrics, 'fastpos_validators_jailed'), 0);
    assert.equal(await value(metrics, 'fastpos_validator_power', { validator: C }), 1_000_000);
    state.records = new Map([...state.records, [C, record(C, { status: 'jailed', jailedUntil: 150, missed: [] })], [B, record(B, { missed: [40, 41] })]]);
    watch.finalized(block(50, { signers: [A, B] }), { quiet: false });
    assert.equal(await value(metrics, 'fastpos_validators_jailed'), 1);
    assert.equal(await value(metrics, 'fastpos_validator_jailed', { validator: C }), 1);
    assert.equal(await value(metrics, 'fastpos_validator_jailed', { validator: A }), 0);
    assert.equal(await value(metrics, 'fastpos_validator_downtime_missed', { validator: B }), 2);
    // At the epoch boundary the set drops it: its power reads 0.
    state.set = setOf({ [A]: 1_000_000n, [B]: 1_000_000n }, 'set2');
    state.epoch = 1;
    watch.finalized(block(51, { signers: [A, B], lastSigners: [A, B] }), { quiet: false });
    assert.equal(await value(metrics, 'fastpos_validator_power', { validator: C }), 0);
    assert.equal(await value(metrics, 'fastpos_validators_total_power'), 2_000_000);
  });

  it('behavior: a held key without voting power warns at start and at each epoch change, with the reason', () => {
    const D = 'dd'.repeat(20);
    const { watch, lines, state } = setup([D, A]);
    watch.start(null);
    const warns = () => lines.filter((l) => l.level === 'warn' && /has no voting power/.test(l.msg));
    assert.equal(warns().length, 1);
    assert.equal(warns()[0]!.msg, `this node's validator key ${D} has no voting power in epoch 0: it will not propose or vote (not bonded)`);
    for (let h = 1; h < 5; h++) watch.finalized(block(h, { signers: [A, B, C] }), { quiet: true });
    assert.equal(warns().length, 1);
    state.epoch = 1;
    state.records = new Map([...state.records, [D, record(D, { status: 'jailed', jailedUntil: 300 })]]);
    watch.finalized(block(5, { signers: [A, B, C] }), { quiet: true });
    assert.equal(warns().length, 2);
    assert.match(warns()[1]!.msg, /in epoch 1: .*\(jailed until 300\)$/);
  });

  it('behavior: describeHeldValidators gives power, set membership, jail and the reason', () => {
    const set = setOf({ [A]: 5n });
    const records = new Map([[A, record(A)], [B, record(B, { status: 'jailed', jailedUntil: 9 })], [C, record(C, { status: 'unbonding' })]]);
    assert.deepEqual(describeHeldValidators([A, B, C], set, records), [
      { id: A, votingPower: '5', inActiveSet: true, jailed: false },
      { id: B, votingPower: '0', inActiveSet: false, jailed: true, jailedUntil: 9, reason: 'jailed until 9' },
      { id: C, votingPower: '0', inActiveSet: false, jailed: false, reason: 'unbonding: self stake below the minimum self bond' },
    ]);
  });
});
