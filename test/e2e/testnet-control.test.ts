/**
 * `fastpos testnet init|start|stop|restart|status` as a user drives them: the built CLI,
 * real node processes over loopback, the supervisor's control endpoint and the pid files.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freeLoopbackPorts } from '../../src/cli/ports.js';
import { decodeGenesis } from '../../src/state/genesis.js';
import { CLI, runCli, spawnNode } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-testnet-ctl-');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Summary {
  genesisHash: string;
  nodes: { index: number; dir: string; url: string; validatorId: string; validatorPubKey: string }[];
}
interface StatusRow {
  name: string;
  index: number;
  pid: number | null;
  state: string;
  height: number | null;
  peers: number | null;
  url: string;
  ownChain: boolean | null;
}

const FAST = {
  FASTPOS_IDLE_BLOCK_INTERVAL_MS: '200',
  FASTPOS_MIN_BLOCK_INTERVAL_MS: '10',
  FASTPOS_TIMEOUT_PROPOSE_MS: '1000',
  FASTPOS_TIMEOUT_PREVOTE_MS: '500',
  FASTPOS_TIMEOUT_PRECOMMIT_MS: '500',
};

function init(args: string[]): Summary {
  const r = runCli(['testnet', 'init', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0]!;
}

/** Runs the CLI without blocking this process (a node it talks to may run in it, or be its child to reap). */
function runCliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => p.once('close', (status) => resolve({ status, stdout, stderr })));
}

async function nodeStatus(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) });
    return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The process runs: it exists and is not a zombie (a node whose supervisor died may wait unreaped). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function statusJson(dir: string): { supervisor: { pid: number } | null; nodes: StatusRow[] } {
  const r = runCli(['testnet', 'status', '--dir', dir, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { supervisor: { pid: number } | null; nodes: StatusRow[] };
}

function startTestnet(dir: string): { proc: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  // The nodes inherit the environment: short block intervals and timeouts keep the test quick.
  const env = { ...process.env, ...FAST };
  const proc = spawn(process.execPath, [CLI, 'testnet', 'start', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, out: () => out, err: () => err, exited };
}

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('fastpos testnet: help, port checks, and a testnet driven by stop/restart/status', () => {
  it('help: testnet and each of its commands print their usage with examples on --help and -h (exit 0)', () => {
    for (const sub of [[], ['init'], ['start'], ['stop'], ['restart'], ['status']]) {
      for (const flag of ['--help', '-h']) {
        const r = runCli(['testnet', ...sub, flag]);
        assert.equal(r.status, 0, `${sub.join(' ')} ${flag}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^Usage: fastpos testnet ${sub[0] ?? '<command>'}`));
        assert.match(r.stdout, /Examples:\n {2}fastpos testnet /);
        assert.equal(r.stderr, '');
      }
    }
  });

  it('error: a mistyped command or flag gets a did-you-mean (exit 2)', () => {
    const cases: [string[], RegExp][] = [
      [['testnet', 'statsu'], /unknown testnet command "statsu" \(did you mean status\?\)/],
      [['testnet', 'restat'], /did you mean restart\?/],
      [['testnet', 'init', '--validator', '2', '--dir', join(tmp(), 'n')], /unknown flag --validator \(did you mean --validators\?\)/],
      [['testnet', 'stop', '--dri', 'x'], /did you mean --dir\?/],
      [['testnet', 'status', '--dir', 'x', '--jsno'], /did you mean --json\?/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr.split('\n')[0]!, re, args.join(' '));
    }
  });

  it('error: init refuses a taken API or p2p port in one line naming the port and the node, and writes nothing', async () => {
    const ports = await freeLoopbackPorts(4);
    const held = await hold(ports[1]!);
    try {
      const dir = join(tmp(), 'net');
      const r = runCli(['testnet', 'init', '--validators', '3', '--dir', dir, '--ports', ports.slice(0, 3).join(',')]);
      assert.equal(r.status, 1);
      assert.match(oneLine(r.stderr), new RegExp(`port ${ports[1]} \\(node1 API\\) is in use: pick --ports or stop what uses it`));
      assert.ok(!existsSync(dir), 'nothing written');
    } finally {
      held.close();
    }
    const heldP2p = await hold(ports[3]!);
    try {
      const dir = join(tmp(), 'net');
      const r = runCli(['testnet', 'init', '--validators', '1', '--dir', dir, '--ports', String(ports[0]), '--p2p-base-port', String(ports[3])]);
      assert.equal(r.status, 1);
      assert.match(oneLine(r.stderr), new RegExp(`port ${ports[3]} \\(node0 p2p\\) is in use: pick --p2p-base-port or stop what uses it`));
      assert.ok(!existsSync(dir), 'nothing written');
    } finally {
      heldP2p.close();
    }
  });

  it("error: start names a node of another chain holding a node's port, starts nothing and never claims it ready", async () => {
    const ports = await freeLoopbackPorts(2);
    const dir = join(tmp(), 'net');
    const s = init(['--validators', '2', '--dir', dir, '--ports', ports.join(',')]);
    // A leftover node of another chain, in a process of its own, holds node1's port.
    const other = join(tmp(), 'other');
    assert.equal(runCli(['init', '--data-dir', other, '--chain-id', 'other-devnet']).status, 0);
    const foreign = await spawnNode(other, ['--port', String(ports[1])]);
    children.push(foreign.proc);
    const foreignHash = String(((await (await fetch(`${foreign.url}/status`)).json()) as { genesisHash: string }).genesisHash);
    try {
      const r = await runCliAsync(['testnet', 'start', '--dir', dir]);
      assert.equal(r.status, 1);
      const line = oneLine(r.stderr);
      assert.match(line, new RegExp(`node1 at http://127\\.0\\.0\\.1:${ports[1]} answers for chain other-devnet \\(genesis ${foreignHash.slice(0, 12)}…\\)`));
      assert.match(line, new RegExp(`not this testnet's fastpos-localnet \\(genesis ${s.genesisHash.slice(0, 12)}…\\): another node holds port ${ports[1]}; stop it`));
      assert.doesNotMatch(r.stdout + r.stderr, /re-create|init --force|answers \/status/);
      assert.ok(!existsSync(join(dir, 'supervisor.json')) && !existsSync(join(dir, 'node0', 'node.pid')), 'nothing started');
      assert.equal((await fetch(`${s.nodes[0]!.url}/status`).catch(() => undefined))?.status, undefined, 'node0 not started either');
    } finally {
      await foreign.kill();
    }
  });

  it('start, status, a validator paying its own staking tx, restart of one node (new pid, chain keeps finalizing), stop of one node, stop of all', async () => {
    const ports = await freeLoopbackPorts(3);
    const dir = join(tmp(), 'net');
    const s = init(['--validators', '3', '--dir', dir, '--ports', ports.join(',')]);
    const genesis = decodeGenesis(JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')));
    for (const n of s.nodes) assert.ok(genesis.accounts.some((a) => a.address === n.validatorId && a.balance > 0n), `validator ${n.index} is funded`);

    const t = startTestnet(dir);
    const fail = (e: Error): never => {
      throw new Error(`${e.message}\n${t.out()}\n${t.err()}`);
    };
    await until('every node answers for this testnet', 30_000, () => /all 3 node\(s\) answer \/status/.test(t.out())).catch(fail);
    assert.equal(statSync(join(dir, 'supervisor.json')).mode & 0o777, 0o600);

    const st = statusJson(dir);
    assert.equal(st.supervisor?.pid, t.proc.pid);
    assert.deepEqual(st.nodes.map((n) => [n.name, n.state, n.ownChain]), [0, 1, 2].map((i) => [`node${i}`, 'running', true]));
    for (const n of st.nodes) assert.equal(Number(readFileSync(join(dir, n.name, 'node.pid'), 'utf8')), n.pid);
    const table = runCli(['testnet', 'status', '--dir', dir]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^NODE +PID +STATE +HEIGHT +PEERS +URL$/m);
    assert.match(table.stdout, new RegExp(`^node1 +${st.nodes[1]!.pid} +running +\\d+ +\\d+ +${s.nodes[1]!.url}$`, 'm'));

    // The validator's own key file pays for its own staking tx (a bond top-up; unjail is signed the same way).
    const n0 = s.nodes[0]!;
    const tx = runCli(['tx', 'validator_bond', '--pub-key', n0.validatorPubKey, '--amount', '1000', '--key-file', join(n0.dir, 'validator_key.json'), '--node', n0.url, '--wait']);
    assert.equal(tx.status, 0, tx.stderr);
    const sent = JSON.parse(tx.stdout) as { status: string; success: boolean; tx: { from: string } };
    assert.equal(sent.status, 'finalized');
    assert.equal(sent.success, true);
    assert.equal(sent.tx.from, n0.validatorId);

    // Restart node1 under the supervisor: a new process on the same data dir; the chain keeps finalizing.
    const oldPid = st.nodes[1]!.pid!;
    const r = runCli(['testnet', 'restart', '--dir', dir, '--node', '1']);
    assert.equal(r.status, 0, r.stderr);
    const newPid = Number(/^node1 restarted: pid (\d+) \(running\)$/m.exec(r.stdout)?.[1]);
    assert.ok(newPid > 0 && newPid !== oldPid, r.stdout);
    assert.ok(!alive(oldPid), 'the old process is gone');
    assert.equal(Number(readFileSync(join(dir, 'node1', 'node.pid'), 'utf8')), newPid);
    const heights = (): Promise<number[]> => Promise.all(s.nodes.map(async (n) => Number((await nodeStatus(n.url))?.latestHeight ?? 0)));
    const h0 = Math.max(...(await heights()));
    await until('every node finalizes 2 more blocks after the restart', 30_000, async () => (await heights()).every((h) => h >= h0 + 2)).catch(fail);
    const afterRestart = statusJson(dir).nodes[1]!;
    assert.equal(afterRestart.state, 'running');
    assert.equal(afterRestart.pid, newPid);
    assert.doesNotMatch(t.err(), /exited on its own/);

    // Stop node2 only: the supervisor keeps it stopped (not crashed) and stays up; restart brings it back.
    const pid2 = st.nodes[2]!.pid!;
    const stop2 = runCli(['testnet', 'stop', '--dir', dir, '--node', '2']);
    assert.equal(stop2.status, 0, stop2.stderr);
    assert.ok(!alive(pid2));
    const stopped = statusJson(dir).nodes[2]!;
    assert.deepEqual([stopped.state, stopped.pid], ['stopped', null]);
    assert.ok(!existsSync(join(dir, 'node2', 'node.pid')));
    assert.equal(t.proc.exitCode, null, 'the supervisor keeps running');
    assert.equal(runCli(['testnet', 'restart', '--dir', dir, '--node', '2']).status, 0);
    assert.equal(statusJson(dir).nodes[2]!.state, 'running');

    // One supervisor per testnet; init --force does not replace a running testnet.
    const second = await runCliAsync(['testnet', 'start', '--dir', dir]);
    assert.equal(second.status, 1);
    assert.match(oneLine(second.stderr), new RegExp(`a supervisor \\(pid ${t.proc.pid}\\) already runs the testnet in `));
    const force = runCli(['testnet', 'init', '--validators', '3', '--dir', dir, '--force', '--no-port-check']);
    assert.equal(force.status, 1);
    assert.match(oneLine(force.stderr), /is running \(supervisor pid \d+\)/);
    assert.ok(existsSync(join(dir, 'node0', 'validator_key.json')), 'nothing replaced');

    // Stop everything.
    const pids = statusJson(dir).nodes.map((n) => n.pid!);
    const stopAll = await runCliAsync(['testnet', 'stop', '--dir', dir]);
    assert.equal(stopAll.status, 0, stopAll.stderr);
    assert.equal(await t.exited, 0, `${t.out()}\n${t.err()}`);
    assert.ok(pids.every((p) => !alive(p)), 'every node process is gone');
    assert.ok(!existsSync(join(dir, 'supervisor.json')));
    for (const n of s.nodes) assert.ok(!existsSync(join(n.dir, 'node.pid')));
    const none = runCli(['testnet', 'status', '--dir', dir]);
    assert.equal(none.status, 1);
    assert.match(oneLine(none.stderr), /no testnet is running in .* \(no supervisor\.json, no live node pids\)/);
  });

  it('without a supervisor: status and stop work from the pid files; restart says it needs one; stale files are cleaned', async () => {
    const ports = await freeLoopbackPorts(2);
    const dir = join(tmp(), 'net');
    init(['--validators', '2', '--dir', dir, '--ports', ports.join(',')]);
    const t = startTestnet(dir);
    await until('both nodes answer', 30_000, () => /all 2 node\(s\) answer \/status/.test(t.out()));
    const pids = statusJson(dir).nodes.map((n) => n.pid!);
    t.proc.kill('SIGKILL'); // the supervisor dies; its nodes (own process group) live on
    await t.exited;
    assert.ok(pids.every(alive));

    const st = statusJson(dir);
    assert.equal(st.supervisor, null);
    assert.deepEqual(st.nodes.map((n) => [n.state, n.pid]), pids.map((p) => ['running', p]));
    assert.ok(!existsSync(join(dir, 'supervisor.json')), 'the stale supervisor.json is removed');
    const re = runCli(['testnet', 'restart', '--dir', dir, '--node', '0']);
    assert.equal(re.status, 1);
    assert.match(oneLine(re.stderr), /no supervisor runs the testnet/);

    const stop = runCli(['testnet', 'stop', '--dir', dir]);
    assert.equal(stop.status, 0, stop.stderr);
    assert.ok(pids.every((p) => !alive(p)));

    // A pid file naming a live process that is not this node (this test runner) is stale: never signalled, removed.
    writeFileSync(join(dir, 'node0', 'node.pid'), `${process.pid}\n`);
    const none = runCli(['testnet', 'stop', '--dir', dir]);
    assert.equal(none.status, 1);
    assert.match(oneLine(none.stderr), /no testnet is running in /);
    assert.ok(!existsSync(join(dir, 'node0', 'node.pid')));
  });
});
