/**
 * `npm run bench -- --scenario product-reads`: latency of the product list
 * and statistics reads of one node over HTTP, with a store that holds
 * `--proofs` proofs (default 100,000), `--settlements` settlements (100,000)
 * and `--challenges` challenges (10,000).
 *
 * The store is filled by the chain itself: real signed txs submitted through
 * POST /tx and executed in blocks, so the product index is fed by the
 * store's commit path exactly as in production. To make 100,000 proofs
 * cheap to reach, the genesis has epochs of one block, `--proofs / 100`
 * validators (one in the active set, the rest seated in the state only) and
 * one oracle holding the whole oracle stake, so each `product_attest` of an
 * ended epoch finalizes a proof at once; proofs are 100 epochs × that many
 * validators. Settlements come from 400 payers; challenges from 100
 * challengers on distinct proofs, of which 10 % are then rejected and 1 %
 * upheld by the oracle. Txs are sent in waves so that the pool stays small.
 *
 * The node is then restarted with the default settings (an empty block a
 * second while idle), and each read runs `--read-requests` times (after 20
 * unmeasured ones) one request at a time over one keep-alive connection, with its parameters
 * varied over the stored records, and the round trip's p50 and p99 are
 * printed with the machine's verify rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signTx } from '../client/sign.js';
import { freeLoopbackPorts } from '../cli/ports.js';
import { createSigner, type Signer } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { addressFromPubKey, devValidator } from '../crypto/keys.js';
import { DEFAULT_PARAMS, NEUTRAL_WORK_WEIGHT, encodeGenesis } from '../state/genesis.js';
import { DEFAULT_PRODUCT_PARAMS, proofId } from '../state/product.js';
import type { Genesis, UnsignedTx } from '../types/index.js';
import { RawConnection, jsonRequest } from './rawHttp.js';

export interface ProductReadsOptions {
  readonly proofs: number;
  readonly settlements: number;
  readonly challenges: number;
  readonly readRequests: number;
  readonly backend: string;
  readonly keep: boolean;
  readonly logLevel: string;
  readonly nodeArgs: readonly string[];
  readonly startArgs: readonly string[];
  readonly concurrency: number;
  readonly verifyRate: number;
  readonly timeLimitMs: number;
}

/** Epochs the proofs are spread over (epochs of one block). */
const EPOCHS = 100;
const PAYERS = 400;
const CHALLENGERS = 100;
/** Txs per wave; the next wave waits until the pool holds fewer than WAVE / 2. */
const WAVE = 20_000;
const WARMUP_READS = 20;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const seeded = (label: string, i: number): Signer => createSigner(sha256(`fastpos-bench-product-${label}-${i}`).toString('hex'));

export async function runProductReads(o: ProductReadsOptions): Promise<void> {
  const chainId = 'fastpos-bench-devnet';
  const perEpoch = Math.max(1, Math.ceil(o.proofs / EPOCHS));
  const validators = [devValidator(0).address, ...Array.from({ length: perEpoch - 1 }, (_, i) => addressFromPubKey(seeded('validator', i).publicKey))];
  const validatorKeys = [devValidator(0).publicKey, ...Array.from({ length: perEpoch - 1 }, (_, i) => seeded('validator', i).publicKey)];
  const oracle = seeded('oracle', 0);
  const payers = Array.from({ length: PAYERS }, (_, i) => seeded('payer', i));
  const challengers = Array.from({ length: CHALLENGERS }, (_, i) => seeded('challenger', i));
  const addr = (s: Signer): string => addressFromPubKey(s.publicKey);
  const genesis: Genesis = {
    chainId,
    genesisTime: Date.now() - 1000,
    treasury: sha256('fastpos-bench-treasury').toString('hex').slice(0, 40),
    params: { ...DEFAULT_PARAMS, maxBlockTxs: 2000, epochLengthBlocks: 1, maxValidators: 1, unbondingPeriodBlocks: 2_500_000 },
    accounts: [oracle, ...payers, ...challengers].map((s) => ({ address: addr(s), balance: 10n ** 15n })),
    validators: validatorKeys.map((pubKey, i) => ({ pubKey, stake: i === 0 ? 10n ** 12n : 1n, workWeight: NEUTRAL_WORK_WEIGHT })),
    product: {
      oracles: [{ address: addr(oracle), stake: 1n }],
      params: {
        ...DEFAULT_PRODUCT_PARAMS,
        attestationTtlBlocks: 1_000_000,
        challengeWindowBlocks: 1_000_000,
        challengeResolveDelayBlocks: 0,
        challengeResolveDeadlineBlocks: 1_000_000,
      },
    },
  };

  const nonces = new Map<string, number>();
  const sign = (s: Signer, kind: UnsignedTx['kind'], payload: Record<string, unknown>): { id: string; request: Buffer } => {
    const from = addr(s);
    const nonce = nonces.get(from) ?? 0;
    nonces.set(from, nonce + 1);
    const { id, tx } = signTx(s, { chainId, kind, from, pubKey: s.publicKey, nonce, fee: 1n, payload } as unknown as UnsignedTx);
    return { id, request: jsonRequest('POST', '/tx', '127.0.0.1', JSON.stringify(tx)) };
  };

  process.stdout.write(`product reads: signing ${o.proofs} attestations, ${o.settlements} settlements, ${o.challenges} challenges ...\n`);
  const tSign = performance.now();
  // Proofs: epoch by epoch, every validator; settlements interleaved with them.
  const attests: Buffer[] = [];
  for (let k = 0; k < o.proofs; k++) {
    const epoch = Math.floor(k / perEpoch);
    const v = validators[k % perEpoch]!;
    attests.push(sign(oracle, 'product_attest', { validatorId: v, epoch, score: 1_000 + ((k * 7919) % 50_000), proofRef: `sha256:${(k % 997).toString(16).padStart(64, '0')}` }).request);
  }
  const settles: Buffer[] = [];
  for (let k = 0; k < o.settlements; k++) {
    const payer = payers[k % PAYERS]!;
    const amount = BigInt(1 + ((k * 104_729) % 1_000_000));
    settles.push(sign(payer, 'product_settle', { validatorId: validators[k % Math.min(100, perEpoch)]!, amount, reference: `inv-${k % PAYERS}-${Math.floor(k / PAYERS)}` }).request);
  }
  const challengeIds: string[] = [];
  const challenges: Buffer[] = [];
  for (let k = 0; k < o.challenges; k++) {
    const { id, request } = sign(challengers[k % CHALLENGERS]!, 'product_challenge', { proofId: proofId(validators[k % perEpoch]!, Math.floor(k / perEpoch)) });
    challengeIds.push(id);
    challenges.push(request);
  }
  // 10 % rejected, 1 % upheld (never the active validator's proofs).
  const resolves: Buffer[] = [];
  let upheld = 0;
  let rejected = 0;
  for (let k = 0; k < o.challenges; k++) {
    if (k % 10 === 1) {
      resolves.push(sign(oracle, 'product_resolve_challenge', { challengeId: challengeIds[k]!, upheld: false }).request);
      rejected++;
    } else if (k % 100 === 2 && k % perEpoch !== 0) {
      resolves.push(sign(oracle, 'product_resolve_challenge', { challengeId: challengeIds[k]!, upheld: true }).request);
      upheld++;
    }
  }
  process.stdout.write(`signed in ${((performance.now() - tSign) / 1000).toFixed(1)} s\n`);

  const dir = mkdtempSync(join(tmpdir(), 'fastpos-bench-product-'));
  const nodeDir = join(dir, 'node0');
  mkdirSync(nodeDir);
  writeFileSync(join(nodeDir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
  writeFileSync(join(nodeDir, 'validator_key.json'), JSON.stringify({ privateKey: devValidator(0).privateKey }), { mode: 0o600 });
  const [port] = await freeLoopbackPorts(1);
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  /** `fastpos start` on the data dir; `fill`: blocks every 10 ms while idle and a pool for the waves. */
  const start = (fill: boolean): ChildProcess =>
    spawn(
      process.execPath,
      [
        ...o.nodeArgs,
        cli, 'start', '--data-dir', nodeDir, '--port', String(port), '--log-level', o.logLevel, '--rate-limit-max', '0', '--state-backend', o.backend,
        ...(fill
          ? ['--idle-block-interval-ms', '10', '--mempool-max-txs', String(4 * WAVE), '--mempool-max-per-sender', String(4 * WAVE), '--mempool-nonce-window', String(o.proofs + o.challenges + 10)]
          : []),
        ...o.startArgs,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
  let child = start(true);
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  };
  const base = `http://127.0.0.1:${port}`;
  const getJson = async (path: string): Promise<any> => (await (await fetch(base + path)).json()) as unknown;
  const deadline = performance.now() + o.timeLimitMs;
  const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    while (!(await ok())) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the node exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}`);
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const started = (): Promise<void> =>
    until('the node to start', async () => {
      try {
        return ((await getJson('/status')) as { latestHeight: number }).latestHeight >= 1;
      } catch {
        return false;
      }
    });
  try {
    await started();
    const conns = await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        const c = new RawConnection('127.0.0.1', port!);
        await c.ready;
        return c;
      }),
    );
    const refused = new Map<string, number>();
    /** Submits `list` in waves over every connection; the next wave waits for the pool to drain. */
    const submit = async (list: readonly Buffer[]): Promise<void> => {
      for (let start = 0; start < list.length; start += WAVE) {
        await until('the pool to drain', async () => ((await getJson('/status')) as { mempool: { txs: number } }).mempool.txs < WAVE / 2);
        const wave = list.slice(start, start + WAVE);
        let next = 0;
        await Promise.all(
          conns.map(async (c) => {
            while (next < wave.length) {
              const r = await c.send(wave[next++]!);
              if (r.status !== 202) {
                const code = (JSON.parse(r.body) as { error?: { code?: string } }).error?.code ?? String(r.status);
                refused.set(code, (refused.get(code) ?? 0) + 1);
              }
            }
          }),
        );
      }
    };
    const total = async (path: string): Promise<number> => ((await getJson(`${path}${path.includes('?') ? '&' : '?'}withMeta=true&limit=1`)) as { total: number }).total;

    const tFill = performance.now();
    await until(`height ${EPOCHS + 1} (epochs 0..${EPOCHS - 1} ended)`, async () => ((await getJson('/status')) as { latestHeight: number }).latestHeight > EPOCHS);
    // Attestations and settlements interleaved, wave by wave.
    const mixed: Buffer[] = [];
    for (let i = 0; i < Math.max(attests.length, settles.length); i++) {
      if (i < attests.length) mixed.push(attests[i]!);
      if (i < settles.length) mixed.push(settles[i]!);
    }
    await submit(mixed);
    await until('every proof and settlement', async () => (await total('/product/proofs')) >= o.proofs && (await total('/product/settlements')) >= o.settlements);
    await submit(challenges);
    await until('every challenge', async () => (await total('/product/challenges')) >= o.challenges);
    await submit(resolves);
    await until('the resolutions', async () => {
      const s = (await getJson('/product/challenges/stats')) as { byStatus: { rejected: number; upheld: number } };
      return s.byStatus.rejected >= rejected && s.byStatus.upheld >= upheld;
    });
    const fillSeconds = (performance.now() - tFill) / 1000;
    for (const c of conns) c.close();
    if (refused.size > 0) throw new Error(`txs refused while filling: ${JSON.stringify(Object.fromEntries(refused))}`);
    const status = (await getJson('/status')) as { latestHeight: number };
    const counts = {
      proofs: await total('/product/proofs'),
      attestations: await total('/product/attestations'),
      challenges: await total('/product/challenges'),
      open: await total('/product/challenges?openOnly=true'),
      settlements: await total('/product/settlements'),
    };
    process.stdout.write(
      `filled in ${fillSeconds.toFixed(0)} s through ${status.latestHeight} blocks: ${counts.proofs} proofs, ${counts.attestations} attestations, ${counts.settlements} settlements, ` +
        `${counts.challenges} challenges (${counts.open} open, ${rejected} rejected, ${upheld} upheld)\n`,
    );
    // The reads are measured on a node restarted with the default settings (an empty block a second while idle).
    await stop();
    const tOpen = performance.now();
    child = start(false);
    await started();
    process.stdout.write(`restarted with default settings, serving after ${((performance.now() - tOpen) / 1000).toFixed(1)} s\n`);

    // ------------------------------------------------------------------ reads
    const pick = <T>(xs: readonly T[], i: number): T => xs[(i * 7919) % xs.length]!;
    const payerAt = (i: number): string => addr(pick(payers, i));
    const lastEpoch = status.latestHeight - 1;
    /** Settlement references that exist for every payer: inv-<payer>-<0 .. perPayer - 1>. */
    const perPayer = Math.max(1, Math.floor(o.settlements / PAYERS));
    const reads: [string, (i: number) => string][] = [
      ['proofs, newest page of 100', () => '/product/proofs?withMeta=true'],
      ['proofs by validatorId', (i) => `/product/proofs?validatorId=${pick(validators, i)}&withMeta=true`],
      ['proofs by epoch', (i) => `/product/proofs?epoch=${i % EPOCHS}&withMeta=true`],
      ['proofs by status (invalidated)', () => '/product/proofs?status=invalidated&withMeta=true'],
      ['proofs by score range (about 2 %)', (i) => `/product/proofs?minScore=${1_000 + (i % 40) * 1_000}&maxScore=${1_999 + (i % 40) * 1_000}&withMeta=true`],
      ['proofs by score range (about half)', (i) => `/product/proofs?minScore=${25_000 + (i % 10)}&withMeta=true`],
      ['proofs in a height window', (i) => `/product/proofs?fromHeight=${EPOCHS + 1 + (i % 50)}&toHeight=${EPOCHS + 11 + (i % 50)}&withMeta=true`],
      ['proof by id', (i) => `/product/proofs/${proofId(pick(validators, i), i % EPOCHS)}`],
      ['attestations, newest page', () => '/product/attestations?withMeta=true'],
      ['attestations by validatorId and status', (i) => `/product/attestations?validatorId=${pick(validators, i)}&status=finalized&withMeta=true`],
      ['attestations/stats', () => '/product/attestations/stats'],
      ['challenges, newest page', () => '/product/challenges?withMeta=true'],
      ['challenges openOnly', () => '/product/challenges?openOnly=true&withMeta=true'],
      ['challenges by challenger', (i) => `/product/challenges?challenger=${addr(pick(challengers, i))}&withMeta=true`],
      ['challenges by proofId', (i) => `/product/challenges?proofId=${proofId(pick(validators, i), 0)}`],
      ['challenges/stats', () => '/product/challenges/stats'],
      ['settlements, newest page of 100', () => '/product/settlements?withMeta=true'],
      ['settlements by payer', (i) => `/product/settlements?payer=${payerAt(i)}&withMeta=true`],
      ['settlements by reference', (i) => `/product/settlements?reference=inv-${i % PAYERS}-${i % perPayer}&withMeta=true`],
      ['settlements by validatorId', (i) => `/product/settlements?validatorId=${pick(validators.slice(0, 100), i)}&withMeta=true`],
      ['settlements by epoch', (i) => `/product/settlements?epoch=${EPOCHS + 1 + (i % Math.max(1, lastEpoch - EPOCHS))}&withMeta=true`],
      ['settlements by amount range (about 1 %)', (i) => `/product/settlements?minAmount=${(i % 99) * 10_000}&maxAmount=${(i % 99) * 10_000 + 9_999}&withMeta=true`],
      ['settlements by amount range (about half)', (i) => `/product/settlements?maxAmount=${500_000 + (i % 10)}&withMeta=true`],
      ['settlements by payer and amount range', (i) => `/product/settlements?payer=${payerAt(i)}&minAmount=500000&withMeta=true`],
      ['settlements lookup (payer, reference)', (i) => `/product/settlements/lookup?payer=${addr(payers[i % PAYERS]!)}&reference=inv-${i % PAYERS}-${i % perPayer}`],
      ['settlements/stats (up to 100 groups of each)', () => '/product/settlements/stats'],
      ['settlements page at offset 50,000', () => '/product/settlements?offset=50000&withMeta=true'],
    ];
    const conn = new RawConnection('127.0.0.1', port!);
    await conn.ready;
    const rows: string[] = [];
    const results: { name: string; p50: number; p99: number }[] = [];
    for (const [name, path] of reads) {
      const times: number[] = [];
      for (let i = 0; i < WARMUP_READS + o.readRequests; i++) {
        const req = jsonRequest('GET', path(i), '127.0.0.1');
        const t = performance.now();
        const r = await conn.send(req);
        const ms = performance.now() - t;
        if (r.status !== 200) throw new Error(`${path(i)}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
        if (i >= WARMUP_READS) times.push(ms);
      }
      times.sort((a, b) => a - b);
      results.push({ name, p50: percentile(times, 50), p99: percentile(times, 99) });
      rows.push(`| ${name} | \`${path(1).replace(/[0-9a-f]{40,64}/g, (h) => `${h.slice(0, 6)}…`)}\` | ${percentile(times, 50).toFixed(2)} | ${percentile(times, 99).toFixed(2)} |`);
    }
    conn.close();
    process.stdout.write(
      [
        '',
        `backend: ${o.backend}; ${o.readRequests} requests per read, one at a time over one keep-alive connection (after ${WARMUP_READS} unmeasured)`,
        '| read | example | p50 ms | p99 ms |',
        '|---|---|---|---|',
        ...rows,
        '',
        `slowest p99: ${Math.max(...results.map((r) => r.p99)).toFixed(2)} ms (${results.reduce((a, b) => (b.p99 > a.p99 ? b : a)).name})`,
        `verify/s (one core, this run): ${o.verifyRate.toFixed(0)}`,
      ].join('\n') + '\n',
    );
  } finally {
    await stop();
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`data dir kept: ${nodeDir}\n`);
  }
}
