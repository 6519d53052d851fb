import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeLoopbackPorts } from '../../src/cli/ports.js';
import { loadConfig } from '../../src/config/index.js';
import { devAccount } from '../../src/crypto/keys.js';
import { parse as parseYaml } from 'yaml';
import { decodeGenesis, genesisHash } from '../../src/state/genesis.js';
import { CLI, runCli } from '../helpers/proc.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'fastpos-testnet-'));
  dirs.push(d);
  return d;
}
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

interface Summary {
  dir: string;
  chainId: string;
  genesisHash: string;
  validators: number;
  governance: string[];
  nodes: { index: number; dir: string; url: string; port: number; peers: string[]; validatorId: string; validatorPubKey: string; adminToken: string; p2pPort?: number; p2pUrl?: string }[];
}

function init(args: string[]): Summary {
  const r = runCli(['testnet', 'init', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

async function status(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls until every URL answers /status (at most `ms`). */
async function waitForAll(urls: string[], ms: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const all = await Promise.all(urls.map(status));
    if (all.every((s) => s !== undefined)) return all as Record<string, unknown>[];
    if (Date.now() > deadline) throw new Error(`not every node answered /status within ${ms} ms: ${all.map((s) => s !== undefined).join(',')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

interface Started {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  pids: () => number[];
}

function startTestnet(dir: string): Started {
  const proc = spawn(process.execPath, [CLI, 'testnet', 'start', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    out: () => out,
    err: () => err,
    exited,
    pids: () => [...out.matchAll(/^node\d+ +\S+ +pid (\d+)/gm)].map((m) => Number(m[1])),
  };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

describe('fastpos testnet (built CLI, child processes)', () => {
  it('init writes a genesis and one folder per node: own key (0600), genesis copy, config with its port and the other peers', () => {
    const dir = join(tmp(), 'net');
    // Fixed ports, only written here (never bound): the check that they are free is skipped.
    const s = init(['--validators', '3', '--dir', dir, '--base-port', '41000', '--no-port-check']);
    assert.equal(s.dir, dir);
    assert.equal(s.chainId, 'fastpos-localnet');
    assert.equal(s.validators, 3);
    assert.equal(s.nodes.length, 3);
    assert.ok(!existsSync(join(dir, 'validator_key.json')), 'no validator key outside the node folders');

    const rootGenesis = readFileSync(join(dir, 'genesis.json'), 'utf8');
    const genesis = decodeGenesis(JSON.parse(rootGenesis));
    assert.equal(genesisHash(genesis), s.genesisHash);
    assert.equal(genesis.chainId, 'fastpos-localnet');
    assert.equal(genesis.validators.length, 3);
    for (const v of genesis.validators) {
      assert.equal(v.stake, 1_000_000n);
      assert.equal(v.workWeight, 10_000);
    }
    assert.deepEqual(genesis.params.governance, [devAccount(0).address]);
    for (let i = 0; i < 10; i++) assert.ok(genesis.accounts.some((a) => a.address === devAccount(i).address && a.balance > 0n), `dev account ${i} funded`);

    const urls = [0, 1, 2].map((i) => `http://127.0.0.1:${41000 + i}`);
    const tokens = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const nodeDir = join(dir, `node${i}`);
      assert.equal(s.nodes[i]!.dir, nodeDir);
      assert.equal(s.nodes[i]!.url, urls[i]);
      assert.equal(readFileSync(join(nodeDir, 'genesis.json'), 'utf8'), rootGenesis, 'genesis identical on every node');

      const keyFile = join(nodeDir, 'validator_key.json');
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      assert.equal(statSync(join(nodeDir, 'config.yaml')).mode & 0o777, 0o600);
      const key = JSON.parse(readFileSync(keyFile, 'utf8')) as { publicKey: string; address: string };
      assert.equal(key.publicKey, genesis.validators[i]!.pubKey, `node${i} holds validator ${i}`);
      assert.equal(key.address, s.nodes[i]!.validatorId);

      const { config } = loadConfig({ argv: ['--config', join(nodeDir, 'config.yaml')], env: {} });
      assert.equal(config.dataDir, nodeDir);
      assert.equal(config.host, '127.0.0.1');
      assert.equal(config.port, 41000 + i);
      assert.equal(config.logLevel, 'info');
      assert.deepEqual(config.peers?.split(','), urls.filter((_, j) => j !== i), `node${i} peers: every other node, not itself`);
      assert.ok(config.adminToken !== undefined && config.adminToken.length >= 16);
      assert.equal(config.adminToken, s.nodes[i]!.adminToken);
      tokens.add(config.adminToken);
    }
    assert.equal(tokens.size, 3, 'a distinct admin token per node');
  });

  it('init --peer-host-template: peers by container name, every node on 0.0.0.0 and the same port; start refuses that layout here', () => {
    const dir = join(tmp(), 'compose');
    const s = init(['--validators', '4', '--dir', dir, '--host', '0.0.0.0', '--peer-host-template', 'node{i}']);
    for (let i = 0; i < 4; i++) {
      const { config } = loadConfig({ argv: ['--config', join(dir, `node${i}`, 'config.yaml')], env: {} });
      assert.equal(config.host, '0.0.0.0');
      assert.equal(config.port, 26657);
      assert.deepEqual(config.peers?.split(','), [0, 1, 2, 3].filter((j) => j !== i).map((j) => `http://node${j}:26657`));
      assert.equal(s.nodes[i]!.url, `http://node${i}:26657`);
      assert.equal(config.peerDiscoveryIntervalMs, 0, 'a node cannot recognize its own container name: no discovery');
    }
    const r = runCli(['testnet', 'start', '--dir', dir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /peer-host-template/);
  });

  it('error: a chain id that is not a devnet/localnet id is refused (the dev keys are public)', () => {
    const dir = join(tmp(), 'net');
    const r = runCli(['testnet', 'init', '--validators', '2', '--dir', dir, '--chain-id', 'acme-mainnet']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /acme-mainnet/);
    assert.match(r.stderr, /devnet|localnet/);
    assert.ok(!existsSync(dir), 'nothing written');
    init(['--validators', '1', '--dir', dir, '--chain-id', 'acme-devnet']);
  });

  it('error: an existing non-empty dir is refused without --force; --force replaces the testnet', () => {
    const dir = join(tmp(), 'net');
    const first = init(['--validators', '3', '--dir', dir]);
    const again = runCli(['testnet', 'init', '--validators', '2', '--dir', dir]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /--force/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')).validators.length, 3, 'untouched');
    writeFileSync(join(dir, 'node2', 'chain.sqlite'), 'old chain data');
    const second = init(['--validators', '2', '--dir', dir, '--force']);
    assert.notEqual(second.genesisHash, first.genesisHash);
    assert.ok(existsSync(join(dir, 'node1')));
    assert.ok(!existsSync(join(dir, 'node2')), 'the old nodes are gone');
    // An existing empty folder is fine.
    const empty = join(tmp(), 'empty');
    mkdirSync(empty);
    init(['--validators', '1', '--dir', empty]);
  });

  it('error: bad flags exit 2 with a message naming them', () => {
    const dir = join(tmp(), 'net');
    const cases: [string[], RegExp][] = [
      [['--dir', dir], /--validators/],
      [['--validators', '0', '--dir', dir], /--validators/],
      [['--validators', 'three', '--dir', dir], /--validators/],
      [['--validators', '2'], /--dir/],
      [['--validators', '2', '--dir', dir, '--base-port', '65535'], /65535/],
      [['--validators', '2', '--dir', dir, '--ports', '40000'], /--ports/],
      [['--validators', '2', '--dir', dir, '--peer-host-template', 'node'], /\{i\}/],
      [['--validators', '2', '--dir', dir, '--frobnicate'], /frobnicate/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(['testnet', 'init', ...args]);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
    assert.equal(runCli(['testnet']).status, 2);
    assert.equal(runCli(['testnet', 'frob']).status, 2);
    const r = runCli(['testnet', 'start', '--dir', join(tmp(), 'nothing-here')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /testnet init/);
  });

  it('start runs every node as a process answering /status with the same genesis, and stops them all on SIGINT (exit 0)', async () => {
    const dir = join(tmp(), 'net');
    const ports = await freeLoopbackPorts(3);
    const s = init(['--validators', '3', '--dir', dir, '--ports', ports.join(',')]);
    const t = startTestnet(dir);
    const statuses = await waitForAll(
      s.nodes.map((n) => n.url),
      30_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${t.out()}\n${t.err()}`);
    });
    for (const st of statuses) {
      assert.equal(st.genesisHash, s.genesisHash);
      assert.equal(st.chainId, 'fastpos-localnet');
    }
    assert.deepEqual(new Set(statuses.map((st) => st.nodeId)), new Set(s.nodes.map((n) => n.validatorId)), 'one process per validator');
    for (const n of s.nodes) assert.ok(t.out().includes(n.url), `start prints ${n.url}`);
    const pids = t.pids();
    assert.equal(pids.length, 3, t.out());
    assert.ok(pids.every(alive));

    t.proc.kill('SIGINT');
    const code = await within(t.exited, 30_000, 'testnet start exits after SIGINT');
    assert.equal(code, 0, `${t.out()}\n${t.err()}`);
    assert.ok(pids.every((p) => !alive(p)), 'every node process is gone');
    for (const n of s.nodes) {
      const logText = readFileSync(join(n.dir, 'node.log'), 'utf8');
      assert.match(logText, /API listening/);
      assert.match(logText, /node stopped/);
    }
    assert.equal((await Promise.all(s.nodes.map((n) => status(n.url)))).filter((x) => x !== undefined).length, 0, 'nobody answers any more');
  });

  it('init --p2p-base-port: the validators talk on listeners of their own and the network finalizes', async () => {
    const dir = join(tmp(), 'net');
    const ports = await freeLoopbackPorts(6);
    const s = init(['--validators', '3', '--dir', dir, '--ports', ports.slice(0, 3).join(','), '--p2p-base-port', String(ports[3])]);
    for (const [i, n] of s.nodes.entries()) {
      assert.equal(n.p2pPort, ports[3]! + i);
      const config = parseYaml(readFileSync(join(n.dir, 'config.yaml'), 'utf8')) as { p2pPort?: number; peers?: string };
      assert.equal(config.p2pPort, ports[3]! + i);
      assert.deepEqual(config.peers?.split(','), s.nodes.filter((_, j) => j !== i).map((m) => m.p2pUrl));
    }
    const t = startTestnet(dir);
    try {
      await waitForAll(s.nodes.map((n) => n.url), 30_000);
      const deadline = Date.now() + 30_000;
      let h = 0;
      while (h < 3 && Date.now() < deadline) {
        h = Math.min(...(await Promise.all(s.nodes.map(async (n) => Number((await status(n.url))?.latestHeight ?? 0)))));
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(h >= 3, `every node finalized height 3 (lowest: ${h})\n${t.out()}`);
      // The validator network's port serves its routes only.
      const p2p = await fetch(`${s.nodes[0]!.p2pUrl}/sync/status`);
      assert.equal(p2p.status, 200);
      assert.equal((await fetch(`${s.nodes[0]!.p2pUrl}/status`)).status, 404);
    } finally {
      t.proc.kill('SIGINT');
      await within(t.exited, 30_000, 'testnet start exits after SIGINT');
    }
  });

  it('start reports a node that exits on its own, keeps the others running, and exits 1 after SIGINT', async () => {
    const dir = join(tmp(), 'net');
    const ports = await freeLoopbackPorts(3);
    const s = init(['--validators', '3', '--dir', dir, '--ports', ports.join(',')]);
    const t = startTestnet(dir);
    await waitForAll(
      s.nodes.map((n) => n.url),
      30_000,
    );
    const pids = t.pids();
    assert.equal(pids.length, 3, t.out());
    process.kill(pids[1]!, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (!/node1 exited on its own/.test(t.err()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(t.err(), /node1 exited on its own \(signal SIGKILL\)/);
    assert.ok(t.proc.exitCode === null, 'testnet start keeps running');
    assert.ok((await status(s.nodes[0]!.url)) !== undefined && (await status(s.nodes[2]!.url)) !== undefined, 'the others still answer');

    t.proc.kill('SIGINT');
    const code = await within(t.exited, 30_000, 'testnet start exits after SIGINT');
    assert.equal(code, 1, 'a node failed during the run');
    assert.ok(pids.every((p) => !alive(p)));
  });
});
