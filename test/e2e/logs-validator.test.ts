/**
 * The node's log lines as an operator meets them, from real `fastpos start`
 * processes: JSON lines when standard output is not a terminal (auto), pretty
 * one-line text with --log-format pretty, a line per finalized block; a node
 * whose validator key has no voting power warns at start and says so in
 * /status, and a chain that cannot finalize warns that it stalled.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { generateKeyPair } from '../../src/client/keygen.js';
import { addressFromPubKey } from '../../src/crypto/keys.js';
import { saveKeyFile } from '../../src/node/keyFile.js';
import { waitUntil } from '../helpers/network.js';
import { CLI, spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-logs-');

function parsed(logs: readonly string[], msg: string | RegExp): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of logs) {
    try {
      const j = JSON.parse(l) as Record<string, unknown>;
      if (typeof msg === 'string' ? j.msg === msg : msg.test(String(j.msg))) out.push(j);
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

describe('log lines of a running node', { timeout: 90_000 }, () => {
  it('behavior: auto without a terminal writes JSON lines, one "finalized block" line per block at info', async () => {
    const node = await spawnNode(join(tmp(), 'd'), ['--idle-block-interval-ms', '100']);
    try {
      await waitUntil(() => parsed(node.logs, 'finalized block').length >= 3, 30_000, 'three finalized block lines');
      const lines = parsed(node.logs, 'finalized block');
      const heights = lines.map((l) => l.height as number);
      assert.deepEqual(heights, [...heights].sort((a, b) => a - b));
      assert.equal(new Set(heights).size, heights.length, 'one line per block');
      const l = lines.at(-1)!;
      assert.equal(l.level, 30);
      assert.equal(l.txs, 0);
      assert.equal(l.round, 0);
      assert.match(String(l.power), /^(\d+)\/\1$/, 'the devnet node signs with all the power');
      assert.match(String(l.hash), /^[0-9a-f]{8}$/);
      assert.equal(typeof l.ms, 'number');
      // Every line of stdout is JSON.
      for (const line of node.logs.filter((x) => x.startsWith('{'))) JSON.parse(line);
    } finally {
      await node.kill();
    }
  });

  it('behavior: --log-format pretty writes one readable line per event, not JSON', async () => {
    const proc = spawn(process.execPath, [CLI, 'start', '--init', '--data-dir', join(tmp(), 'd'), '--port', '0', '--log-format', 'pretty', '--idle-block-interval-ms', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    createInterface({ input: proc.stdout! }).on('line', (l) => lines.push(l));
    createInterface({ input: proc.stderr! }).on('line', (l) => lines.push(l));
    const exited = new Promise((r) => proc.once('exit', r));
    try {
      const block = await waitUntil(() => lines.find((l) => l.includes('finalized block') && l.includes('height=2 ')), 30_000, 'a pretty block line');
      assert.match(block, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: finalized block {2}height=2 txs=0 round=0 power=\d+\/\d+ ms=\d+ hash=[0-9a-f]{8}$/);
      assert.ok(lines.some((l) => /INFO: API listening {2}url=http:\/\/127\.0\.0\.1:\d+$/.test(l)), lines.join('\n'));
      assert.ok(!lines.some((l) => l.startsWith('{')), 'no JSON lines');
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });

  it('behavior: a validator key with no voting power warns at start, /status says so, and the stalled chain warns', async () => {
    const dir = tmp();
    const key = generateKeyPair();
    const id = addressFromPubKey(key.publicKey);
    const keyFile = join(dir, 'stray_key.json');
    saveKeyFile(keyFile, key.privateKey);
    // The built-in devnet, whose only validator is a dev key this node does not hold: no block can be finalized.
    const node = await spawnNode(join(dir, 'd'), ['--validator-key-file', keyFile, '--stall-warn-ms', '1000']);
    try {
      const warn = parsed(node.logs, `this node's validator key ${id} has no voting power in epoch 0: it will not propose or vote (not bonded)`);
      assert.equal(warn.length, 1, node.logs.join('\n'));
      assert.equal(warn[0]!.level, 40);
      assert.equal(warn[0]!.validator, id);
      const st = (await (await fetch(`${node.url}/status`)).json()) as { validators: unknown; latestHeight: number; chainId: string };
      assert.deepEqual(st.validators, [{ id, votingPower: '0', inActiveSet: false, jailed: false, reason: 'not bonded' }]);
      assert.equal(st.chainId, 'fastpos-devnet', 'existing fields stay');
      const stall = await waitUntil(() => parsed(node.logs, /^no block finalized for \d+ s$/)[0], 30_000, 'a stall warning');
      assert.equal(stall.level, 40);
      assert.equal(stall.height, 0);
      assert.equal(stall.online, '0/1000000');
    } finally {
      await node.kill();
    }
  });

  it('behavior: a devnet node holding its validator keys lists them with their power in /status', async () => {
    const node = await spawnNode(join(tmp(), 'd'));
    try {
      const st = (await (await fetch(`${node.url}/status`)).json()) as { validators: { id: string; votingPower: string; inActiveSet: boolean; jailed: boolean }[] };
      assert.equal(st.validators.length, 1);
      assert.deepEqual({ ...st.validators[0], id: undefined }, { id: undefined, votingPower: '1000000', inActiveSet: true, jailed: false });
      assert.equal(parsed(node.logs, 'node started')[0]?.validators instanceof Array, true);
      assert.ok(!node.logs.some((l) => l.includes('has no voting power')));
    } finally {
      await node.kill();
    }
  });
});
