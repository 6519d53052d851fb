/**
 * `fastpos testnet`: a local multi-validator testnet.
 *
 * - `testnet init` writes one genesis with N fresh validators and, per node, a
 *   folder `node<i>/` with that node's validator key, a copy of the genesis and a
 *   `config.yaml` whose `peers` lists every other node.
 * - `testnet start` runs every node of such a folder as a child process
 *   (`fastpos start --config node<i>/config.yaml`, output appended to
 *   `node<i>/node.log`) and stops them all on SIGINT/SIGTERM.
 *
 * Bad flags are reported through the `usageError` the CLI passes in (exit 2).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, renderConfigYaml, type NodeConfig } from '../config/index.js';
import { generateKeyPair } from '../client/keygen.js';
import { devAccount } from '../crypto/keys.js';
import { saveKeyFile } from '../node/keyFile.js';
import { isDevChainId } from '../node/node.js';
import { parseAmount } from '../codec/tx.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, TREASURY_ADDRESS, encodeGenesis, genesisHash } from '../state/genesis.js';
import type { Genesis, GenesisAccount, GenesisValidator } from '../types/index.js';

/** Builds the error the CLI turns into "message + usage, exit 2". */
export type UsageErrorFactory = (message: string) => Error;

export const TESTNET_DEFAULT_CHAIN_ID = 'fastpos-localnet';
export const TESTNET_DEFAULT_BASE_PORT = 26657;
export const TESTNET_MAX_VALIDATORS = 100;
export const TESTNET_DEV_ACCOUNTS = 10;
const VALIDATOR_STAKE = 1_000_000n;
const DEV_ACCOUNT_BALANCE = 1_000_000_000_000n;
/** How long `testnet start` waits after SIGTERM before it SIGKILLs a node. */
const STOP_GRACE_MS = 10_000;
/** How long `testnet start` polls each node's /status before it gives up reporting readiness. */
const READY_TIMEOUT_MS = 30_000;
const NODE_DIR = /^node(0|[1-9][0-9]{0,5})$/;

/** Entry point of `fastpos testnet <init|start> ...`. */
export async function cmdTestnet(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'init') return testnetInit(rest, usageError);
  if (sub === 'start') return testnetStart(rest, usageError);
  throw usageError(sub === undefined ? 'testnet needs a subcommand: init or start' : `unknown testnet subcommand "${sub}" (expected init or start)`);
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

function parse<const O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usageError: UsageErrorFactory) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false } as const).values;
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

/** An amount flag (decimal digits, as amounts are on the wire); 0 when not given. */
export function amountFlag(v: string | undefined, name: string, usageError: UsageErrorFactory): bigint {
  if (v === undefined) return 0n;
  try {
    return parseAmount(v, `--${name}`);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

function intFlag(v: string | undefined, name: string, min: number, max: number, usageError: UsageErrorFactory, def?: number): number {
  if (v === undefined) {
    if (def === undefined) throw usageError(`--${name} is required`);
    return def;
  }
  if (!/^[0-9]{1,15}$/.test(v) || Number(v) < min || Number(v) > max) throw usageError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

function validHost(h: string): boolean {
  return HOSTNAME.test(h) || (h.includes(':') && IPV6.test(h));
}

/** The host other processes on this machine dial for a node listening on `host`. */
function dialHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

function urlFor(host: string, port: number): string {
  const h = host.replace(/^\[|\]$/g, '');
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

// ---------------------------------------------------------------------------
// testnet init
// ---------------------------------------------------------------------------

export interface TestnetNodeSummary {
  readonly index: number;
  readonly dir: string;
  /** Where the other nodes (and you) reach this node. */
  readonly url: string;
  readonly listen: string;
  readonly port: number;
  /** With --p2p-base-port: the validator network's own port and the URL peers dial. */
  readonly p2pPort?: number;
  readonly p2pUrl?: string;
  readonly peers: string[];
  readonly validatorId: string;
  readonly validatorPubKey: string;
  readonly adminToken: string;
}

export interface TestnetSummary {
  readonly dir: string;
  readonly chainId: string;
  readonly genesisHash: string;
  readonly validators: number;
  readonly governance: string[];
  readonly devAccounts: number;
  readonly nodes: TestnetNodeSummary[];
}

function testnetInit(args: string[], usageError: UsageErrorFactory): void {
  const v = parse(
    args,
    {
      validators: { type: 'string' },
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      ports: { type: 'string' },
      'chain-id': { type: 'string' },
      host: { type: 'string' },
      'peer-host-template': { type: 'string' },
      'treasury-balance': { type: 'string' },
      'p2p-base-port': { type: 'string' },
      force: { type: 'boolean' },
    },
    usageError,
  );
  const n = intFlag(v.validators, 'validators', 1, TESTNET_MAX_VALIDATORS, usageError);
  if (v.dir === undefined || v.dir === '') throw usageError('--dir is required: the folder the testnet is written to');
  const dir = resolve(v.dir);

  const chainId = v['chain-id'] ?? TESTNET_DEFAULT_CHAIN_ID;
  if (!/^[a-zA-Z0-9._-]{1,64}$/.test(chainId)) throw usageError('--chain-id must be 1-64 characters of [a-zA-Z0-9._-]');
  if (!isDevChainId(chainId)) {
    throw usageError(
      `--chain-id "${chainId}" is not a devnet/localnet id: a testnet funds the public dev accounts (their keys are published), so its chain id must contain "devnet" or "localnet" as a word (e.g. ${TESTNET_DEFAULT_CHAIN_ID}, acme-devnet)`,
    );
  }

  const host = v.host ?? '127.0.0.1';
  if (!validHost(host)) throw usageError(`--host must be a host name or IP address, got "${host}"`);

  const template = v['peer-host-template'];
  if (template !== undefined) {
    if (!template.includes('{i}')) throw usageError(`--peer-host-template must contain "{i}" (the node index), e.g. 'node{i}'; got "${template}"`);
    if (!HOSTNAME.test(template.replaceAll('{i}', '0'))) throw usageError(`--peer-host-template must give host names, e.g. 'node{i}'; got "${template}"`);
  }

  // Ports: explicit list, or base + i (one host), or the same port everywhere (one host per node).
  let ports: number[];
  if (v.ports !== undefined) {
    if (v['base-port'] !== undefined) throw usageError('give --base-port or --ports, not both');
    const parts = v.ports.split(',').map((s) => s.trim());
    ports = parts.map((p) => intFlag(p, 'ports', 1, 65535, usageError));
    if (ports.length !== n) throw usageError(`--ports lists ${ports.length} port(s) but --validators is ${n}`);
    if (template === undefined && new Set(ports).size !== ports.length) throw usageError('--ports lists a port twice (the nodes share one host)');
  } else {
    const base = intFlag(v['base-port'], 'base-port', 1, 65535, usageError, TESTNET_DEFAULT_BASE_PORT);
    if (template === undefined && base + n - 1 > 65535) throw usageError(`--base-port ${base} + ${n} validators goes past port 65535`);
    ports = Array.from({ length: n }, (_, i) => (template === undefined ? base + i : base));
  }
  const peerHost = (i: number): string => (template === undefined ? dialHost(host) : template.replaceAll('{i}', String(i)));
  const urls = ports.map((p, i) => urlFor(peerHost(i), p));
  // The validator network on listeners of its own (p2pPort): peers dial those; public traffic cannot starve consensus.
  let p2pPorts: number[] | undefined;
  if (v['p2p-base-port'] !== undefined) {
    const base = intFlag(v['p2p-base-port'], 'p2p-base-port', 1, 65535, usageError);
    if (template === undefined && base + n - 1 > 65535) throw usageError(`--p2p-base-port ${base} + ${n} validators goes past port 65535`);
    p2pPorts = Array.from({ length: n }, (_, i) => (template === undefined ? base + i : base));
    const clash = p2pPorts.find((p) => ports.includes(p));
    if (clash !== undefined && template === undefined) throw usageError(`--p2p-base-port gives port ${clash}, which a node's API already uses`);
  }
  const peerUrls = p2pPorts === undefined ? urls : p2pPorts.map((p, i) => urlFor(peerHost(i), p));

  // The target folder: absent or empty, or replaced with --force.
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw usageError(`${dir} exists and is not a folder`);
    const entries = readdirSync(dir);
    if (entries.length > 0) {
      if (!v.force) throw usageError(`${dir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}); pass --force to replace the testnet in it`);
      // --force replaces what a testnet init wrote there (node folders with their chain data, genesis.json); nothing else.
      for (const e of entries) {
        if (NODE_DIR.test(e) || e === 'genesis.json') rmSync(join(dir, e), { recursive: true, force: true });
      }
    }
  }
  mkdirSync(dir, { recursive: true });

  // Genesis: N fresh validators with equal stake, dev accounts 0-9 funded, dev account 0 governs.
  const keys = Array.from({ length: n }, () => generateKeyPair());
  const accounts: GenesisAccount[] = [];
  for (let i = 0; i < TESTNET_DEV_ACCOUNTS; i++) accounts.push({ address: devAccount(i).address, balance: DEV_ACCOUNT_BALANCE });
  // The protocol-owned treasury (a module account: nobody holds its key), funded here if asked.
  const treasuryBalance = amountFlag(v['treasury-balance'], 'treasury-balance', usageError);
  if (treasuryBalance > 0n) accounts.push({ address: TREASURY_ADDRESS, balance: treasuryBalance });
  const validators: GenesisValidator[] = keys.map((k) => ({ pubKey: k.publicKey, stake: VALIDATOR_STAKE, workWeight: NEUTRAL_WORK_WEIGHT }));
  const governance = [devAccount(0).address];
  const genesis: Genesis = {
    chainId,
    genesisTime: Date.now(),
    treasury: TREASURY_ADDRESS,
    params: { ...DEFAULT_PARAMS, governance },
    accounts,
    validators,
  };
  const genesisJson = JSON.stringify(encodeGenesis(genesis), null, 2) + '\n';
  writeFileSync(join(dir, 'genesis.json'), genesisJson);

  const nodes: TestnetNodeSummary[] = [];
  for (let i = 0; i < n; i++) {
    const nodeDir = join(dir, `node${i}`);
    mkdirSync(nodeDir, { recursive: true });
    const key = saveKeyFile(join(nodeDir, 'validator_key.json'), keys[i]!.privateKey, { overwrite: true });
    writeFileSync(join(nodeDir, 'genesis.json'), genesisJson);
    const peers = peerUrls.filter((_, j) => j !== i);
    const adminToken = randomBytes(24).toString('hex');
    const config: Partial<NodeConfig> = {
      dataDir: '.',
      host,
      port: ports[i]!,
      ...(p2pPorts === undefined ? {} : { p2pPort: p2pPorts[i]! }),
      logLevel: 'info',
      adminToken,
      ...(peers.length === 0 ? {} : { peers: peers.join(',') }),
      // Every node already lists every other one. With container names a node cannot tell its own
      // name from a peer's, so discovery would only teach it to dial itself: leave it off there.
      ...(template === undefined ? {} : { peerDiscoveryIntervalMs: 0 }),
    };
    // The config holds the admin token: only its owner may read it.
    writeFileSync(join(nodeDir, 'config.yaml'), renderConfigYaml(config), { mode: 0o600 });
    nodes.push({
      index: i,
      dir: nodeDir,
      url: urls[i]!,
      listen: `${host}:${ports[i]!}`,
      port: ports[i]!,
      ...(p2pPorts === undefined ? {} : { p2pPort: p2pPorts[i]!, p2pUrl: peerUrls[i]! }),
      peers,
      validatorId: key.address,
      validatorPubKey: key.publicKey,
      adminToken,
    });
  }
  const summary: TestnetSummary = {
    dir,
    chainId,
    genesisHash: genesisHash(genesis),
    validators: n,
    governance,
    devAccounts: TESTNET_DEV_ACCOUNTS,
    nodes,
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}

// ---------------------------------------------------------------------------
// testnet start
// ---------------------------------------------------------------------------

interface NodeEntry {
  readonly index: number;
  readonly name: string;
  readonly dir: string;
  readonly configFile: string;
  readonly log: string;
  readonly config: NodeConfig;
  readonly url: string;
}

/** The node folders of a testnet, in index order. */
function findNodes(dir: string, usageError: UsageErrorFactory): NodeEntry[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw usageError(`${dir} is not a folder; create a testnet with: fastpos testnet init --validators N --dir ${dir}`);
  const found = readdirSync(dir)
    .filter((e) => NODE_DIR.test(e) && existsSync(join(dir, e, 'config.yaml')))
    .map((e) => ({ name: e, index: Number(e.slice(4)) }))
    .sort((a, b) => a.index - b.index);
  if (found.length === 0) throw usageError(`${dir} holds no testnet (no node<i>/config.yaml); create one with: fastpos testnet init --validators N --dir ${dir}`);
  return found.map(({ name, index }) => {
    const nodeDir = join(dir, name);
    const configFile = join(nodeDir, 'config.yaml');
    // Same inputs as the child will see (it inherits the environment), so the URL printed is the one it listens on.
    const { config } = loadConfig({ argv: ['--config', configFile], env: process.env });
    return { index, name, dir: nodeDir, configFile, log: join(nodeDir, 'node.log'), config, url: urlFor(dialHost(config.host), config.port) };
  });
}

/** This CLI's entry script, next to this module (dist/cli/main.js, or main.ts when run from source). */
function cliEntry(): { script: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  // From source (tsx), the child needs the same loader flags; from dist, plain node.
  return { script: join(dirname(here), `main${ext}`), execArgv: ext === '.ts' ? [...process.execArgv] : [] };
}

/** GET url/status once; the parsed body on 200, else undefined. Never keeps a connection open. */
function getStatus(url: string, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  return new Promise((done) => {
    const req = httpGet(`${url}/status`, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return done(undefined);
        try {
          done(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        } catch {
          done(undefined);
        }
      });
      res.on('error', () => done(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function testnetStart(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const v = parse(args, { dir: { type: 'string' } }, usageError);
  if (v.dir === undefined || v.dir === '') throw usageError('testnet start needs --dir DIR (a folder written by testnet init)');
  const dir = resolve(v.dir);
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

  const { script, execArgv } = cliEntry();
  const out = (line: string): void => void process.stdout.write(line + '\n');
  const err = (line: string): void => void process.stderr.write(line + '\n');

  const running = new Map<number, ChildProcess>();
  let stopping = false;
  let failed = false;
  let killTimer: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  const killAll = (signal: NodeJS.Signals): void => {
    for (const child of running.values()) {
      try {
        child.kill(signal);
      } catch {
        /* already gone */
      }
    }
  };
  // Last resort: should this process die of an uncaught error, take the nodes with it.
  const onExit = (): void => killAll('SIGKILL');
  process.on('exit', onExit);

  const maybeDone = (): void => {
    if (running.size > 0) return;
    if (killTimer !== undefined) clearTimeout(killTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    finish();
  };

  function onSignal(signal: NodeJS.Signals): void {
    if (stopping) {
      err(`testnet: ${signal} again: killing ${running.size} node(s) now`);
      failed = true;
      killAll('SIGKILL');
      return;
    }
    stopping = true;
    out(`testnet: ${signal}: stopping ${running.size} node(s) (SIGTERM; SIGKILL after ${STOP_GRACE_MS / 1000} s)`);
    killAll('SIGTERM');
    killTimer = setTimeout(() => {
      if (running.size === 0) return;
      err(`testnet: ${[...running.keys()].map((i) => `node${i}`).join(', ')} still running after ${STOP_GRACE_MS / 1000} s: SIGKILL`);
      failed = true;
      killAll('SIGKILL');
    }, STOP_GRACE_MS);
    maybeDone();
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  out(`testnet: starting ${nodes.length} node(s) from ${dir}`);
  for (const nd of nodes) {
    const fd = openSync(nd.log, 'a');
    let child: ChildProcess;
    try {
      // Own process group: a terminal Ctrl-C reaches only this supervisor, which then stops the nodes in order.
      child = spawn(process.execPath, [...execArgv, script, 'start', '--config', nd.configFile], {
        cwd: nd.dir,
        env: process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    running.set(nd.index, child);
    child.on('error', (e) => {
      err(`testnet: ${nd.name}: ${e.message}`);
      if (child.pid === undefined && running.delete(nd.index)) {
        // Never started, so no 'exit' will come.
        failed = true;
        if (running.size === 0) stopping = true;
        maybeDone();
      }
    });
    child.on('exit', (code, signal) => {
      running.delete(nd.index);
      const how = signal !== null ? `signal ${signal}` : `code ${code}`;
      if (stopping) {
        if (code !== 0) failed = true;
        out(`testnet: ${nd.name} stopped (${how})`);
      } else {
        failed = true;
        err(`testnet: ${nd.name} exited on its own (${how}); see ${nd.log}. ${running.size} node(s) still running.`);
        if (running.size === 0) {
          err('testnet: no node left running');
          stopping = true;
        }
      }
      maybeDone();
    });
    out(`${nd.name}  ${nd.url}  pid ${child.pid ?? '?'}  log ${nd.log}`);
  }
  out(`testnet: ${nodes.length} node(s) started; Ctrl-C (SIGINT) or SIGTERM stops them all`);

  // Report when every node answers /status (bounded); never blocks stopping.
  void (async () => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const pending = new Set(nodes.map((nd) => nd.index));
    const hashes = new Map<number, string>();
    while (pending.size > 0 && !stopping && Date.now() < deadline) {
      for (const nd of nodes) {
        if (!pending.has(nd.index)) continue;
        if (!running.has(nd.index)) {
          pending.delete(nd.index);
          continue;
        }
        const st = await getStatus(nd.url, 1000);
        if (stopping) return;
        if (st !== undefined) {
          pending.delete(nd.index);
          hashes.set(nd.index, String(st.genesisHash));
          out(`${nd.name} answers /status: chain ${String(st.chainId)}, height ${String(st.latestHeight)}`);
        }
      }
      if (pending.size > 0) await sleep(250);
    }
    if (stopping) return;
    if (pending.size > 0) {
      err(`testnet: ${[...pending].map((i) => `node${i}`).join(', ')} did not answer /status within ${READY_TIMEOUT_MS / 1000} s; see their node.log`);
      return;
    }
    const distinct = new Set(hashes.values());
    if (hashes.size === nodes.length) out(`testnet: all ${nodes.length} node(s) answer /status (genesis ${[...distinct].join(', ')})`);
    if (distinct.size > 1) err('testnet: the nodes report different genesis hashes; re-create the testnet with testnet init --force');
  })();

  await finished;
  out(`testnet: all nodes stopped${failed ? ' (not cleanly)' : ''}`);
  process.exitCode = failed ? 1 : 0;
}
