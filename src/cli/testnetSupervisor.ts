/**
 * `fastpos testnet start`: the supervisor. It runs every node of a testnet
 * folder as a child process (`fastpos start --config node<i>/config.yaml`,
 * output appended to `node<i>/node.log`, pid in `node<i>/node.pid`), and
 * stops them all on SIGINT/SIGTERM.
 *
 * Before starting it checks each node's port: a port held by another process
 * is reported (naming the chain of a node that answers there) and nothing
 * starts. While it runs, `DIR/supervisor.json` (mode 0600) names its pid and a
 * control endpoint on 127.0.0.1 with a random token, which `testnet
 * stop|restart|status` use (see testnetControl.ts).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, parseFlags } from './args.js';
import { startControlServer } from './testnetControlServer.js';
import { isPortFree } from './testnetInit.js';
import {
  SUPERVISOR_FILE,
  findNodes,
  foreignNodeLine,
  getStatus,
  isSupervisorProcess,
  isOwnChain,
  readSupervisorFile,
  removeFile,
  short,
  sleep,
  testnetGenesis,
  writeFileAtomic,
  type NodeEntry,
  type SupervisedNode,
  type UsageErrorFactory,
} from './testnetShared.js';

/** How long the supervisor waits after SIGTERM before it SIGKILLs a node. */
const STOP_GRACE_MS = 10_000;
/** How long `testnet start` polls each node's /status before it gives up reporting readiness. */
const READY_TIMEOUT_MS = 30_000;

export const START_USAGE = `Usage: fastpos testnet start --dir DIR

Runs every node of DIR (written by testnet init) as a child process and supervises them:
each node's log goes to DIR/node<i>/node.log, its pid to DIR/node<i>/node.pid. Ctrl-C (SIGINT)
or SIGTERM stops them all; so does "fastpos testnet stop --dir DIR" from another terminal.
Refuses to start when a node's port is already taken (and names the chain of a node answering there).

Examples:
  fastpos testnet start --dir ./testnet
  fastpos testnet status --dir ./testnet      # from another terminal`;

/** This CLI's entry script, next to this module (dist/cli/main.js, or main.ts when run from source). */
function cliEntry(): { script: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  // From source (tsx), the child needs the same loader flags; from dist, plain node.
  return { script: join(dirname(here), `main${ext}`), execArgv: ext === '.ts' ? [...process.execArgv] : [] };
}

/** A known cause from the end of a node's log (a port taken after the check), as ": cause", or ''. */
function whyExited(nd: NodeEntry): string {
  let tail = '';
  try {
    const fd = openSync(nd.log, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 8192));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      tail = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
  const m = /EADDRINUSE[^"]*?:(\d{1,5})/.exec(tail);
  return m === null ? '' : `: port ${m[1]} is in use by another process (stop it, or re-create the testnet with another --base-port)`;
}

/** Why each taken port of the testnet is taken: one line per node whose port is not free. */
async function takenPorts(dir: string, nodes: NodeEntry[]): Promise<string[]> {
  const own = testnetGenesis(dir);
  const lines: string[] = [];
  for (const nd of nodes) {
    const ports = [{ port: nd.config.port, what: 'API' }];
    if (nd.config.p2pPort !== undefined && nd.config.p2pPort !== 0) ports.push({ port: nd.config.p2pPort, what: 'p2p' });
    for (const { port, what } of ports) {
      if (port === 0 || (await isPortFree(port, nd.config.host))) continue;
      const st = what === 'API' ? await getStatus(nd.url, 2000) : undefined;
      if (st !== undefined && own !== undefined && !isOwnChain(st, own)) lines.push(foreignNodeLine(nd, st, own));
      else if (st !== undefined) {
        lines.push(`${nd.name} at ${nd.url} is already running (chain ${String(st.chainId)}, genesis ${short(st.genesisHash)}), outside this supervisor: see fastpos testnet status --dir ${dir}, or stop it with fastpos testnet stop --dir ${dir}`);
      } else lines.push(`port ${port} (${nd.name} ${what}) is in use by another program: stop what uses it`);
    }
  }
  return lines;
}

export async function testnetStart(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const { values } = parseFlags(args, { dir: { type: 'string' } }, START_USAGE);
  const dirFlag = values.dir;
  if (typeof dirFlag !== 'string' || dirFlag === '') throw usageError('testnet start needs --dir DIR (a folder written by testnet init)');
  const dir = resolve(dirFlag);
  const nodes = findNodes(dir, usageError);

  // Nodes made for containers (--peer-host-template) all listen on one port: they cannot share this machine.
  const byAddr = new Map<string, string>();
  for (const nd of nodes) {
    if (nd.config.port === 0) continue; // any free port: no clash
    const addr = `${nd.config.host}:${nd.config.port}`;
    const other = byAddr.get(addr);
    if (other !== undefined) {
      throw usageError(`${other} and ${nd.name} both listen on ${addr}: this testnet was made for one host per node (--peer-host-template, e.g. docker compose); re-create it without that flag to run it here`);
    }
    byAddr.set(addr, nd.name);
  }

  const prior = readSupervisorFile(dir);
  if (prior !== undefined && prior.pid !== process.pid && isSupervisorProcess(prior.pid)) {
    throw new CliError(`a supervisor (pid ${prior.pid}) already runs the testnet in ${dir}`, `see: fastpos testnet status --dir ${dir}`);
  }
  const taken = await takenPorts(dir, nodes);
  if (taken.length === 1) throw new CliError(taken[0]!);
  if (taken.length > 1) {
    for (const line of taken.slice(0, -1)) process.stderr.write(`testnet: ${line}\n`);
    throw new CliError(taken.at(-1)!);
  }

  const { script, execArgv } = cliEntry();
  const out = (line: string): void => void process.stdout.write(line + '\n');
  const err = (line: string): void => void process.stderr.write(line + '\n');

  interface Slot {
    readonly nd: NodeEntry;
    child: ChildProcess | undefined;
    state: SupervisedNode['state'];
    exit: string | null;
    restarts: number;
    /** Set while a stop or restart asked for waits for the child's exit. */
    onExit: (() => void) | undefined;
  }
  const slots = new Map<number, Slot>(nodes.map((nd) => [nd.index, { nd, child: undefined, state: 'starting', exit: null, restarts: 0, onExit: undefined }]));
  const running = (): Slot[] => [...slots.values()].filter((s) => s.child !== undefined);
  let stopping = false;
  let failed = false;
  let killTimer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  const signalChild = (s: Slot, signal: NodeJS.Signals): void => {
    try {
      s.child?.kill(signal);
    } catch {
      /* already gone */
    }
  };
  // Last resort: should this process die of an uncaught error, take the nodes with it.
  const onExit = (): void => {
    for (const s of running()) signalChild(s, 'SIGKILL');
    removeFile(join(dir, SUPERVISOR_FILE));
  };
  process.on('exit', onExit);

  let control: { close: () => Promise<void> } | undefined;
  const maybeDone = (): void => {
    if (running().length > 0) return;
    // Nodes stopped on request stay stoppable and restartable: the supervisor waits for them.
    if (!stopping && [...slots.values()].some((s) => s.state === 'stopped' || s.state === 'starting')) return;
    if (killTimer !== undefined) clearTimeout(killTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    finish();
  };

  const spawnNode = (s: Slot): void => {
    const { nd } = s;
    const fd = openSync(nd.log, 'a');
    let child: ChildProcess;
    try {
      // Own process group: a terminal Ctrl-C reaches only this supervisor, which then stops the nodes in order.
      child = spawn(process.execPath, [...execArgv, script, 'start', '--config', nd.configFile], { cwd: nd.dir, env: nodeEnv(), stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    s.child = child;
    s.state = 'running';
    s.exit = null;
    if (child.pid !== undefined) writeFileSync(nd.pidFile, `${child.pid}\n`);
    child.on('error', (e) => {
      err(`testnet: ${nd.name}: ${e.message}`);
      if (child.pid === undefined && s.child === child) {
        // Never started, so no 'exit' will come.
        s.child = undefined;
        s.state = 'exited';
        s.exit = e.message;
        failed = true;
        maybeDone();
      }
    });
    child.on('exit', (code, signal) => {
      if (s.child !== child) return;
      s.child = undefined;
      removeFile(nd.pidFile);
      const how = signal !== null ? `signal ${signal}` : `code ${code}`;
      s.exit = how;
      if (stopping) {
        if (code !== 0) failed = true;
        s.state = 'stopped';
        out(`testnet: ${nd.name} stopped (${how})`);
      } else if (s.onExit !== undefined) {
        out(`testnet: ${nd.name} stopped on request (${how})`);
      } else {
        failed = true;
        s.state = 'exited';
        err(`testnet: ${nd.name} exited on its own (${how})${whyExited(nd)}; see ${nd.log}. ${running().length} node(s) still running.`);
        if (running().length === 0 && ![...slots.values()].some((x) => x.state === 'stopped')) {
          err('testnet: no node left running');
          stopping = true;
        }
      }
      const cb = s.onExit;
      s.onExit = undefined;
      cb?.();
      maybeDone();
    });
    out(`${nd.name}  ${nd.url}  pid ${child.pid ?? '?'}  log ${nd.log}`);
  };

  /** SIGTERMs one node and resolves once it exited (SIGKILL after the grace time). */
  const stopOne = (s: Slot, next: SupervisedNode['state']): Promise<void> => {
    if (s.child === undefined) {
      if (s.state !== 'starting') s.state = next;
      return Promise.resolve();
    }
    return new Promise<void>((done) => {
      const t = setTimeout(() => {
        err(`testnet: ${s.nd.name} still running after ${STOP_GRACE_MS / 1000} s: SIGKILL`);
        signalChild(s, 'SIGKILL');
      }, STOP_GRACE_MS);
      s.onExit = () => {
        clearTimeout(t);
        s.state = next;
        done();
      };
      signalChild(s, 'SIGTERM');
    });
  };

  const stopAll = (why: string): void => {
    if (stopping) return;
    stopping = true;
    out(`testnet: ${why}: stopping ${running().length} node(s) (SIGTERM; SIGKILL after ${STOP_GRACE_MS / 1000} s)`);
    for (const s of running()) signalChild(s, 'SIGTERM');
    killTimer = setTimeout(() => {
      if (running().length === 0) return;
      err(`testnet: ${running().map((s) => s.nd.name).join(', ')} still running after ${STOP_GRACE_MS / 1000} s: SIGKILL`);
      failed = true;
      for (const s of running()) signalChild(s, 'SIGKILL');
    }, STOP_GRACE_MS);
    maybeDone();
  };

  function onSignal(signal: NodeJS.Signals): void {
    if (stopping) {
      err(`testnet: ${signal} again: killing ${running().length} node(s) now`);
      failed = true;
      for (const s of running()) signalChild(s, 'SIGKILL');
      return;
    }
    stopAll(signal);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const describe = (): SupervisedNode[] =>
    [...slots.values()].map((s) => ({ name: s.nd.name, index: s.nd.index, url: s.nd.url, pid: s.child?.pid ?? null, state: s.state, exit: s.exit, restarts: s.restarts }));

  // The control endpoint for testnet stop|restart|status, announced in DIR/supervisor.json.
  // Stops and restarts run one at a time, in the order they came.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = queue.then(f);
    queue = p.catch(() => undefined);
    return p;
  };
  const token = randomBytes(32).toString('hex');
  const server = await startControlServer({
    token,
    status: () => ({ pid: process.pid, dir, stopping, nodes: describe() }),
    stop: (index) => {
      if (index === undefined) {
        stopAll('stop requested');
        return Promise.resolve(describe());
      }
      return serial(async () => {
        const s = slots.get(index)!;
        out(`testnet: stopping ${s.nd.name} on request`);
        await stopOne(s, 'stopped');
        return describe();
      });
    },
    restart: (index) =>
      serial(async () => {
        const targets = index === undefined ? [...slots.values()] : [slots.get(index)!];
        for (const s of targets) {
          if (stopping) break;
          out(`testnet: restarting ${s.nd.name}`);
          await stopOne(s, 'starting');
          if (stopping) break;
          s.restarts++;
          spawnNode(s);
        }
        return describe();
      }),
    has: (index) => slots.has(index),
  });
  control = server;
  writeFileAtomic(join(dir, SUPERVISOR_FILE), JSON.stringify({ pid: process.pid, controlUrl: server.url, token, startedAt: new Date().toISOString() }, null, 2) + '\n', 0o600);

  out(`testnet: starting ${nodes.length} node(s) from ${dir}`);
  for (const s of slots.values()) spawnNode(s);
  out(`testnet: ${nodes.length} node(s) started; Ctrl-C (SIGINT), SIGTERM or "fastpos testnet stop --dir ${dir}" stops them all`);

  void reportReady(dir, nodes, { isStopping: () => stopping, isRunning: (i) => slots.get(i)?.child !== undefined, out, err });

  await finished;
  await control.close();
  removeFile(join(dir, SUPERVISOR_FILE));
  out(`testnet: all nodes stopped${failed ? ' (not cleanly)' : ''}`);
  process.exitCode = failed ? 1 : 0;
}

/**
 * Reports when every node answers /status for this testnet's chain (bounded);
 * a node answering for another chain is named and never reported ready.
 */
async function reportReady(
  dir: string,
  nodes: NodeEntry[],
  h: { isStopping: () => boolean; isRunning: (index: number) => boolean; out: (l: string) => void; err: (l: string) => void },
): Promise<void> {
  const own = testnetGenesis(dir);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const pending = new Set(nodes.map((nd) => nd.index));
  let foreign = false;
  while (pending.size > 0 && !h.isStopping() && Date.now() < deadline) {
    for (const nd of nodes) {
      if (!pending.has(nd.index)) continue;
      if (!h.isRunning(nd.index)) {
        pending.delete(nd.index);
        continue;
      }
      const st = await getStatus(nd.url, 1000);
      if (h.isStopping()) return;
      if (st === undefined) continue;
      pending.delete(nd.index);
      if (own !== undefined && !isOwnChain(st, own)) {
        foreign = true;
        h.err(`testnet: ${foreignNodeLine(nd, st, own)}`);
      } else h.out(`${nd.name} answers /status: chain ${String(st.chainId)}, height ${String(st.latestHeight)}`);
    }
    if (pending.size > 0) await sleep(250);
  }
  if (h.isStopping()) return;
  if (pending.size > 0) {
    h.err(`testnet: ${[...pending].map((i) => `node${i}`).join(', ')} did not answer /status within ${READY_TIMEOUT_MS / 1000} s; see their node.log`);
    return;
  }
  if (!foreign && own !== undefined) h.out(`testnet: all ${nodes.length} node(s) answer /status (chain ${own.chainId}, genesis ${own.hash})`);
}

/**
 * The nodes' environment: the supervisor's, without npm's marker, so that a
 * testnet started with `npx` keeps its nodes when the supervisor is killed
 * (they stop with their parent only when npm started them directly).
 */
function nodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.npm_command;
  return env;
}
