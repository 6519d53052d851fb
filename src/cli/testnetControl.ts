/**
 * `fastpos testnet stop|restart|status --dir DIR [--node N]`: drive a running
 * testnet. With a live supervisor (DIR/supervisor.json names it) the commands
 * go to its control endpoint; without one (it died), they fall back to the
 * nodes' pid files, checking that each pid is alive and is that node's
 * fastpos process before signalling it. Stale files are removed. Every wait
 * is bounded.
 * @module
 */
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { CliError, parseFlags } from './args.js';
import {
  SUPERVISOR_FILE,
  findNodes,
  getStatus,
  intFlag,
  isAlive,
  isNodeProcess,
  isSupervisorProcess,
  readPid,
  readSupervisorFile,
  removeFile,
  sleep,
  testnetGenesis,
  type NodeEntry,
  type SupervisedNode,
  type SupervisorInfo,
  type UsageErrorFactory,
} from './testnetShared.js';

const CONTROL_TIMEOUT_MS = 30_000;
/** How long `stop` waits for processes to end (the supervisor's own grace is 10 s). */
const STOP_WAIT_MS = 20_000;

const example = (sub: string, extra = ''): string => `  fastpos testnet ${sub} --dir ./testnet${extra}`;

export const STOP_USAGE = `Usage: fastpos testnet stop --dir DIR [--node N]

Stops the running testnet in DIR (every node, and the supervisor), or only node N: the
supervisor keeps it stopped (not crashed) until "testnet restart --node N". Without a
supervisor, sends SIGTERM to the nodes named by DIR/node<i>/node.pid.

Examples:
${example('stop')}
${example('stop', ' --node 2')}`;

export const RESTART_USAGE = `Usage: fastpos testnet restart --dir DIR [--node N]

Makes the running supervisor restart node N (a new process on the same data dir), or
every node in turn. Needs the supervisor started by "fastpos testnet start".

Examples:
${example('restart', ' --node 1')}
${example('restart')}`;

export const STATUS_USAGE = `Usage: fastpos testnet status --dir DIR [--node N] [--json]

Prints each node of DIR: pid, running/stopped/exited, height, peers and URL (a table,
or JSON with --json). Works from the supervisor or, without one, from the pid files.

Examples:
${example('status')}
${example('status', ' --node 0 --json')}`;

interface ControlReply {
  status: number;
  body: Record<string, unknown>;
}

/** One request to the supervisor's control endpoint; undefined when it cannot be reached. */
function control(sup: SupervisorInfo, method: 'GET' | 'POST', path: string, body?: unknown): Promise<ControlReply | undefined> {
  return new Promise((done) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const req = request(
      `${sup.controlUrl}${path}`,
      {
        method,
        agent: false,
        timeout: CONTROL_TIMEOUT_MS,
        headers: { authorization: `Bearer ${sup.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            done({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
          } catch {
            done({ status: res.statusCode ?? 0, body: {} });
          }
        });
        res.on('error', () => done(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
    req.end(payload);
  });
}

/** The live supervisor of `dir`, or undefined (a stale supervisor.json is removed). */
function liveSupervisor(dir: string): SupervisorInfo | undefined {
  const sup = readSupervisorFile(dir);
  if (sup !== undefined && isSupervisorProcess(sup.pid)) return sup;
  removeFile(join(dir, SUPERVISOR_FILE));
  return undefined;
}

/** Nodes with a live pid of their own fastpos process; stale pid files are removed. */
function liveNodePids(nodes: NodeEntry[]): Map<number, number> {
  const live = new Map<number, number>();
  for (const nd of nodes) {
    const pid = readPid(nd.pidFile);
    if (pid !== undefined && isNodeProcess(pid, nd.configFile)) live.set(nd.index, pid);
    else removeFile(nd.pidFile);
  }
  return live;
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(isAlive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = left.filter(isAlive);
  }
  return left;
}

interface Common {
  dir: string;
  nodes: NodeEntry[];
  node: number | undefined;
  json: boolean;
}

function common(args: string[], usage: string, usageError: UsageErrorFactory, withJson: boolean): Common {
  const { values } = parseFlags(args, { dir: { type: 'string' }, node: { type: 'string' }, ...(withJson ? { json: { type: 'boolean' } } : {}) }, usage);
  const dirFlag = values.dir;
  if (typeof dirFlag !== 'string' || dirFlag === '') throw usageError('--dir DIR is required: the folder of the testnet (written by testnet init)');
  const dir = resolve(dirFlag);
  const nodes = findNodes(dir, (m) => new CliError(m));
  const node = typeof values.node === 'string' ? intFlag(values.node, 'node', 0, 999_999, usageError) : undefined;
  if (node !== undefined && !nodes.some((n) => n.index === node)) {
    throw usageError(`--node ${node}: ${dir} has ${nodes.map((n) => n.name).join(', ')}`);
  }
  return { dir, nodes, node, json: values.json === true };
}

const noTestnet = (dir: string): CliError => new CliError(`no testnet is running in ${dir} (no supervisor.json, no live node pids)`, `start it with: fastpos testnet start --dir ${dir}`);

function controlFailed(r: ControlReply | undefined, sup: SupervisorInfo): CliError {
  if (r === undefined) return new CliError(`the supervisor (pid ${sup.pid}) does not answer at ${sup.controlUrl}`, 'is it stuck? stop it with SIGTERM, then run this again');
  return new CliError(`the supervisor answered ${r.status}: ${String(r.body.error ?? '')}`);
}

export async function testnetStop(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const c = common(args, STOP_USAGE, usageError, false);
  const sup = liveSupervisor(c.dir);
  const out = (l: string): void => void process.stdout.write(l + '\n');
  if (sup !== undefined) {
    const r = await control(sup, 'POST', '/stop', c.node === undefined ? {} : { node: c.node });
    if (r === undefined || r.status !== 200) throw controlFailed(r, sup);
    if (c.node !== undefined) return out(`node${c.node} stopped; the supervisor (pid ${sup.pid}) keeps it stopped until: fastpos testnet restart --dir ${c.dir} --node ${c.node}`);
    const left = await waitGone([sup.pid], STOP_WAIT_MS);
    if (left.length > 0) throw new CliError(`the supervisor (pid ${sup.pid}) is still running after ${STOP_WAIT_MS / 1000} s`, 'see its output; SIGKILL it if it hangs');
    return out(`testnet in ${c.dir} stopped (supervisor pid ${sup.pid})`);
  }
  // No supervisor: the pid files.
  const live = liveNodePids(c.nodes);
  const targets = [...live].filter(([i]) => c.node === undefined || i === c.node);
  if (live.size === 0) throw noTestnet(c.dir);
  if (targets.length === 0) throw new CliError(`node${c.node} of ${c.dir} is not running (no live pid in node${c.node}/node.pid)`);
  for (const [, pid] of targets) process.kill(pid, 'SIGTERM');
  const left = await waitGone(targets.map(([, p]) => p), STOP_WAIT_MS);
  for (const [i, pid] of targets) if (!left.includes(pid)) removeFile(c.nodes.find((n) => n.index === i)!.pidFile);
  if (left.length > 0) throw new CliError(`pid ${left.join(', ')} still running ${STOP_WAIT_MS / 1000} s after SIGTERM`, 'SIGKILL it if it hangs');
  out(`stopped ${targets.map(([i, p]) => `node${i} (pid ${p})`).join(', ')} (no supervisor was running)`);
}

export async function testnetRestart(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const c = common(args, RESTART_USAGE, usageError, false);
  const sup = liveSupervisor(c.dir);
  if (sup === undefined) {
    const live = liveNodePids(c.nodes);
    if (live.size === 0) throw noTestnet(c.dir);
    throw new CliError(`no supervisor runs the testnet in ${c.dir} (its nodes ${[...live.keys()].map((i) => `node${i}`).join(', ')} run without one)`, `stop them with: fastpos testnet stop --dir ${c.dir}, then: fastpos testnet start --dir ${c.dir}`);
  }
  const r = await control(sup, 'POST', '/restart', c.node === undefined ? {} : { node: c.node });
  if (r === undefined || r.status !== 200) throw controlFailed(r, sup);
  const nodes = (r.body.nodes ?? []) as SupervisedNode[];
  for (const n of nodes) if (c.node === undefined || n.index === c.node) process.stdout.write(`${n.name} restarted: pid ${n.pid ?? '-'} (${n.state})\n`);
}

interface StatusRow {
  name: string;
  index: number;
  pid: number | null;
  state: string;
  height: number | null;
  peers: number | null;
  url: string;
  chainId: string | null;
  ownChain: boolean | null;
}

export async function testnetStatus(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const c = common(args, STATUS_USAGE, usageError, true);
  const sup = liveSupervisor(c.dir);
  let base: { name: string; index: number; pid: number | null; state: string; url: string }[];
  if (sup !== undefined) {
    const r = await control(sup, 'GET', '/status');
    if (r === undefined || r.status !== 200) throw controlFailed(r, sup);
    base = (r.body.nodes ?? []) as SupervisedNode[];
  } else {
    const live = liveNodePids(c.nodes);
    if (live.size === 0) throw noTestnet(c.dir);
    base = c.nodes.map((n) => ({ name: n.name, index: n.index, pid: live.get(n.index) ?? null, state: live.has(n.index) ? 'running' : 'stopped', url: n.url }));
  }
  if (c.node !== undefined) base = base.filter((b) => b.index === c.node);
  const own = testnetGenesis(c.dir);
  const rows: StatusRow[] = await Promise.all(
    base.map(async (b) => {
      const st = b.pid === null ? undefined : await getStatus(b.url, 2000);
      const peers = Array.isArray(st?.peers) ? st.peers.length : null;
      return {
        ...b,
        height: typeof st?.latestHeight === 'number' ? st.latestHeight : null,
        peers,
        chainId: typeof st?.chainId === 'string' ? st.chainId : null,
        ownChain: st === undefined || own === undefined ? null : st.chainId === own.chainId && st.genesisHash === own.hash,
      };
    }),
  );
  if (c.json) {
    process.stdout.write(JSON.stringify({ dir: c.dir, supervisor: sup === undefined ? null : { pid: sup.pid }, nodes: rows }, null, 2) + '\n');
    return;
  }
  const head = ['NODE', 'PID', 'STATE', 'HEIGHT', 'PEERS', 'URL'];
  const cells = rows.map((r) => [r.name, r.pid === null ? '-' : String(r.pid), r.state + (r.ownChain === false ? ` (answers for chain ${r.chainId})` : ''), r.height === null ? '-' : String(r.height), r.peers === null ? '-' : String(r.peers), r.url]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((x, i) => (i === row.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  const lines = [sup === undefined ? `testnet ${c.dir}: no supervisor (from pid files)` : `testnet ${c.dir}: supervisor pid ${sup.pid}`, line(head), ...cells.map(line)];
  process.stdout.write(lines.join('\n') + '\n');
}
