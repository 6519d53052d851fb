/**
 * The CLI's errors, each one line with how to fix it and no stack trace:
 * an unreachable node, a port in use, a mistyped data dir (and the --init and
 * --genesis-file rules), a --wait on a halted chain. Real child processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { devAccount } from '../../src/crypto/keys.js';
import { defaultDevnetGenesis, encodeGenesis } from '../../src/state/genesis.js';
import { CLI, runCli, spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-cli-errors-');
const NO_STACK = /^\s+at /m;

/** A loopback port nobody listens on (the OS gave it, then it was closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, NO_STACK);
  return lines[0]!;
}

describe('CLI errors: one line, no stack trace', () => {
  it('error: an unreachable node (--node, FASTPOS_NODE) says so with the hint; exit 1', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const hint = `fastpos: cannot reach ${url}: is the node running? (--node or FASTPOS_NODE)`;
    for (const args of [['status', '--node', url], ['account', devAccount(0).address, '--node', url], ['validators', '--node', url]]) {
      const r = runCli(args);
      assert.equal(r.status, 1);
      assert.equal(oneLine(r.stderr), hint);
    }
    const viaEnv = runCli(['tx', 'transfer', '--dev-account', '0', '--to', devAccount(1).address, '--amount', '1', '--wait'], { FASTPOS_NODE: url });
    assert.equal(viaEnv.status, 1);
    assert.equal(oneLine(viaEnv.stderr), hint);
    const dry = runCli(['tx', 'transfer', '--dev-account', '0', '--to', devAccount(1).address, '--amount', '1', '--dry-run', '--node', url]);
    assert.equal(dry.status, 1);
    assert.match(oneLine(dry.stderr), /cannot reach .*; or sign offline: --dry-run with --nonce N, --fee N and --chain-id ID$/);
    const verbose = runCli(['status', '--node', url, '--verbose']);
    assert.equal(verbose.status, 1);
    assert.match(verbose.stderr, /^fastpos: cannot reach /);
    assert.match(verbose.stderr, NO_STACK, '--verbose shows the stack');
  });

  it('error: a second node on a port in use: one line, exit 1', async () => {
    const first = await spawnNode(tmp());
    try {
      const port = new URL(first.url).port;
      const r = runCli(['start', '--data-dir', tmp(), '--init', '--port', port, '--log-level', 'warn']);
      assert.equal(r.status, 1);
      assert.equal(oneLine(r.stderr), `fastpos: port ${port} is in use: another node? use --port`);
    } finally {
      await first.kill();
    }
  });

  it('error: a data dir that does not exist or holds no chain is refused (exit 2) unless --init; the default dir and a dir with --genesis-file are not', async () => {
    const cwd = tmp();
    const missing = runCli(['start', '--data-dir', join(cwd, 'mychian'), '--port', '0']);
    assert.equal(missing.status, 2);
    const line = oneLine(missing.stderr);
    assert.match(line, /^fastpos: data dir .*mychian does not exist \(typo\?\): create a chain there with `fastpos init --data-dir .*mychian`, or pass --init to start a fresh devnet there$/);
    const empty = runCli(['start', '--data-dir', tmp(), '--port', '0']);
    assert.equal(empty.status, 2);
    assert.match(oneLine(empty.stderr), /holds no chain \(typo\?\)/);
    // --init: a fresh devnet in a new folder.
    const fresh = await spawnNode(join(tmp(), 'new-chain'));
    await fresh.kill();
    // A node joining a network with its genesis file: a new dir is deliberate.
    const g = join(tmp(), 'genesis.json');
    writeFileSync(g, JSON.stringify(encodeGenesis(defaultDevnetGenesis())));
    assert.equal(await startWithoutInit(['--data-dir', join(tmp(), 'joining'), '--genesis-file', g]), 0);
    // The default dir (./.fastpos in the working directory) needs no --init.
    assert.equal(await startWithoutInit([], cwd), 0);
    assert.ok(existsSync(join(cwd, '.fastpos', 'chain.sqlite')), 'the devnet chain is in ./.fastpos');
  });

  it('error: --wait on a halted chain prints the id at once, then one line: still pending and the chain is not moving; exit 1', async () => {
    const token = 'cli-errors-admin-token-0123456789';
    const node = await spawnNode(tmp(), ['--admin-token', token]);
    try {
      const res = await fetch(`${node.url}/admin/production/pause`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 200, await res.text());
      const r = runCli(['tx', 'transfer', '--dev-account', '0', '--to', devAccount(1).address, '--amount', '1', '--wait', '--timeout-ms', '3000', '--node', node.url]);
      assert.equal(r.status, 1, r.stdout);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, NO_STACK);
      const lines = r.stderr.trimEnd().split('\n');
      const id = /^submitted ([0-9a-f]{64}), waiting for finality/.exec(lines[0]!)?.[1];
      assert.ok(id !== undefined, `the first line says the id: ${lines[0]}`);
      assert.match(lines.at(-1)!, new RegExp(`^fastpos: tx ${id} is still pending after \\d+ s; no block finalized in the last \\d+ s: the chain is halted at height \\d+: check it later with \`fastpos tx-status ${id}\`$`));
      assert.ok(lines.slice(1, -1).every((l) => /^ {2}height \d+, tx pending$/.test(l)), lines.join('\n'));
    } finally {
      await node.kill();
    }
  });
});

/** `fastpos start` without --init (spawnNode passes it) until its API listens; then SIGTERM, and its exit code. */
async function startWithoutInit(args: string[], cwd?: string): Promise<number | null> {
  const proc = spawn(process.execPath, [CLI, 'start', '--port', '0', '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 20_000);
    void exited.then(() => resolve(false));
    createInterface({ input: proc.stdout }).on('line', (l) => {
      if (l.includes('"msg":"API listening"')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  if (proc.exitCode === null) proc.kill(listening ? 'SIGTERM' : 'SIGKILL');
  assert.ok(listening, `the node did not start:\n${stderr}`);
  return exited;
}
