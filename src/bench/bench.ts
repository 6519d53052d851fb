/**
 * `npm run bench`: end-to-end throughput and finality latency of one local
 * node, measured from outside over HTTP, next to the machine's own Ed25519
 * verify rate measured in the same run.
 *
 *   npm run bench -- [--senders 400] [--txs-per-sender 50] [--concurrency 64]
 *                    [--backend sqlite|snapshot] [--workers 2] [--keep]
 *
 * It writes a genesis that funds the senders, starts `fastpos start` as a
 * child process, pre-signs every transfer, submits them one per request with
 * bounded concurrency, follows finalized blocks, and prints the figures.
 * Every loop is bounded in count and time.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { signTransfer } from '../client/sign.js';
import { createSigner } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { addressFromPubKey, devValidator } from '../crypto/keys.js';
import { RawConnection, jsonRequest } from './rawHttp.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, encodeGenesis } from '../state/genesis.js';
import type { Genesis } from '../types/index.js';


const args = parseArgs({
  options: {
    senders: { type: 'string', default: '400' },
    'txs-per-sender': { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '64' },
    backend: { type: 'string', default: 'sqlite' },
    workers: { type: 'string', default: '2' },
    'time-limit-s': { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
    /** Extra node flags for the child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
    'node-args': { type: 'string', default: '' },
    /** Log level of the node (its JSON logs go to this process's stdout). */
    'log-level': { type: 'string', default: 'warn' },
  },
}).values;

const SENDERS = Number(args.senders);
const PER_SENDER = Number(args['txs-per-sender']);
const CONCURRENCY = Number(args.concurrency);
const TIME_LIMIT_MS = Number(args['time-limit-s']) * 1000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** node:crypto Ed25519 verifications per second on this thread, public key object reused. */
function measureVerifyRate(ms = 2000): number {
  const { publicKey: pub, privateKey } = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(300, 7);
  const sig = cryptoSign(null, msg, privateKey);
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 200; i++) cryptoVerify(null, msg, pub, sig);
    n += 200;
  }
  return n / ((performance.now() - start) / 1000);
}

/** CPU seconds of a process's main thread (its first task). */
function mainThreadCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function main(): Promise<void> {
  const chainId = 'fastpos-bench-devnet';
  const seeds = Array.from({ length: SENDERS }, (_, i) => sha256(`fastpos-bench-sender-${i}`).toString('hex'));
  const signers = seeds.map((s) => createSigner(s));
  const addresses = signers.map((s) => addressFromPubKey(s.publicKey));
  const sink = sha256('fastpos-bench-sink').toString('hex').slice(0, 40);
  const genesis: Genesis = {
    chainId,
    genesisTime: 1_767_225_600_000,
    treasury: sha256('fastpos-bench-treasury').toString('hex').slice(0, 40),
    params: { ...DEFAULT_PARAMS, maxBlockTxs: 5000, maxBlockBytes: 4 * 1024 * 1024 },
    accounts: addresses.map((address) => ({ address, balance: 10n ** 15n })),
    validators: [{ pubKey: devValidator(0).publicKey, stake: 1_000_000n, workWeight: NEUTRAL_WORK_WEIGHT }],
  };

  process.stdout.write(`machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown'} × ${(await import('node:os')).cpus().length}, node ${process.version}\n`);
  process.stdout.write('measuring node:crypto Ed25519 verify/s on one core ...\n');
  const verifyRate = measureVerifyRate();
  process.stdout.write(`verify/s (one core): ${verifyRate.toFixed(0)}\n`);

  process.stdout.write(`pre-signing ${SENDERS * PER_SENDER} transfers from ${SENDERS} senders ...\n`);
  const bodies: { key: string; request: Buffer }[] = [];
  for (let n = 0; n < PER_SENDER; n++) {
    for (let i = 0; i < SENDERS; i++) {
      const { tx } = signTransfer(signers[i]!, { chainId, nonce: n, to: sink, amount: 1n, fee: 1n });
      bodies.push({ key: `${addresses[i]}/${n}`, request: jsonRequest('POST', '/tx', '127.0.0.1', JSON.stringify(tx)) });
    }
  }

  const dir = mkdtempSync(join(tmpdir(), 'fastpos-bench-'));
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
  const port = await freePort();
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      ...String(args['node-args']).split(' ').filter((a) => a.length > 0),
      cli, 'start', '--data-dir', dir, '--port', String(port), '--log-level', String(args['log-level']), '--rate-limit-max', '0',
      '--state-backend', String(args.backend), '--verify-workers', String(args.workers),
      '--mempool-max-per-sender', String(Math.max(1000, PER_SENDER)), '--mempool-nonce-window', String(Math.max(1000, PER_SENDER)),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const base = `http://127.0.0.1:${port}`;
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });
  try {
    // Wait for the node to answer.
    const readyBy = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await pool.request({ path: '/healthz', method: 'GET' });
        await r.body.text();
        if (r.statusCode === 200) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > readyBy) throw new Error('node did not start within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const startHeight = (JSON.parse(await (await pool.request({ path: '/status', method: 'GET' })).body.text()) as { latestHeight: number }).latestHeight;

    const submittedAt = new Map<string, number>();
    const finalizedAt = new Map<string, number>();
    let rejected = 0;
    const rtts: number[] = [];
    const rejectCodes = new Map<string, number>();
    let next = 0;
    const t0 = performance.now();
    const deadline = t0 + TIME_LIMIT_MS;
    const cpu0 = process.cpuUsage();
    const nodeCpu0 = procCpuSeconds(child.pid!);
    const mainCpu0 = mainThreadCpuSeconds(child.pid!);

    // Follow finalized blocks while submitting.
    let followHeight = startHeight + 1;
    let following = true;
    const follower = (async () => {
      while (following && performance.now() < deadline) {
        const r = await pool.request({ path: `/blocks?from=${followHeight}&limit=100`, method: 'GET' });
        const blocks = JSON.parse(await r.body.text()) as { header: { height: number }; txs: { from: string; nonce: number }[] }[];
        const now = performance.now();
        for (const b of blocks) {
          for (const t of b.txs) finalizedAt.set(`${t.from}/${t.nonce}`, now);
          followHeight = b.header.height + 1;
        }
        if (finalizedAt.size >= bodies.length - rejected) break;
        if (blocks.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const conns = await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        const c = new RawConnection('127.0.0.1', port);
        await c.ready;
        return c;
      }),
    );
    const workers = conns.map(async (conn) => {
      while (next < bodies.length && performance.now() < deadline) {
        const item = bodies[next++]!;
        const sent = performance.now();
        const r = await conn.send(item.request);
        rtts.push(performance.now() - sent);
        if (r.status === 202) submittedAt.set(item.key, sent);
        else {
          rejected++;
          const code = (JSON.parse(r.body) as { error?: { code?: string } }).error?.code ?? String(r.status);
          rejectCodes.set(code, (rejectCodes.get(code) ?? 0) + 1);
        }
      }
    });
    await Promise.all(workers);
    const tSubmitted = performance.now();
    conns.forEach((c) => c.close());
    await follower;
    following = false;
    const tEnd = Math.max(...finalizedAt.values());
    const cpu = process.cpuUsage(cpu0);
    const benchCpu = (cpu.user + cpu.system) / 1e6 / ((performance.now() - t0) / 1000);
    const nodeCpu = (procCpuSeconds(child.pid!) - nodeCpu0) / ((performance.now() - t0) / 1000);
    const mainCpu = (mainThreadCpuSeconds(child.pid!) - mainCpu0) / ((performance.now() - t0) / 1000);

    const latencies: number[] = [];
    for (const [k, at] of submittedAt) {
      const f = finalizedAt.get(k);
      if (f !== undefined) latencies.push(f - at);
    }
    latencies.sort((a, b) => a - b);
    const metricsText = await (await pool.request({ path: '/metrics', method: 'GET' })).body.text();
    const metric = (name: string): number => {
      const line = metricsText.split('\n').find((l) => l.startsWith(name + ' '));
      return Number(line?.slice(name.length + 1) ?? 'NaN');
    };
    const blocks = metric('fastpos_block_txs_count');
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
    const submittedRate = submittedAt.size / ((tSubmitted - t0) / 1000);
    const finalizedRate = finalizedAt.size / ((tEnd - t0) / 1000);
    const lines = [
      '',
      `txs: ${bodies.length} sent, ${submittedAt.size} accepted, ${rejected} rejected${rejected ? ' ' + JSON.stringify(Object.fromEntries(rejectCodes)) : ''}, ${finalizedAt.size} finalized`,
      `backend: ${args.backend}, verify workers: ${args.workers}, concurrency: ${CONCURRENCY}`,
      `submitted tx/s: ${submittedRate.toFixed(0)}`,
      `finalized tx/s: ${finalizedRate.toFixed(0)}`,
      `submit round trip p50: ${percentile(rtts.sort((a, b) => a - b), 50).toFixed(1)} ms, p99: ${percentile(rtts, 99).toFixed(1)} ms`,
      `finality latency p50: ${percentile(latencies, 50).toFixed(0)} ms, p99: ${percentile(latencies, 99).toFixed(0)} ms (submit to seen finalized)`,
      `CPU cores used: node ${nodeCpu.toFixed(2)} (all threads; main thread ${mainCpu.toFixed(2)}), load generator ${benchCpu.toFixed(2)}`,
      `blocks: ${blocks}, mean ${(metric('fastpos_block_txs_sum') / blocks).toFixed(0)} txs per block, mean build ${((metric('fastpos_block_build_seconds_sum') / blocks) * 1000).toFixed(1)} ms, mean durable commit ${((metric('fastpos_block_commit_seconds_sum') / blocks) * 1000).toFixed(1)} ms, blocks decided after round 0: ${blocks - metric('fastpos_consensus_decided_round_bucket{le="0"}')}`,
      `mean signature wait ${((metric('fastpos_tx_signature_wait_seconds_sum') / metric('fastpos_tx_signature_wait_seconds_count')) * 1000).toFixed(1)} ms, mean server time per request ${((metric('fastpos_http_request_duration_seconds_sum{route="/tx"}') / metric('fastpos_http_request_duration_seconds_count{route="/tx"}')) * 1000).toFixed(1)} ms`,
      `node peak memory (VmHWM): ${(peakKb / 1024).toFixed(0)} MiB`,
      `verify/s (one core, this run): ${verifyRate.toFixed(0)}`,
      `ratio finalized tx/s ÷ verify/s: ${(finalizedRate / verifyRate).toFixed(2)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await pool.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
