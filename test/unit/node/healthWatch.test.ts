/**
 * HealthWatch on an injected clock: a stall warns after stallWarnMs and again
 * each stallWarnMs while it lasts, then one line when blocks come again;
 * falling behind warns once per episode; peers lost and back; the sync lag.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Log } from '../../../src/node/context.js';
import { HealthWatch, PEER_HEIGHT_TTL_MS } from '../../../src/node/healthWatch.js';

interface Logged {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function recordingLog(): { log: Log; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: string) => (fields: Record<string, unknown> | string, msg?: string) => {
    lines.push(typeof fields === 'string' ? { level, msg: fields, fields: {} } : { level, msg: msg ?? '', fields });
  };
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal') } as never, lines };
}

function setup(opts: { stallWarnMs?: number; behindWarnBlocks?: number } = {}) {
  const { log, lines } = recordingLog();
  const state = { now: 1_000_000, height: 10, syncing: false };
  const watch = new HealthWatch({
    clock: { now: () => state.now },
    log,
    stallWarnMs: opts.stallWarnMs ?? 30_000,
    behindWarnBlocks: opts.behindWarnBlocks ?? 10,
    height: () => state.height,
    consensus: () => ({ height: state.height + 1, round: 3, step: 'prevote' }),
    power: () => ({ online: 2_000_000n, total: 3_000_000n }),
    peers: () => ({ connected: 1, known: 3 }),
    syncing: () => state.syncing,
  });
  const warns = (msg: RegExp | string) => lines.filter((l) => l.level === 'warn' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  return { watch, lines, state, warns };
}

describe('HealthWatch', () => {
  it('behavior: no warn before stallWarnMs, a warn at it with height, round, step and online power, repeated every stallWarnMs', () => {
    const { watch, state, warns, lines } = setup();
    state.now += 29_999;
    watch.tick();
    assert.equal(warns(/no block finalized/).length, 0);
    state.now += 1;
    watch.tick();
    const [w] = warns(/no block finalized/);
    assert.ok(w !== undefined);
    assert.equal(w.msg, 'no block finalized for 30 s');
    assert.deepEqual(
      { height: w.fields.height, consensusHeight: w.fields.consensusHeight, round: w.fields.round, step: w.fields.step, online: w.fields.online, peers: w.fields.peers },
      { height: 10, consensusHeight: 11, round: 3, step: 'prevote', online: '2000000/3000000', peers: '1/3' },
    );
    // Ticks in between say nothing more; the next warn comes stallWarnMs later.
    for (let i = 0; i < 29; i++) {
      state.now += 1000;
      watch.tick();
    }
    assert.equal(warns(/no block finalized/).length, 1);
    state.now += 1000;
    watch.tick();
    assert.equal(warns(/no block finalized/).length, 2);
    assert.equal(warns(/no block finalized/)[1]!.msg, 'no block finalized for 60 s');
    // Blocks again: one info line, and the clock starts over.
    state.height = 11;
    watch.finalized(11);
    const again = lines.filter((l) => l.msg === 'blocks are being finalized again');
    assert.equal(again.length, 1);
    assert.equal(again[0]!.fields.height, 11);
    state.now += 29_000;
    watch.tick();
    assert.equal(warns(/no block finalized/).length, 2);
  });

  it('behavior: blocks finalized in time never warn; no "again" line without a stall', () => {
    const { watch, state, lines } = setup({ stallWarnMs: 5000 });
    for (let h = 11; h < 100; h++) {
      state.now += 4000;
      watch.tick();
      state.height = h;
      watch.finalized(h);
    }
    assert.deepEqual(lines, []);
  });

  it('behavior: stallWarnMs 0 never warns; a running sync is not a stall', () => {
    const off = setup({ stallWarnMs: 0 });
    off.state.now += 10_000_000;
    off.watch.tick();
    assert.deepEqual(off.lines, []);
    const syncing = setup({ stallWarnMs: 10_000 });
    syncing.state.syncing = true;
    for (let i = 0; i < 100; i++) {
      syncing.state.now += 1000;
      syncing.watch.tick();
    }
    assert.equal(syncing.warns(/no block finalized/).length, 0);
  });

  it('behavior: "node is behind" once per episode, with ours and theirs; again after catching up and falling behind anew', () => {
    const { watch, state, warns, lines } = setup({ behindWarnBlocks: 10 });
    watch.peerHeight('http://a', 19);
    assert.equal(warns('node is behind').length, 0);
    watch.peerHeight('http://a', 20);
    watch.peerHeight('http://b', 25);
    watch.peerHeight('http://a', 30);
    const w = warns('node is behind');
    assert.equal(w.length, 1);
    assert.deepEqual({ ours: w[0]!.fields.ours, theirs: w[0]!.fields.theirs, peer: w[0]!.fields.peer }, { ours: 10, theirs: 20, peer: 'http://a' });
    assert.equal(watch.syncLag(), 20);
    // Catching up ends the episode.
    state.height = 30;
    watch.finalized(30);
    assert.equal(watch.syncLag(), 0);
    assert.equal(lines.filter((l) => l.msg === 'node caught up with its peers').length, 1);
    watch.peerHeight('http://a', 45);
    assert.equal(warns('node is behind').length, 2);
  });

  it('behavior: the sync lag is 0 when no peer is ahead, and forgets heights older than the TTL', () => {
    const { watch, state } = setup({ behindWarnBlocks: 0 });
    assert.equal(watch.syncLag(), 0);
    watch.peerHeight('http://a', 8);
    assert.equal(watch.syncLag(), 0);
    watch.peerHeight('http://a', 14);
    assert.equal(watch.syncLag(), 4);
    state.now += PEER_HEIGHT_TTL_MS + 1;
    assert.equal(watch.syncLag(), 0);
  });

  it('behavior: a peer that answered before and then fails is lost (warn once), and back (warn) when it answers', () => {
    const { watch, warns, lines } = setup();
    watch.peerDown('http://a', { nodeId: 'n1', wasUp: true, error: 'connect ECONNREFUSED' });
    watch.peerDown('http://a', { nodeId: 'n1', wasUp: true, error: 'connect ECONNREFUSED' });
    const lost = warns('peer lost');
    assert.equal(lost.length, 1);
    assert.deepEqual({ peer: lost[0]!.fields.peer, nodeId: lost[0]!.fields.nodeId }, { peer: 'http://a', nodeId: 'n1' });
    assert.deepEqual(watch.lostPeers(), ['http://a']);
    watch.peerUp('http://a', 'n1');
    watch.peerUp('http://a', 'n1');
    assert.equal(warns('peer back').length, 1);
    assert.deepEqual(watch.lostPeers(), []);
    // A peer never reached is not "lost" (a debug line only), and its first answer is not "back".
    watch.peerDown('http://b', { nodeId: null, wasUp: false, error: 'connect ECONNREFUSED' });
    watch.peerUp('http://b', null);
    assert.equal(warns(/peer/).length, 2);
    assert.ok(lines.some((l) => l.level === 'debug' && l.fields.peer === 'http://b'));
  });

  it('behavior: a peer dropped from the book is lost (once, even if it was lost already)', () => {
    const { watch, warns } = setup();
    watch.peerDropped('http://c', 'it did not answer for 60000 ms');
    assert.equal(warns('peer lost').length, 1);
    assert.equal(warns('peer lost')[0]!.fields.reason, 'it did not answer for 60000 ms');
    watch.peerDown('http://d', { nodeId: null, wasUp: true, error: 'x' });
    watch.peerDropped('http://d', 'evicted');
    assert.equal(warns('peer lost').length, 2);
  });
});
