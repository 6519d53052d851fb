/**
 * Multi-process validator networks for end-to-end tests: N real `fastpos start`
 * child processes (the built CLI, dist/cli/main.js) on fixed loopback ports,
 * each with its own data dir, validator key and a shared genesis, every node
 * listing the others as peers. Plus polling, agreement and double-sign checks
 * over their HTTP APIs and data dirs.
 *
 * Every wait here is bounded in time; every loop in count.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { voteSignBytes } from '../../src/codec/block.js';
import { buildValidatorSet } from '../../src/consensus/validatorSet.js';
import { selectProposer } from '../../src/consensus/proposer.js';
import { generateKeyPair } from '../../src/client/keygen.js';
import { verifySignature, type KeyPair } from '../../src/crypto/ed25519.js';
import { addressFromPubKey, devAccount } from '../../src/crypto/keys.js';
import { freeLoopbackPorts } from '../../src/cli/ports.js';
import { saveKeyFile } from '../../src/node/keyFile.js';
import { DEFAULT_PARAMS, encodeGenesis, genesisEntries } from '../../src/state/genesis.js';
import type { Genesis, Validator, ValidatorSet } from '../../src/types/index.js';
import { CLI } from './proc.js';

export const CHAIN_ID = 'fastpos-localnet';
export const DEV_BALANCE = 10n ** 12n;

/** Flags that make a small loopback network decide a block every few hundred ms. */
export const FAST_ARGS: readonly string[] = [
  '--idle-block-interval-ms', '200',
  '--min-block-interval-ms', '10',
  '--timeout-propose-ms', '600',
  '--timeout-prevote-ms', '300',
  '--timeout-precommit-ms', '300',
  '--timeout-delta-ms', '200',
  '--peer-discovery-interval-ms', '0',
];

const MAX_LOG_LINES = 4000;

/** Children still alive: killed when the test process exits, whatever happens. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export interface NetNode {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  readonly key: KeyPair;
  /** Validator id (address of the consensus key). */
  readonly validatorId: string;
  /** The live child process, or null when the node is not running. */
  readonly proc: ChildProcess | null;
  /** Log lines (stdout and stderr) of every run of this node, most recent last (bounded). */
  readonly logs: string[];
  readonly running: boolean;
  /** Number of times the node was (re)started. */
  readonly starts: number;
  /** Starts the node (it must not be running); resolves when its API listens. */
  start(): Promise<void>;
  /** Sends a signal and resolves once the process has exited (bounded: SIGKILL after 8 s), with how it exited (null if it was not running). */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null>;
  /** Starts the node again with the same data dir, port and flags (killing it first with SIGKILL if it still runs). */
  restart(): Promise<void>;
}

export interface Network {
  readonly dir: string;
  readonly genesis: Genesis;
  readonly nodes: NetNode[];
  readonly urls: string[];
  /** The validator set of every height (no tx here changes it). */
  readonly set: ValidatorSet;
  /** Kills every node (SIGKILL) and removes the data dirs (kept when the env var KEEP_NET is set). */
  stop(): Promise<void>;
  /** The last `lines` log lines of every node, for failure messages. */
  logTail(lines?: number): string;
}

export interface NetworkOptions {
  readonly n: number;
  /** Stake per validator (default 1,000,000 each). */
  readonly stakes?: readonly bigint[];
  /** Flags added to every node (after FAST_ARGS unless `fast: false`). */
  readonly extraArgs?: readonly string[];
  /** Flags for one node only. */
  readonly nodeArgs?: (index: number) => readonly string[];
  /** Use FAST_ARGS (default true). */
  readonly fast?: boolean;
  /** Indexes of nodes not started now (their URL is still in everyone's peers). */
  readonly dontStart?: readonly number[];
  readonly logLevel?: string;
  /** More peer URLs every node is given (e.g. a test listener that records consensus messages). */
  readonly extraPeers?: readonly string[];
  /** Builds the genesis from every node's key (default: `makeGenesis`, every node a validator). */
  readonly genesis?: (keys: readonly KeyPair[]) => Genesis;
  /** What a node runs instead of the built CLI: node arguments before `start` (e.g. a test-only entry script). */
  readonly entry?: (index: number) => readonly string[] | undefined;
  /** Gives every node a validator-network listener of its own (`--p2p-port`); peers are told those URLs. */
  readonly p2pPorts?: boolean;
}

export function makeGenesis(keys: readonly KeyPair[], stakes?: readonly bigint[]): Genesis {
  return {
    chainId: CHAIN_ID,
    genesisTime: 1_767_225_600_000,
    treasury: 'ab'.repeat(20),
    params: { ...DEFAULT_PARAMS, governance: [devAccount(0).address] },
    accounts: Array.from({ length: 10 }, (_, i) => ({ address: devAccount(i).address, balance: DEV_BALANCE })),
    validators: keys.map((k, i) => ({ pubKey: k.publicKey, stake: stakes?.[i] ?? 1_000_000n, workWeight: 10_000 })),
  };
}

export function validatorSetOf(genesis: Genesis): ValidatorSet {
  return buildValidatorSet(genesisEntries(genesis).filter(([k]) => k.startsWith('val/')).map(([, v]) => v as Validator));
}

/** The round-0 (or round-r) proposer of a height, as every node computes it. */
export function proposerOf(set: ValidatorSet, height: number, round = 0): string {
  return selectProposer(set, height, round).id;
}

export async function startNetwork(opts: NetworkOptions): Promise<Network> {
  const root = mkdtempSync(join(tmpdir(), 'fastpos-net-'));
  const keys = Array.from({ length: opts.n }, () => generateKeyPair());
  const genesis = opts.genesis?.(keys) ?? makeGenesis(keys, opts.stakes);
  const allPorts = await freeLoopbackPorts(opts.p2pPorts === true ? 2 * opts.n : opts.n);
  const ports = allPorts.slice(0, opts.n);
  const p2pPorts = opts.p2pPorts === true ? allPorts.slice(opts.n) : [];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const peerUrls = opts.p2pPorts === true ? p2pPorts.map((p) => `http://127.0.0.1:${p}`) : urls;
  const genesisJson = JSON.stringify(encodeGenesis(genesis), null, 2);
  const nodes: NetNode[] = [];
  const streams: WriteStream[] = [];
  for (let i = 0; i < opts.n; i++) {
    const dir = join(root, `node${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'genesis.json'), genesisJson);
    saveKeyFile(join(dir, 'validator_key.json'), keys[i]!.privateKey);
    const args = [
      ...(opts.entry?.(i) ?? [CLI]), 'start',
      '--data-dir', dir,
      '--host', '127.0.0.1',
      '--port', String(ports[i]),
      ...(opts.p2pPorts === true ? ['--p2p-port', String(p2pPorts[i])] : []),
      '--peers', [...peerUrls.filter((_, j) => j !== i), ...(opts.extraPeers ?? [])].join(','),
      '--log-level', opts.logLevel ?? 'info',
      ...(opts.fast === false ? [] : FAST_ARGS),
      ...(opts.extraArgs ?? []),
      ...(opts.nodeArgs?.(i) ?? []),
    ];
    const logFile = createWriteStream(join(dir, 'node.log'), { flags: 'a' });
    logFile.on('error', () => undefined); // a log file is never worth failing a test
    streams.push(logFile);
    nodes.push(makeNode(i, ports[i]!, urls[i]!, dir, keys[i]!, args, logFile));
  }
  const net: Network = {
    dir: root,
    genesis,
    nodes,
    urls,
    set: validatorSetOf(genesis),
    async stop() {
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
      await Promise.all(streams.map((s) => new Promise<void>((r) => s.end(() => r()))));
      if (process.env.KEEP_NET === undefined) rmSync(root, { recursive: true, force: true });
      else process.stderr.write(`network data kept in ${root}\n`);
    },
    logTail(lines = 40) {
      return nodes.map((n) => `--- node ${n.index} (${n.url}, ${n.validatorId}, running=${n.running}) ---\n${n.logs.slice(-lines).join('\n')}`).join('\n');
    },
  };
  try {
    const skip = new Set(opts.dontStart ?? []);
    await Promise.all(nodes.filter((n) => !skip.has(n.index)).map((n) => n.start()));
  } catch (e) {
    await net.stop();
    throw e;
  }
  return net;
}

function makeNode(index: number, port: number, url: string, dir: string, key: KeyPair, args: string[], logFile: WriteStream): NetNode {
  let proc: ChildProcess | null = null;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
  let starts = 0;
  const logs: string[] = [];
  const log = (line: string): void => {
    logs.push(line);
    if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
    if (!logFile.writableEnded && !logFile.destroyed) logFile.write(line + '\n');
  };
  const node: NetNode = {
    index,
    port,
    url,
    dir,
    key,
    validatorId: addressFromPubKey(key.publicKey),
    get proc() {
      return proc;
    },
    logs,
    get running() {
      return proc !== null;
    },
    get starts() {
      return starts;
    },
    start() {
      assert.equal(proc, null, `node ${index} is already running`);
      starts++;
      log(`### start #${starts}: node ${args.slice(1).join(' ')}`);
      const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc = p;
      live.add(p);
      exited = new Promise((resolve) =>
        p.once('exit', (code, signal) => {
          live.delete(p);
          log(`### exited code=${code} signal=${signal}`);
          if (proc === p) proc = null;
          resolve({ code, signal });
        }),
      );
      const gone = exited;
      createInterface({ input: p.stderr! }).on('line', log);
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          p.kill('SIGKILL');
          reject(new Error(`node ${index} did not start in 20 s:\n${logs.slice(-30).join('\n')}`));
        }, 20_000);
        void gone.then(() => {
          clearTimeout(timer);
          reject(new Error(`node ${index} exited before listening:\n${logs.slice(-30).join('\n')}`));
        });
        createInterface({ input: p.stdout! }).on('line', (line) => {
          log(line);
          if (line.includes('"API listening"')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      const p = proc;
      if (p === null) return null;
      const done = exited;
      p.kill(signal);
      const force = setTimeout(() => p.kill('SIGKILL'), 8_000);
      const how = await done;
      clearTimeout(force);
      return how;
    },
    async restart() {
      if (proc !== null) await node.kill('SIGKILL');
      await node.start();
    },
  };
  return node;
}

// ---------------------------------------------------------------- HTTP helpers

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET a JSON document (bounded in time); throws on a non-200 answer. */
export async function getJson<T = any>(url: string, timeoutMs = 3000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

/**
 * Polls `fn` until it returns a value other than undefined/false (errors count
 * as "not yet"), at most `timeoutMs`; throws with `what` and the last error.
 */
export async function waitUntil<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what = 'condition', intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (let i = 0; i < 100_000; i++) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr === undefined ? '' : ` (last error: ${(lastErr as Error).message})`}`);
}

export interface Status {
  latestHeight: number;
  latestHash: string;
  stateRoot: string;
  chainId: string;
  genesisHash: string;
  mempool: { txs: number; bytes: number; memoryBytes: number };
}

export function status(n: NetNode | string): Promise<Status> {
  return getJson<Status>(`${typeof n === 'string' ? n : n.url}/status`);
}

/** Latest height of a node, or -1 when it does not answer. */
export async function heightOf(n: NetNode | string): Promise<number> {
  try {
    return (await status(n)).latestHeight;
  } catch {
    return -1;
  }
}

/** Latest heights of the nodes (-1 for those that do not answer). */
export function heights(nodes: readonly NetNode[]): Promise<number[]> {
  return Promise.all(nodes.map((n) => heightOf(n)));
}

/** Waits until every node in `nodes` has finalized at least `height`; returns their heights. */
export function waitForHeight(nodes: readonly NetNode[], height: number, timeoutMs: number): Promise<number[]> {
  return waitUntil(
    async () => {
      const hs = await heights(nodes);
      return hs.every((h) => h >= height) ? hs : undefined;
    },
    timeoutMs,
    `nodes ${nodes.map((n) => n.index).join(',')} to reach height ${height}`,
    150,
  );
}

/** Hash of the block at `height` on a node. */
export async function blockHashAt(n: NetNode | string, height: number): Promise<string> {
  return (await getJson<{ hash: string }>(`${typeof n === 'string' ? n : n.url}/blocks/${height}`)).hash;
}

export interface WireCommit {
  height: number;
  round: number;
  blockHash: string;
  signatures: { validatorId: string; signature: string }[];
}

export interface WireBlock {
  header: { height: number; round: number; proposer: string; prevHash: string; stateRoot: string; txCount: number; timestamp: number };
  hash: string;
  txs: Record<string, unknown>[];
  results: { success: boolean; error?: string }[];
  commit: WireCommit;
  lastCommit: WireCommit | null;
}

/** Blocks [from, to] of a node, fetched 100 at a time. */
export async function fetchBlocks(n: NetNode | string, from: number, to: number): Promise<WireBlock[]> {
  const base = typeof n === 'string' ? n : n.url;
  const out: WireBlock[] = [];
  for (let next = from; next <= to && out.length < 1_000_000; ) {
    const limit = Math.min(100, to - next + 1);
    const page = await getJson<WireBlock[]>(`${base}/blocks?from=${next}&limit=${limit}`, 10_000);
    if (page.length === 0) break;
    out.push(...page);
    next = page[page.length - 1]!.header.height + 1;
  }
  return out;
}

/**
 * Asserts that every node reports the same block hash at every height 1..upTo
 * (each node must have all of them), and that each chain links (prevHash).
 * Returns the blocks of each node (index-aligned with `nodes`).
 */
export async function checkAgreement(nodes: readonly NetNode[], upTo: number): Promise<WireBlock[][]> {
  const chains = await Promise.all(nodes.map((n) => fetchBlocks(n, 1, upTo)));
  chains.forEach((c, i) => assert.equal(c.length, upTo, `node ${nodes[i]!.index} has ${c.length} blocks, expected ${upTo}`));
  for (let h = 1; h <= upTo; h++) {
    const hashes = chains.map((c) => c[h - 1]!.hash);
    assert.equal(new Set(hashes).size, 1, `nodes disagree at height ${h}: ${hashes.map((x, i) => `node${nodes[i]!.index}=${x}`).join(' ')}`);
    for (const c of chains) {
      const b = c[h - 1]!;
      assert.equal(b.header.height, h);
      assert.equal(b.commit.blockHash, b.hash, `certificate of height ${h} is for another block`);
      if (h > 1) assert.equal(b.header.prevHash, c[h - 2]!.hash, `height ${h} does not link to height ${h - 1}`);
    }
  }
  return chains;
}

/** The smallest height over the nodes that answer (every node given must answer). */
export async function commonHeight(nodes: readonly NetNode[]): Promise<number> {
  const hs = await heights(nodes);
  assert.ok(hs.every((h) => h >= 0), `some node does not answer: heights ${hs.join(',')}`);
  return Math.min(...hs);
}

// ---------------------------------------------------------------- double signing

export interface GuardRecord {
  height: number;
  round: number;
  step: 'proposal' | 'prevote' | 'precommit';
  blockHash: string | null;
  signature: string;
}

/** The double-sign guard record of a node's data dir (`priv_validator_state.json`), or null if absent. */
export function readGuard(dir: string): { last: Record<string, GuardRecord>; lock: unknown } | null {
  const file = join(dir, 'priv_validator_state.json');
  if (!existsSync(file)) return null;
  const j = JSON.parse(readFileSync(file, 'utf8')) as { state: { last: Record<string, GuardRecord>; lock: unknown } };
  return j.state;
}

export interface DoubleSignReport {
  /** Distinct (height, round, validator) precommits seen. */
  precommits: number;
  certificates: number;
  conflicts: string[];
}

/**
 * Looks for a validator that signed two different precommits for one
 * (height, round): over every certificate (`commit` and `lastCommit`) of every
 * block held by every node (heights 1..upTo of each, whatever it has), plus the
 * last precommit each node's guard file records. Every certificate signature is
 * also checked to verify. Returns the report; `assertNoDoubleSign` asserts it.
 */
export async function collectPrecommits(net: Network, nodes: readonly NetNode[], upTo: number): Promise<DoubleSignReport> {
  const pubKeys = new Map(net.set.validators.map((v) => [v.id, v.pubKey]));
  const seen = new Map<string, { hash: string | null; where: string }>();
  const conflicts: string[] = [];
  let certificates = 0;
  const note = (height: number, round: number, validatorId: string, hash: string | null, where: string): void => {
    const key = `${height}/${round}/${validatorId}`;
    const before = seen.get(key);
    if (before === undefined) seen.set(key, { hash, where });
    else if (before.hash !== hash) conflicts.push(`validator ${validatorId} precommitted ${before.hash} (${before.where}) and ${hash} (${where}) at height ${height} round ${round}`);
  };
  const keyCache = new Map();
  const cert = (c: WireCommit, where: string): void => {
    certificates++;
    for (const s of c.signatures) {
      const pk = pubKeys.get(s.validatorId);
      assert.ok(pk !== undefined, `${where}: signer ${s.validatorId} is not a validator`);
      const bytes = voteSignBytes({ type: 'precommit', chainId: CHAIN_ID, height: c.height, round: c.round, validatorId: s.validatorId, blockHash: c.blockHash });
      assert.ok(verifySignature(pk, bytes, s.signature, keyCache), `${where}: precommit signature of ${s.validatorId} does not verify`);
      note(c.height, c.round, s.validatorId, c.blockHash, where);
    }
  };
  for (const n of nodes) {
    const h = Math.min(upTo, await heightOf(n));
    if (h <= 0) continue;
    for (const b of await fetchBlocks(n, 1, h)) {
      cert(b.commit, `node${n.index} commit of block ${b.header.height}`);
      if (b.lastCommit !== null) cert(b.lastCommit, `node${n.index} lastCommit in block ${b.header.height}`);
    }
  }
  for (const n of net.nodes) {
    const g = readGuard(n.dir);
    if (g === null) continue;
    for (const [id, r] of Object.entries(g.last)) {
      if (r.step === 'precommit') note(r.height, r.round, id, r.blockHash, `node${n.index} guard file`);
    }
  }
  return { precommits: seen.size, certificates, conflicts };
}

export async function assertNoDoubleSign(net: Network, nodes: readonly NetNode[], upTo: number): Promise<DoubleSignReport> {
  const r = await collectPrecommits(net, nodes, upTo);
  assert.deepEqual(r.conflicts, [], 'double signatures found');
  assert.ok(r.certificates > 0, 'no certificate was checked');
  return r;
}

/** Equivocation evidence that nodes report at GET /p2p/evidence. */
export async function evidenceOf(nodes: readonly NetNode[]): Promise<unknown[]> {
  const all = await Promise.all(nodes.map((n) => getJson<unknown[]>(`${n.url}/p2p/evidence`)));
  return all.flat();
}

/** Runs `body` against a network and always stops it; a failure carries the nodes' log tails. */
export async function withNetwork<T>(opts: NetworkOptions, body: (net: Network) => Promise<T>): Promise<T> {
  const net = await startNetwork(opts);
  try {
    return await body(net);
  } catch (e) {
    if (e instanceof Error) e.message += `\n\nnode logs (tail):\n${net.logTail(25)}`;
    throw e;
  } finally {
    await net.stop();
  }
}

/** Deterministic pseudo-random numbers (LCG) for reproducible fault schedules. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
