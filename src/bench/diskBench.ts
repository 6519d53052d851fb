/**
 * `npm run bench -- --scenario disk`: the disk use of one node's data dir
 * under a steady transfer load, with pruning on and (for comparison, shorter)
 * without it, measured on `fastpos start` processes.
 *
 *   npm run bench -- --scenario disk [--backend sqlite|snapshot] [--rate 200] [--prune-keep-blocks 200]
 *                    [--blocks 20000] [--run-time-s 360] [--sample-every 1000]
 *                    [--compare-blocks 5000] [--compare-time-s 120] [--senders 400] [--concurrency 64] [--keep]
 *
 * One validator (non-devnet chain id, a genesis with evidenceMaxAgeBlocks 100
 * so that the pruning floor is 100) runs with `--prune-keep-blocks`, short
 * block intervals (10 ms, no commit gathering) and default snapshots, while
 * pre-signed transfers from `--senders` senders arrive at `--rate` tx/s, one
 * per request over at most `--concurrency` connections (open loop: the k-th
 * is due at k / rate s). The run ends at `--blocks` blocks or after
 * `--run-time-s`, whichever comes first. Every `--sample-every` blocks the
 * data dir is walked (every file, subfolders and the SQLite WAL included):
 * height, earliest kept block (GET /status), total bytes, biggest file. The
 * dir is also walked at every poll of /status (every 200 ms) for the peak.
 * Then a second node, same genesis and load, runs without pruning for
 * `--compare-blocks` blocks or `--compare-time-s` (0 = skip it).
 *
 * Every wait is bounded by a deadline; nodes listen on 127.0.0.1 only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signTransfer } from '../client/sign.js';
import { freeLoopbackPorts } from '../cli/ports.js';
import { createSigner } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { addressFromPubKey } from '../crypto/keys.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, encodeGenesis } from '../state/genesis.js';
import type { Genesis } from '../types/index.js';
import { RawConnection, jsonRequest } from './rawHttp.js';

export interface DiskBenchOptions {
  readonly backend: string;
  /** Offered load, tx/s. */
  readonly rate: number;
  readonly pruneKeepBlocks: number;
  readonly blocks: number;
  readonly runTimeMs: number;
  readonly sampleEvery: number;
  /** The run without pruning: blocks and time (either 0 = no such run). */
  readonly compareBlocks: number;
  readonly compareTimeMs: number;
  readonly senders: number;
  readonly concurrency: number;
  readonly keep: boolean;
  readonly nodeArgs: readonly string[];
  readonly startArgs: readonly string[];
  readonly verifyRate: number;
}

/** The genesis's evidence window: the pruning floor is max(100, this). */
const EVIDENCE_MAX_AGE_BLOCKS = 100;
const POLL_MS = 200;
/** Walks of a dir: at most this many entries (the data dir holds a handful of files). */
const MAX_DIR_ENTRIES = 10_000;
const FORWARDED_MAX = 40;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => (bytes / 1_048_576).toFixed(2);

/** Every file under `dir` (relative path → bytes); files removed during the walk are skipped. */
function dirFiles(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const stack = [dir];
  let seen = 0;
  while (stack.length > 0 && seen < MAX_DIR_ENTRIES) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      if (++seen > MAX_DIR_ENTRIES) break;
      const p = join(d, name);
      const s = statSync(p, { throwIfNoEntry: false });
      if (s === undefined) continue;
      if (s.isDirectory()) stack.push(p);
      else if (s.isFile()) out.set(relative(dir, p), s.size);
    }
  }
  return out;
}

function total(files: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of files.values()) n += v;
  return n;
}

function biggest(files: ReadonlyMap<string, number>, count: number): [string, number][] {
  return [...files].sort((a, b) => b[1] - a[1]).slice(0, count);
}

interface Sample {
  readonly height: number;
  readonly earliest: number;
  readonly seconds: number;
  readonly bytes: number;
  readonly files: Map<string, number>;
}

interface RunResult {
  readonly label: string;
  readonly prune: number;
  readonly samples: Sample[];
  readonly peak: { bytes: number; height: number; files: Map<string, number> };
  readonly end: Sample;
  readonly seconds: number;
  readonly accepted: number;
  readonly refused: Map<string, number>;
  readonly finalized: bigint;
}

/** A `fastpos start` child with piped logs (warnings and errors forwarded, the last lines kept for failures). */
function startNode(o: DiskBenchOptions, dataDir: string, port: number, args: readonly string[], name: string): { child: ChildProcess; recent: string[] } {
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      ...o.nodeArgs,
      cli, 'start', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn',
      '--rate-limit-max', '0', '--rate-limit-read-bytes', '0', '--state-backend', o.backend, '--peer-discovery-interval-ms', '0',
      ...args,
      ...o.startArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const recent: string[] = [];
  let forwarded = 0;
  const take = (line: string): void => {
    recent.push(line.length > 600 ? line.slice(0, 600) + '…' : line);
    if (recent.length > 30) recent.shift();
    if (forwarded < FORWARDED_MAX) {
      forwarded++;
      process.stderr.write(`[${name}] ${line.length > 400 ? line.slice(0, 400) + '…' : line}\n`);
    }
  };
  createInterface({ input: child.stdout! }).on('line', take);
  createInterface({ input: child.stderr! }).on('line', take);
  return { child, recent };
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(killer);
}

async function status(url: string): Promise<{ latestHeight: number; earliestBlockHeight?: number } | null> {
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(5000) });
    if (r.status !== 200) {
      await r.body?.cancel();
      return null;
    }
    return (await r.json()) as { latestHeight: number; earliestBlockHeight?: number };
  } catch {
    return null;
  }
}

export async function runDiskBench(o: DiskBenchOptions): Promise<void> {
  const loadAtStart = loadavg().map((x) => x.toFixed(2));
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-bench-disk-'));
  const chainId = 'fastpos-bench-disk';
  const validatorSeed = sha256('fastpos-bench-disk-validator').toString('hex');
  const validator = createSigner(validatorSeed);
  const signers = Array.from({ length: o.senders }, (_, i) => createSigner(sha256(`fastpos-bench-disk-sender-${i}`).toString('hex')));
  const sink = sha256('fastpos-bench-sink').toString('hex').slice(0, 40);
  const genesis: Genesis = {
    chainId,
    genesisTime: 1_767_225_600_000,
    treasury: sha256('fastpos-bench-treasury').toString('hex').slice(0, 40),
    params: { ...DEFAULT_PARAMS, maxBlockTxs: 2000, evidenceMaxAgeBlocks: EVIDENCE_MAX_AGE_BLOCKS },
    accounts: signers.map((s) => ({ address: addressFromPubKey(s.publicKey), balance: 10n ** 15n })),
    validators: [{ pubKey: validator.publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
  };
  const genesisJson = JSON.stringify(encodeGenesis(genesis));

  // Enough pre-signed transfers for the longer of the two runs at the offered rate (both nodes start from nonce 0).
  const longest = Math.max(o.runTimeMs, o.compareBlocks > 0 ? o.compareTimeMs : 0);
  const perSender = Math.ceil(((o.rate * longest) / 1000) * 1.02 / o.senders) + 1;
  const count = perSender * o.senders;
  process.stdout.write(`pre-signing ${thousands(count)} transfers from ${o.senders} senders ...\n`);
  const tSign = performance.now();
  const requests: Buffer[] = [];
  for (let n = 0; n < perSender; n++) {
    for (const s of signers) {
      const { tx } = signTransfer(s, { chainId, nonce: n, to: sink, amount: 1n, fee: 1n });
      requests.push(jsonRequest('POST', '/tx', '127.0.0.1', JSON.stringify(tx)));
    }
  }
  process.stdout.write(`  signed in ${((performance.now() - tSign) / 1000).toFixed(1)} s\n`);
  const ports = await freeLoopbackPorts(2);
  const results: RunResult[] = [];

  const run = async (label: string, prune: number, blocks: number, timeMs: number, port: number): Promise<RunResult> => {
    const dataDir = join(dir, label);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'genesis.json'), genesisJson);
    writeFileSync(join(dataDir, 'validator_key.json'), JSON.stringify({ privateKey: validatorSeed }), { mode: 0o600 });
    const url = `http://127.0.0.1:${port}`;
    const { child, recent } = startNode(o, dataDir, port, [
      '--prune-keep-blocks', String(prune),
      '--min-block-interval-ms', '10',
      '--idle-block-interval-ms', '10',
      '--commit-gather-ms', '0',
      '--mempool-max-per-sender', '1000',
      '--mempool-nonce-window', '1000',
    ], label);
    const fail = (m: string): Error => new Error(`${label}: ${m}\n  last log lines:\n    ${recent.join('\n    ')}`);
    try {
      const upBy = performance.now() + 60_000;
      for (;;) {
        const st = await status(url);
        if (st !== null && st.latestHeight >= 1) break;
        if (child.exitCode !== null || child.signalCode !== null) throw fail(`exited (${child.exitCode ?? child.signalCode}) at start`);
        if (performance.now() > upBy) throw fail('did not start and finalize within 60 s');
        await sleep(100);
      }
      process.stdout.write(`\n${label}: ${o.backend}, pruneKeepBlocks ${prune}, ${o.rate} tx/s offered, until height ${thousands(blocks)} or ${(timeMs / 1000).toFixed(0)} s\n`);
      process.stdout.write(`| height | earliest kept block | seconds | total MiB | biggest file (MiB) |\n|---|---|---|---|---|\n`);
      const t0 = performance.now();
      const deadline = t0 + timeMs;
      let stop = false;
      let accepted = 0;
      const refused = new Map<string, number>();
      const conns = await Promise.all(
        Array.from({ length: o.concurrency }, async () => {
          const c = new RawConnection('127.0.0.1', port);
          await c.ready;
          return c;
        }),
      );
      let next = 0;
      const sending = Promise.all(
        conns.map(async (c) => {
          while (!stop && next < requests.length && performance.now() < deadline) {
            const k = next++;
            const wait = t0 + (k * 1000) / o.rate - performance.now();
            if (wait > 0) await sleep(wait);
            if (stop) break;
            const r = await c.send(requests[k]!);
            if (r.status === 202) accepted++;
            else {
              let code = String(r.status);
              try {
                code = (JSON.parse(r.body) as { error?: { code?: string } }).error?.code ?? code;
              } catch {
                /* not JSON */
              }
              refused.set(code, (refused.get(code) ?? 0) + 1);
            }
          }
        }),
      );
      const samples: Sample[] = [];
      let peak = { bytes: 0, height: 0, files: new Map<string, number>() };
      let nextSample = o.sampleEvery;
      let last: Sample | null = null;
      while (performance.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) throw fail(`exited (${child.exitCode ?? child.signalCode}) during the run`);
        const st = await status(url);
        if (st !== null) {
          const files = dirFiles(dataDir);
          const bytes = total(files);
          last = { height: st.latestHeight, earliest: st.earliestBlockHeight ?? 1, seconds: (performance.now() - t0) / 1000, bytes, files };
          if (bytes > peak.bytes) peak = { bytes, height: st.latestHeight, files };
          if (st.latestHeight >= nextSample) {
            samples.push(last);
            const [big] = biggest(files, 1);
            process.stdout.write(`| ${thousands(last.height)} | ${thousands(last.earliest)} | ${last.seconds.toFixed(0)} | ${mb(bytes)} | ${big === undefined ? '-' : `${big[0]} ${mb(big[1])}`} |\n`);
            while (nextSample <= st.latestHeight) nextSample += o.sampleEvery;
          }
          if (st.latestHeight >= blocks) break;
        }
        await sleep(POLL_MS);
      }
      stop = true;
      await sending;
      conns.forEach((c) => c.close());
      const seconds = (performance.now() - t0) / 1000;
      // Transfers finalized: the sink's balance (1 per transfer).
      let finalized = -1n;
      try {
        const r = await fetch(`${url}/accounts/${sink}`, { signal: AbortSignal.timeout(5000) });
        if (r.status === 200) finalized = BigInt(((await r.json()) as { balance: string }).balance);
        else await r.body?.cancel();
      } catch {
        /* reported as -1 */
      }
      if (last === null) throw fail('no status answered during the run');
      if (samples.length === 0 || samples[samples.length - 1]!.height !== last.height) {
        samples.push(last);
        const [big] = biggest(last.files, 1);
        process.stdout.write(`| ${thousands(last.height)} (end) | ${thousands(last.earliest)} | ${last.seconds.toFixed(0)} | ${mb(last.bytes)} | ${big === undefined ? '-' : `${big[0]} ${mb(big[1])}`} |\n`);
      }
      return { label, prune, samples, peak, end: last, seconds, accepted, refused, finalized };
    } finally {
      await stopNode(child);
    }
  };

  try {
    results.push(await run('pruned', o.pruneKeepBlocks, o.blocks, o.runTimeMs, ports[0]!));
    if (o.compareBlocks > 0 && o.compareTimeMs > 0) results.push(await run('unpruned', 0, o.compareBlocks, o.compareTimeMs, ports[1]!));
    report(o, results, loadAtStart);
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`data dirs kept under ${dir}\n`);
  }
}

function report(o: DiskBenchOptions, results: readonly RunResult[], loadAtStart: readonly string[]): void {
  const rows: string[] = [''];
  for (const r of results) {
    const end = r.end;
    const refused = [...r.refused].map(([k, v]) => `${k} ${v}`).join(', ');
    rows.push(
      `${r.label} (pruneKeepBlocks ${r.prune}): height ${thousands(end.height)} in ${r.seconds.toFixed(0)} s (${(end.height / r.seconds).toFixed(1)} blocks/s), ` +
        `${thousands(r.accepted)} transfers accepted (${(r.accepted / r.seconds).toFixed(0)}/s)${refused === '' ? '' : `, refused: ${refused}`}, ${r.finalized.toString()} finalized; ` +
        `earliest kept block ${thousands(end.earliest)}; data dir ${mb(end.bytes)} MiB at the end, peak ${mb(r.peak.bytes)} MiB at height ${thousands(r.peak.height)}`,
    );
    // Growth between the first sample (past two windows, when pruning) and the end.
    const from = r.samples.find((s) => r.prune === 0 || s.height >= 2 * r.prune) ?? r.samples[0]!;
    if (from.height < end.height) {
      rows.push(`  from height ${thousands(from.height)} (${mb(from.bytes)} MiB) to ${thousands(end.height)}: ${((end.bytes - from.bytes) / (end.height - from.height)).toFixed(0)} bytes per block, end/first = ${(end.bytes / from.bytes).toFixed(2)}`);
      const names = new Set([...from.files.keys(), ...end.files.keys()]);
      const lines = [...names]
        .map((n) => ({ n, a: from.files.get(n) ?? 0, b: end.files.get(n) ?? 0 }))
        .sort((x, y) => y.b - x.b)
        .slice(0, 8);
      rows.push(`  | file | bytes at ${thousands(from.height)} | bytes at ${thousands(end.height)} | bytes per block between |`, '  |---|---|---|---|');
      for (const l of lines) rows.push(`  | ${l.n} | ${thousands(l.a)} | ${thousands(l.b)} | ${((l.b - l.a) / (end.height - from.height)).toFixed(0)} |`);
    }
    rows.push(`  biggest files at the peak: ${biggest(r.peak.files, 4).map(([n, b]) => `${n} ${mb(b)} MiB`).join(', ')}`);
  }
  const pruned = results.find((r) => r.prune > 0);
  const unpruned = results.find((r) => r.prune === 0);
  if (pruned !== undefined && unpruned !== undefined) {
    rows.push('', '| height | pruned MiB | unpruned MiB |', '|---|---|---|');
    for (const u of unpruned.samples) {
      // The pruned run's sample nearest in height.
      const p = pruned.samples.reduce((a, s) => (Math.abs(s.height - u.height) < Math.abs(a.height - u.height) ? s : a));
      rows.push(`| ${thousands(u.height)} | ${mb(p.bytes)} (at ${thousands(p.height)}) | ${mb(u.bytes)} |`);
    }
  }
  rows.push('', `verify/s (one core, this run): ${thousands(o.verifyRate)}`, `load average (1, 5, 15 min) at start: ${loadAtStart.join(' / ')}; at end: ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
  process.stdout.write(rows.join('\n') + '\n');
}
