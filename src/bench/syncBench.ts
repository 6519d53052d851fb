/**
 * `npm run bench -- --scenario sync`: how fast a new node catches up, and
 * how long a node takes to restart, measured on `fastpos start` processes.
 *
 *   npm run bench -- --scenario sync [--backend sqlite|snapshot] [--parts snapshot,blocks,restart]
 *                    [--accounts 100000] [--small-accounts 10000] [--snapshot-at 100]
 *                    [--short-blocks 200] [--long-blocks 2000 (snapshot backend: 1000)] [--senders 400] [--txs-per-sender 50]
 *                    [--json] [--keep]
 *
 * - snapshot: node A (one validator, non-devnet chain id, a genesis funding
 *   `--accounts` accounts whose addresses are hashes of their index) takes a
 *   state snapshot at height `--snapshot-at`; once it is written A's
 *   production is paused, and node B (empty data dir, no validator
 *   key, `--sync-mode snapshot`, peer A) is started. Measured: A's own
 *   "state snapshot taken" line, B's time from its start to its "state
 *   installed from a snapshot" line and to A's height, entries per second.
 * - blocks: node A finalizes `--senders` × `--txs-per-sender` pre-signed
 *   transfers, production is paused, and node B (empty, `--sync-mode blocks`)
 *   catches up; blocks/s and tx/s from B's start to B's height = A's.
 * - restart: SIGTERM, then the same `fastpos start`; time to "API listening"
 *   and to /readyz 200, twice each, for the big state at `--short-blocks` and
 *   at `--long-blocks` heights, and for a `--small-accounts` state at
 *   `--short-blocks`: the first two show what the chain's length adds, the
 *   last what the state's size adds.
 *
 * Every wait is bounded by a deadline; nodes listen on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signTransfer } from '../client/sign.js';
import { freeLoopbackPorts } from '../cli/ports.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, encodeGenesis } from '../state/genesis.js';
import type { Genesis } from '../types/index.js';
import { RawConnection, jsonRequest } from './rawHttp.js';

export type SyncPart = 'snapshot' | 'blocks' | 'restart';

export interface SyncBenchOptions {
  readonly parts: ReadonlySet<SyncPart>;
  readonly accounts: number;
  readonly smallAccounts: number;
  readonly snapshotAt: number;
  readonly shortBlocks: number;
  readonly longBlocks: number;
  readonly senders: number;
  readonly txsPerSender: number;
  readonly concurrency: number;
  readonly backend: string;
  readonly keep: boolean;
  readonly json: boolean;
  readonly nodeArgs: readonly string[];
  readonly startArgs: readonly string[];
  readonly verifyRate: number;
  readonly timeLimitMs: number;
}

/** A line of a node's JSON log, when it arrived (performance.now() of this process). */
interface LogLine {
  readonly at: number;
  readonly level: number;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

/** Log messages kept for the figures; other lines only go to the recent-lines ring (shown on failure). */
const KEPT = new Set(['node started', 'API listening', 'state snapshot taken', 'syncing state from a snapshot', 'state installed from a snapshot', 'node stopped']);
const RECENT_LINES = 60;
/** Warnings and errors of one node copied to this process's stderr, at most. */
const FORWARDED_MAX = 40;
const ADMIN_TOKEN = sha256(`fastpos-bench-sync-admin-${process.pid}`).toString('hex');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number): string => (ms / 1000).toFixed(2);
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** One `fastpos start` child process and what it logged. */
class NodeProcess {
  readonly url: string;
  private child: ChildProcess | null = null;
  private kept: LogLine[] = [];
  private recent: string[] = [];
  private forwarded = 0;
  /** performance.now() when the current process was spawned. */
  spawnedAt = 0;

  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    private args: readonly string[],
    private readonly o: SyncBenchOptions,
    private readonly deadline: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Flags of the next start. */
  setArgs(args: readonly string[]): void {
    this.args = args;
  }

  /** Heights of the snapshots this process has taken so far. */
  snapshotHeights(): number[] {
    return this.kept.filter((k) => k.msg === 'state snapshot taken').map((k) => Number(k.fields.height));
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
    this.kept = [];
    this.recent = [];
    this.spawnedAt = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...this.o.nodeArgs,
        cli, 'start', '--data-dir', this.dataDir, '--host', '127.0.0.1', '--port', String(this.port), '--log-level', 'info',
        '--rate-limit-max', '0', '--rate-limit-read-bytes', '0', '--state-backend', this.o.backend, '--peer-discovery-interval-ms', '0',
        '--admin-token', ADMIN_TOKEN,
        ...this.args,
        ...this.o.startArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const take = (text: string): void => {
      const at = performance.now();
      this.recent.push(text.length > 600 ? text.slice(0, 600) + '…' : text);
      if (this.recent.length > RECENT_LINES) this.recent.shift();
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      const msg = typeof j.msg === 'string' ? j.msg : '';
      const level = typeof j.level === 'number' ? j.level : 0;
      if (KEPT.has(msg)) this.kept.push({ at, level, msg, fields: j });
      if (level >= 40 && this.forwarded < FORWARDED_MAX) {
        this.forwarded++;
        process.stderr.write(`[${this.name}] ${text.length > 400 ? text.slice(0, 400) + '…' : text}\n`);
      }
    };
    createInterface({ input: child.stdout! }).on('line', take);
    createInterface({ input: child.stderr! }).on('line', take);
  }

  /** The first kept line with `msg` since the last start (and matching `ok`), waiting for it. */
  async logLine(msg: string, ok: (l: LogLine) => boolean = () => true, timeoutMs = 600_000): Promise<LogLine> {
    const by = Math.min(this.deadline, performance.now() + timeoutMs);
    for (;;) {
      const l = this.kept.find((k) => k.msg === msg && ok(k));
      if (l !== undefined) return l;
      this.checkAlive(`"${msg}"`);
      if (performance.now() > by) throw this.failure(`timed out waiting for "${msg}"`);
      await sleep(5);
    }
  }

  /** Polls GET `path` until `ok` holds for its JSON (status 200), returning when it first did. */
  async until<T>(what: string, path: string, ok: (j: T) => boolean, everyMs = 20, timeoutMs = 600_000): Promise<{ at: number; value: T }> {
    const by = Math.min(this.deadline, performance.now() + timeoutMs);
    for (;;) {
      this.checkAlive(what);
      try {
        const r = await fetch(this.url + path, { signal: AbortSignal.timeout(5000) });
        const at = performance.now();
        if (r.status === 200) {
          const j = (await r.json()) as T;
          if (ok(j)) return { at, value: j };
        } else await r.body?.cancel();
      } catch {
        /* not listening yet, or a slow answer */
      }
      if (performance.now() > by) throw this.failure(`timed out waiting for ${what}`);
      await sleep(everyMs);
    }
  }

  async getJson<T>(path: string): Promise<T> {
    const r = await fetch(this.url + path, { signal: AbortSignal.timeout(10_000) });
    if (r.status !== 200) throw new Error(`${this.name} GET ${path}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
    return (await r.json()) as T;
  }

  async admin(path: string): Promise<void> {
    const r = await fetch(this.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(10_000),
    });
    if (r.status !== 200) throw new Error(`${this.name} POST ${path}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
    await r.body?.cancel();
  }

  async height(): Promise<number> {
    return (await this.getJson<{ latestHeight: number }>('/status')).latestHeight;
  }

  /** SIGTERM, and the wait for the exit (SIGKILL after 60 s). Returns the milliseconds the stop took. */
  async stop(): Promise<number> {
    const child = this.child;
    if (child === null || !this.running) return 0;
    const t = performance.now();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(killer);
    return performance.now() - t;
  }

  private checkAlive(what: string): void {
    if (this.child === null) throw new Error(`${this.name} was never started`);
    if (!this.running) throw this.failure(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) while waiting for ${what}`);
  }

  failure(message: string): Error {
    return new Error(`${this.name}: ${message}\n  last log lines of ${this.name}:\n    ${this.recent.slice(-25).join('\n    ')}`);
  }
}

/** `n` funded addresses: the first 40 hex of sha256 of their index. */
function accountAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => sha256(`fastpos-bench-sync-account-${i}`).toString('hex').slice(0, 40));
}

function makeGenesis(chainId: string, validator: Signer, addresses: readonly string[]): Genesis {
  return {
    chainId,
    genesisTime: 1_767_225_600_000,
    treasury: sha256('fastpos-bench-treasury').toString('hex').slice(0, 40),
    params: { ...DEFAULT_PARAMS, maxBlockTxs: 2000 },
    accounts: addresses.map((address) => ({ address, balance: 10n ** 15n })),
    validators: [{ pubKey: validator.publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
  };
}

/** A data dir with the genesis and, for a validator, its key. */
function prepareDir(dir: string, genesisJson: string, validatorSeed: string | null): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'genesis.json'), genesisJson);
  if (validatorSeed !== null) writeFileSync(join(dir, 'validator_key.json'), JSON.stringify({ privateKey: validatorSeed }), { mode: 0o600 });
}

interface RestartFigure {
  readonly label: string;
  readonly accounts: number;
  readonly height: number;
  readonly stopMs: number;
  readonly apiMs: number;
  readonly readyMs: number;
  /** Until the first block finalized after the restart. */
  readonly nextBlockMs: number;
}

export async function runSyncBench(o: SyncBenchOptions): Promise<void> {
  const deadline = performance.now() + o.timeLimitMs;
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-bench-sync-'));
  const validatorSeed = sha256('fastpos-bench-sync-validator').toString('hex');
  const validator = createSigner(validatorSeed);
  // Not a devnet chain id: a node without a key file holds no validator key.
  const chainId = 'fastpos-bench-sync';
  const nodes: NodeProcess[] = [];
  const ports = await freeLoopbackPorts(6);
  let nextPort = 0;
  const node = (name: string, args: readonly string[]): NodeProcess => {
    const n = new NodeProcess(name, join(dir, name), ports[nextPort++]!, args, o, deadline);
    nodes.push(n);
    return n;
  };
  // The machine may be shared: its load before and after the run goes with the figures.
  const out: Record<string, unknown> = { backend: o.backend, verifyRate: Math.round(o.verifyRate), loadAverageAtStart: loadavg().map((x) => Number(x.toFixed(2))) };
  const say = (line: string): void => {
    if (!o.json) process.stdout.write(line + '\n');
  };
  const restarts: RestartFigure[] = [];
  /** Stops `n`, starts it again with the same flags, and times the start; `times` restarts in a row. */
  const restart = async (n: NodeProcess, label: string, accounts: number, times: number): Promise<void> => {
    for (let k = 0; k < times; k++) {
      // A block in flight is committed before the stop; the height is read after.
      const stopMs = await n.stop();
      n.start();
      const api = await n.logLine('API listening');
      const ready = await n.until('/readyz', '/readyz', () => true, 10);
      const height = await n.height();
      const next = await n.until(`height ${height + 1}`, '/status', (st: { latestHeight: number }) => st.latestHeight > height, 10, 60_000);
      const f = { label, accounts, height, stopMs, apiMs: api.at - n.spawnedAt, readyMs: ready.at - n.spawnedAt, nextBlockMs: next.at - n.spawnedAt };
      restarts.push(f);
      say(
        `  restart ${label} #${k + 1}: height ${height}, stop ${seconds(stopMs)} s, API listening after ${seconds(f.apiMs)} s, /readyz ok after ${seconds(f.readyMs)} s, ` +
          `next block after ${seconds(f.nextBlockMs)} s`,
      );
    }
  };
  /** Lets `n` produce until `height` (empty blocks; the flags give a short idle interval). */
  const produceTo = async (n: NodeProcess, height: number): Promise<{ ms: number; from: number }> => {
    const from = await n.height();
    const t = performance.now();
    await n.until(`height ${height}`, '/status', (s: { latestHeight: number }) => s.latestHeight >= height, 100);
    return { ms: performance.now() - t, from };
  };

  try {
    // ------------------------------------------------------------ snapshot sync (and the big state's restarts)
    if (o.parts.has('snapshot') || o.parts.has('restart')) {
      const addresses = accountAddresses(o.accounts);
      const genesisJson = JSON.stringify(encodeGenesis(makeGenesis(chainId, validator, addresses)));
      say(`genesis: ${thousands(o.accounts)} funded accounts, ${(genesisJson.length / 1e6).toFixed(1)} MB`);
      // Empty blocks every 10 ms while idle: the chain grows quickly.
      const a = node('A', ['--idle-block-interval-ms', '10', ...(o.parts.has('snapshot') ? ['--snapshot-every-blocks', String(o.snapshotAt)] : ['--snapshot-every-blocks', '0'])]);
      prepareDir(a.dataDir, genesisJson, validatorSeed);
      a.start();
      const aApi = await a.logLine('API listening');
      say(`A (validator, ${thousands(o.accounts)} accounts) first start: API listening after ${seconds(aApi.at - a.spawnedAt)} s`);
      out.firstStartMs = Math.round(aApi.at - a.spawnedAt);

      if (o.parts.has('snapshot')) {
        const taken = await a.logLine('state snapshot taken', (l) => l.fields.height === o.snapshotAt);
        const snapEntries = Number(taken.fields.entries);
        const snapSeconds = Number(taken.fields.seconds);
        say(`A took the snapshot at height ${o.snapshotAt}: ${thousands(snapEntries)} entries, ${taken.fields.chunks} chunks in ${snapSeconds} s (${thousands(snapEntries / snapSeconds)} entries/s)`);
        // B is to find this snapshot and catch up the few blocks A made while taking it.
        await a.admin('/admin/production/pause');
        await sleep(200);
        const target = await a.height();
        say(`A paused at height ${target}; snapshots taken: ${a.snapshotHeights().join(', ')}`);

        const b = node('B', ['--sync-mode', 'snapshot', '--peers', a.url]);
        prepareDir(b.dataDir, genesisJson, null);
        b.start();
        const bApi = await b.logLine('API listening');
        const installed = await b.logLine('state installed from a snapshot');
        // Logged once the manifest and the snapshot's block are checked, before the chunks are fetched.
        const checked = await b.logLine('syncing state from a snapshot', () => true, 1000).catch(() => null);
        const reached = await b.until(`height ${target}`, '/status', (s: { latestHeight: number }) => s.latestHeight >= target, 20);
        const syncStatus = await b.getJson<{ height: number; earliestBlockHeight: number; progress: unknown }>('/sync/status');
        const readyz = await b.until('/readyz', '/readyz', () => true, 20, 30_000).then(
          (r) => r.at - b.spawnedAt,
          () => NaN,
        );
        const entries = Number(installed.fields.entries);
        const installMs = installed.at - b.spawnedAt;
        const fig = {
          snapshotHeight: Number(installed.fields.height),
          entries,
          takenSeconds: snapSeconds,
          takenEntries: snapEntries,
          apiMs: Math.round(bApi.at - b.spawnedAt),
          installedMs: Math.round(installMs),
          nodeReportedSeconds: Number(installed.fields.seconds),
          checkedMs: checked === null ? NaN : Math.round(checked.at - b.spawnedAt),
          reachedMs: Math.round(reached.at - b.spawnedAt),
          readyMs: Math.round(readyz),
          targetHeight: target,
          entriesPerSecondFromStart: Math.round(entries / (installMs / 1000)),
          entriesPerSecondFromApi: Math.round(entries / ((installed.at - bApi.at) / 1000)),
          entriesPerSecondNodeReported: Math.round(entries / Number(installed.fields.seconds)),
          earliestBlockHeight: syncStatus.earliestBlockHeight,
        };
        out.snapshotSync = fig;
        say(
          `B (full node, --sync-mode snapshot): API listening after ${seconds(fig.apiMs)} s; "state installed from a snapshot" at height ${fig.snapshotHeight} ` +
            `(${thousands(entries)} entries) after ${seconds(fig.installedMs)} s (node's own figure ${fig.nodeReportedSeconds} s; manifest and block checked after ${seconds(fig.checkedMs)} s); height ${target} after ${seconds(fig.reachedMs)} s; ` +
            `/readyz ok after ${Number.isNaN(readyz) ? 'not within 30 s' : `${seconds(readyz)} s`}; earliestBlockHeight ${syncStatus.earliestBlockHeight}`,
        );
        await b.stop();
      }

      if (o.parts.has('restart')) {
        if (o.parts.has('snapshot')) {
          // No snapshots from here on, so that every restart finds the same kind of data dir (and no snapshot being taken).
          a.setArgs(['--idle-block-interval-ms', '10', '--snapshot-every-blocks', '0']);
          await a.stop();
          a.start();
          await a.logLine('API listening');
          if ((await a.getJson<{ paused: boolean }>('/status')).paused) await a.admin('/admin/production/resume');
        }
        await produceTo(a, o.shortBlocks);
        await restart(a, `${thousands(o.accounts)} accounts, short chain`, o.accounts, 2);
        const p = await produceTo(a, o.longBlocks);
        say(`  A produced heights ${p.from}..${o.longBlocks} in ${seconds(p.ms)} s (${((o.longBlocks - p.from) / (p.ms / 1000)).toFixed(0)} blocks/s)`);
        await restart(a, `${thousands(o.accounts)} accounts, long chain`, o.accounts, 2);
      }
      await a.stop();

      if (o.parts.has('restart')) {
        const smallJson = JSON.stringify(encodeGenesis(makeGenesis(chainId, validator, accountAddresses(o.smallAccounts))));
        const c = node('C', ['--idle-block-interval-ms', '10', '--snapshot-every-blocks', '0']);
        prepareDir(c.dataDir, smallJson, validatorSeed);
        c.start();
        await c.logLine('API listening');
        await produceTo(c, o.shortBlocks);
        await restart(c, `${thousands(o.smallAccounts)} accounts, short chain`, o.smallAccounts, 2);
        await c.stop();
      }
    }

    // ------------------------------------------------------------ block sync
    if (o.parts.has('blocks')) {
      const blocksChain = 'fastpos-bench-sync-blocks';
      const signers = Array.from({ length: o.senders }, (_, i) => createSigner(sha256(`fastpos-bench-sync-sender-${i}`).toString('hex')));
      const sink = sha256('fastpos-bench-sink').toString('hex').slice(0, 40);
      const genesisJson = JSON.stringify(encodeGenesis(makeGenesis(blocksChain, validator, signers.map((s) => addressFromPubKey(s.publicKey)))));
      const total = o.senders * o.txsPerSender;
      say(`block sync: pre-signing ${thousands(total)} transfers from ${o.senders} senders ...`);
      const requests: Buffer[] = [];
      for (let n = 0; n < o.txsPerSender; n++) {
        for (const s of signers) {
          const { tx } = signTransfer(s, { chainId: blocksChain, nonce: n, to: sink, amount: 1n, fee: 1n });
          requests.push(jsonRequest('POST', '/tx', '127.0.0.1', JSON.stringify(tx)));
        }
      }
      const a = node('A2', ['--mempool-max-per-sender', String(Math.max(1000, o.txsPerSender)), '--mempool-nonce-window', String(Math.max(1000, o.txsPerSender))]);
      prepareDir(a.dataDir, genesisJson, validatorSeed);
      a.start();
      await a.until('height 1', '/status', (s: { latestHeight: number }) => s.latestHeight >= 1, 50);
      const conns = await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          const c = new RawConnection('127.0.0.1', a.port);
          await c.ready;
          return c;
        }),
      );
      let next = 0;
      let refused = 0;
      const tFill = performance.now();
      await Promise.all(
        conns.map(async (c) => {
          while (next < requests.length && performance.now() < deadline) {
            const r = await c.send(requests[next++]!);
            if (r.status !== 202) refused++;
          }
        }),
      );
      conns.forEach((c) => c.close());
      if (refused > 0) throw new Error(`block sync: ${refused} transfers refused by A2`);
      await a.until(`${total} transfers finalized`, `/accounts/${sink}`, (j: { balance: string }) => BigInt(j.balance) >= BigInt(total), 100);
      await a.admin('/admin/production/pause');
      await sleep(200);
      const target = await a.height();
      say(`A2 finalized ${thousands(total)} transfers in ${seconds(performance.now() - tFill)} s; paused at height ${target}`);

      const b = node('B2', ['--sync-mode', 'blocks', '--peers', a.url]);
      prepareDir(b.dataDir, genesisJson, null);
      b.start();
      const bApi = await b.logLine('API listening');
      const reached = await b.until(`height ${target}`, '/status', (s: { latestHeight: number }) => s.latestHeight >= target, 20);
      const balance = (await b.getJson<{ balance: string }>(`/accounts/${sink}`)).balance;
      const fromStart = (reached.at - b.spawnedAt) / 1000;
      const fromApi = (reached.at - bApi.at) / 1000;
      const fig = {
        blocks: target,
        txs: total,
        apiMs: Math.round(bApi.at - b.spawnedAt),
        reachedMs: Math.round(reached.at - b.spawnedAt),
        blocksPerSecond: Number((target / fromStart).toFixed(1)),
        txsPerSecond: Math.round(total / fromStart),
        blocksPerSecondFromApi: Number((target / fromApi).toFixed(1)),
        txsPerSecondFromApi: Math.round(total / fromApi),
        sinkBalanceOnB: balance,
      };
      out.blockSync = fig;
      say(
        `B2 (full node, --sync-mode blocks): API listening after ${seconds(fig.apiMs)} s; height ${target} after ${seconds(fig.reachedMs)} s: ` +
          `${fig.blocksPerSecond} blocks/s, ${thousands(fig.txsPerSecond)} tx/s from its start (${fig.blocksPerSecondFromApi} blocks/s, ${thousands(fig.txsPerSecondFromApi)} tx/s from API listening); sink balance on B2 ${balance}`,
      );
      await b.stop();
      await a.stop();
    }

    out.loadAverageAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
    if (restarts.length > 0) out.restarts = restarts.map((r) => ({ ...r, stopMs: Math.round(r.stopMs), apiMs: Math.round(r.apiMs), readyMs: Math.round(r.readyMs), nextBlockMs: Math.round(r.nextBlockMs) }));
    printTable(o, out, restarts);
  } catch (e) {
    for (const n of nodes) if (n.running) process.stderr.write(`(${n.name} was still running)\n`);
    throw e;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`data dirs kept under ${dir}\n`);
  }
}

function printTable(o: SyncBenchOptions, out: Record<string, unknown>, restarts: readonly RestartFigure[]): void {
  if (o.json) {
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }
  const rows: string[] = ['', `backend: ${o.backend}`, '| figure | value |', '|---|---|'];
  const s = out.snapshotSync as Record<string, number> | undefined;
  if (s !== undefined) {
    rows.push(`| snapshot taken on A (height ${o.snapshotAt}) | ${thousands(s.takenEntries!)} entries in ${s.takenSeconds} s (${thousands(s.takenEntries! / s.takenSeconds!)} entries/s) |`);
    rows.push(`| B: start → "state installed from a snapshot" (height ${s.snapshotHeight}) | ${seconds(s.installedMs!)} s, **${thousands(s.entriesPerSecondFromStart!)} entries/s** (from API listening: ${thousands(s.entriesPerSecondFromApi!)}/s; node's own ${s.nodeReportedSeconds} s: ${thousands(s.entriesPerSecondNodeReported!)}/s) |`);
    rows.push(`| B: start → manifest and snapshot block checked ("syncing state from a snapshot") | ${seconds(s.checkedMs!)} s (API listening ${seconds(s.apiMs!)} s) |`);
    rows.push(`| B: start → A's height ${s.targetHeight} | ${seconds(s.reachedMs!)} s |`);
  }
  const b = out.blockSync as Record<string, number> | undefined;
  if (b !== undefined) {
    rows.push(`| B2: start → height ${b.blocks} (${thousands(b.txs!)} txs) | ${seconds(b.reachedMs!)} s: **${b.blocksPerSecond} blocks/s, ${thousands(b.txsPerSecond!)} tx/s** (from API listening: ${b.blocksPerSecondFromApi} blocks/s, ${thousands(b.txsPerSecondFromApi!)} tx/s) |`);
  }
  for (const r of restarts) rows.push(`| restart, ${r.label} (height ${r.height}) | API listening ${seconds(r.apiMs)} s, /readyz ${seconds(r.readyMs)} s, next block ${seconds(r.nextBlockMs)} s |`);
  const load = (k: string): string => (out[k] as number[]).join(' / ');
  rows.push('', `verify/s (one core, this run): ${thousands(o.verifyRate)}`, `load average (1, 5, 15 min) at start: ${load('loadAverageAtStart')}; at end: ${load('loadAverageAtEnd')}`);
  process.stdout.write(rows.join('\n') + '\n');
}
