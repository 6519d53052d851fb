/**
 * What the `fastpos testnet` subcommands share: the layout of a testnet folder
 * (node folders, their configs, pid files, the supervisor's file), flag
 * parsing helpers, URLs, one bounded `GET /status`, and process checks.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { loadConfig, type NodeConfig } from '../config/index.js';
import { parseAmount } from '../codec/tx.js';
import { decodeGenesis, genesisHash } from '../state/genesis.js';

/** Builds the error the CLI turns into "message + usage, exit 2". */
export type UsageErrorFactory = (message: string) => Error;

export const TESTNET_DEFAULT_CHAIN_ID = 'fastpos-localnet';
export const TESTNET_DEFAULT_BASE_PORT = 26657;
export const TESTNET_MAX_VALIDATORS = 100;
export const TESTNET_DEV_ACCOUNTS = 10;
export const NODE_DIR = /^node(0|[1-9][0-9]{0,5})$/;
/** The supervisor's file in the testnet folder: its pid and control endpoint (mode 0600: it holds a token). */
export const SUPERVISOR_FILE = 'supervisor.json';
/** Each node's pid file, in its folder, written by the supervisor while the node runs. */
export const PID_FILE = 'node.pid';

/** An amount flag (decimal digits, as amounts are on the wire); 0 when not given. */
export function amountFlag(v: string | undefined, name: string, usageError: UsageErrorFactory): bigint {
  if (v === undefined) return 0n;
  try {
    return parseAmount(v, `--${name}`);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

export function intFlag(v: string | undefined, name: string, min: number, max: number, usageError: UsageErrorFactory, def?: number): number {
  if (v === undefined) {
    if (def === undefined) throw usageError(`--${name} is required`);
    return def;
  }
  if (!/^[0-9]{1,15}$/.test(v) || Number(v) < min || Number(v) > max) throw usageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

export const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

export function validHost(h: string): boolean {
  return HOSTNAME.test(h) || (h.includes(':') && IPV6.test(h));
}

/** The host other processes on this machine dial for a node listening on `host`. */
export function dialHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

export function urlFor(host: string, port: number): string {
  const h = host.replace(/^\[|\]$/g, '');
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export interface NodeEntry {
  readonly index: number;
  readonly name: string;
  readonly dir: string;
  readonly configFile: string;
  readonly log: string;
  readonly pidFile: string;
  readonly config: NodeConfig;
  readonly url: string;
}

/** The node folders of a testnet, in index order; `noTestnet` builds the error for a folder without one. */
export function findNodes(dir: string, noTestnet: (message: string) => Error): NodeEntry[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw noTestnet(`${dir} is not a folder; create a testnet with: fastpos testnet init --validators N --dir ${dir}`);
  const found = readdirSync(dir)
    .filter((e) => NODE_DIR.test(e) && existsSync(join(dir, e, 'config.yaml')))
    .map((e) => ({ name: e, index: Number(e.slice(4)) }))
    .sort((a, b) => a.index - b.index);
  if (found.length === 0) throw noTestnet(`${dir} holds no testnet (no node<i>/config.yaml); create one with: fastpos testnet init --validators N --dir ${dir}`);
  return found.map(({ name, index }) => {
    const nodeDir = join(dir, name);
    const configFile = join(nodeDir, 'config.yaml');
    // Same inputs as the child will see (it inherits the environment), so the URL printed is the one it listens on.
    const { config } = loadConfig({ argv: ['--config', configFile], env: process.env });
    return {
      index,
      name,
      dir: nodeDir,
      configFile,
      log: join(nodeDir, 'node.log'),
      pidFile: join(nodeDir, PID_FILE),
      config,
      url: urlFor(dialHost(config.host), config.port),
    };
  });
}

/** The chain id and genesis hash of the testnet in `dir` (its DIR/genesis.json), or undefined when unreadable. */
export function testnetGenesis(dir: string): { chainId: string; hash: string } | undefined {
  try {
    const g = decodeGenesis(JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')));
    return { chainId: g.chainId, hash: genesisHash(g) };
  } catch {
    return undefined;
  }
}

/** GET url/status once; the parsed body on 200, else undefined. Never keeps a connection open. */
export function getStatus(url: string, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  return new Promise((done) => {
    const req = httpGet(`${url}/status`, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1_000_000) req.destroy();
        else chunks.push(c);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return done(undefined);
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          done(typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined);
        } catch {
          done(undefined);
        }
      });
      res.on('error', () => done(undefined));
      res.on('close', () => done(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
  });
}

/** A hash shortened for a one-line message. */
export const short = (h: unknown): string => (typeof h === 'string' && h.length > 12 ? `${h.slice(0, 12)}…` : String(h));

/**
 * The line for a node whose port answers for another chain: another process
 * (a leftover node of another testnet, a devnet) holds the port.
 */
export function foreignNodeLine(nd: NodeEntry, st: Record<string, unknown>, own: { chainId: string; hash: string }): string {
  return (
    `${nd.name} at ${nd.url} answers for chain ${String(st.chainId)} (genesis ${short(st.genesisHash)}), ` +
    `not this testnet's ${own.chainId} (genesis ${short(own.hash)}): another node holds port ${nd.config.port}; stop it`
  );
}

/** True when `st` is a /status of the chain `own`. */
export function isOwnChain(st: Record<string, unknown>, own: { chainId: string; hash: string }): boolean {
  return st.chainId === own.chainId && st.genesisHash === own.hash;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * True when a process with this pid runs (signal 0 reaches it or is refused for
 * permissions). A zombie (exited, not yet reaped by its parent) does not run.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and parentheses, the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: signal 0 is all there is
  }
}

/**
 * True when `pid` is alive and is the fastpos node of `configFile`: on Linux its
 * command line (/proc/<pid>/cmdline) holds that config path, so a pid the OS has
 * since given to another program is never signalled. Where /proc is absent, alive is enough.
 */
export function isNodeProcess(pid: number, configFile: string): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return !existsSync('/proc/self');
  }
  return cmdline.split('\0').includes(configFile);
}

/**
 * True when `pid` is alive and is a `fastpos testnet start` process (on Linux its
 * command line holds "testnet" and "start"); where /proc is absent, alive is enough.
 */
export function isSupervisorProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('testnet') && argv.includes('start');
  } catch {
    return !existsSync('/proc/self');
  }
}

/** The pid in a pid file, or undefined when absent or not a pid. */
export function readPid(file: string): number | undefined {
  try {
    const t = readFileSync(file, 'utf8').trim();
    return /^[1-9][0-9]{0,9}$/.test(t) ? Number(t) : undefined;
  } catch {
    return undefined;
  }
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** Writes `text` to `file` whole (a temporary file, then a rename), with `mode`. */
export function writeFileAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

/** What the supervisor writes to DIR/supervisor.json while it runs. */
export interface SupervisorInfo {
  readonly pid: number;
  /** http://127.0.0.1:PORT of the control endpoint. */
  readonly controlUrl: string;
  /** Bearer token every control request carries. */
  readonly token: string;
  readonly startedAt: string;
}

/** DIR/supervisor.json, or undefined when absent or malformed. */
export function readSupervisorFile(dir: string): SupervisorInfo | undefined {
  try {
    const j = JSON.parse(readFileSync(join(dir, SUPERVISOR_FILE), 'utf8')) as Partial<SupervisorInfo>;
    if (typeof j.pid !== 'number' || typeof j.controlUrl !== 'string' || typeof j.token !== 'string') return undefined;
    if (!/^http:\/\/127\.0\.0\.1:[0-9]{1,5}$/.test(j.controlUrl)) return undefined;
    return { pid: j.pid, controlUrl: j.controlUrl, token: j.token, startedAt: String(j.startedAt ?? '') };
  } catch {
    return undefined;
  }
}

/** One node's state as the supervisor reports it. */
export interface SupervisedNode {
  readonly name: string;
  readonly index: number;
  readonly url: string;
  readonly pid: number | null;
  /** running: its process is up; stopped: stopped on request; exited: it ended on its own; starting: being restarted. */
  readonly state: 'running' | 'stopped' | 'exited' | 'starting';
  readonly exit: string | null;
  readonly restarts: number;
}
