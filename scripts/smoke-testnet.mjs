#!/usr/bin/env node
// Smoke test of a local 3-validator testnet, run from the built dist (npm run build first):
//   node scripts/smoke-testnet.mjs [--keep]
// 1. `fastpos testnet init --validators 3` in a temp dir, on 3 free loopback ports;
// 2. `fastpos testnet start` it as a child process and wait until every node answers /status;
// 3. submit 20 signed transfers (dev account 0) to node 0;
// 4. wait (at most 60 s) until every node has finalized them and reached a common height H
//    at or above the block holding the last one;
// 5. check that every node reports the same block hash at each height 1..H;
// 6. check `fastpos testnet status --json` reports every node running, through the supervisor;
// 7. print PASS or FAIL with details, stop the testnet (SIGINT) and exit 0 (PASS) or 1 (FAIL).
// Every wait is bounded; only 127.0.0.1 is used. The temp dir is removed on PASS
// (kept on FAIL, or with --keep, so the node logs can be read).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VALIDATORS = 3;
const TXS = 20;
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const FINALITY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 3_000;
const POLL_MS = 250;

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const keep = process.argv.includes('--keep');

if (!existsSync(CLI)) {
  console.error(`smoke-testnet: ${CLI} is missing; run npm run build first`);
  process.exit(1);
}
const { signTransfer } = await import(new URL('../dist/client/index.js', import.meta.url).href);
const { devAccount } = await import(new URL('../dist/crypto/keys.js', import.meta.url).href);
const { freeLoopbackPorts } = await import(new URL('../dist/cli/ports.js', import.meta.url).href);

const t0 = Date.now();
const log = (msg) => console.log(`[smoke ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


async function http(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** GET that never throws: undefined on a network error or a non-200 answer. */
async function tryGet(url) {
  try {
    const r = await http('GET', url);
    return r.status === 200 ? r.json : undefined;
  } catch {
    return undefined;
  }
}

const failures = [];
const fail = (msg) => {
  failures.push(msg);
  log(`FAIL: ${msg}`);
};

const dir = mkdtempSync(join(tmpdir(), 'fastpos-smoke-'));
const testnetDir = join(dir, 'testnet');
let starter;
let starterOut = '';
let starterExit;

async function stopTestnet() {
  if (starter === undefined) return;
  if (starter.exitCode === null && starter.signalCode === null) {
    log('stopping the testnet (SIGINT to testnet start)');
    starter.kill('SIGINT');
  }
  const code = await Promise.race([starterExit, sleep(STOP_TIMEOUT_MS).then(() => 'timeout')]);
  if (code === 'timeout') {
    fail(`testnet start did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGINT; killing it`);
    starter.kill('SIGKILL');
    await Promise.race([starterExit, sleep(5_000)]);
  } else if (code !== 0) {
    fail(`testnet start exited with ${code} (expected 0 after a clean stop)`);
  } else {
    log('testnet stopped cleanly');
  }
}

process.once('SIGINT', () => {
  fail('interrupted');
  void stopTestnet().finally(() => process.exit(1));
});

async function run() {
  // ---------------------------------------------------------------- init
  const ports = await freeLoopbackPorts(VALIDATORS, HOST);
  log(`testnet init --validators ${VALIDATORS} on ports ${ports.join(', ')} in ${testnetDir}`);
  const init = spawnSync(
    process.execPath,
    [CLI, 'testnet', 'init', '--validators', String(VALIDATORS), '--dir', testnetDir, '--ports', ports.join(','), '--host', HOST],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (init.status !== 0) return fail(`testnet init exited with ${init.status}: ${init.stderr}`);
  const summary = JSON.parse(init.stdout);
  const urls = summary.nodes.map((n) => n.url);
  log(`chain ${summary.chainId}, genesis ${summary.genesisHash}, nodes ${urls.join(' ')}`);

  // ---------------------------------------------------------------- start
  starter = spawn(process.execPath, [CLI, 'testnet', 'start', '--dir', testnetDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  starter.stdout.on('data', (d) => (starterOut += d));
  starter.stderr.on('data', (d) => (starterOut += d));
  starterExit = new Promise((resolve) => starter.once('exit', (code, signal) => resolve(code ?? signal)));

  const startDeadline = Date.now() + START_TIMEOUT_MS;
  let statuses = [];
  while (Date.now() < startDeadline && starter.exitCode === null) {
    statuses = await Promise.all(urls.map((u) => tryGet(`${u}/status`)));
    if (statuses.every((s) => s !== undefined)) break;
    await sleep(POLL_MS);
  }
  if (!statuses.every((s) => s !== undefined) || statuses.length !== VALIDATORS) {
    return fail(`not every node answered /status within ${START_TIMEOUT_MS / 1000} s (answered: ${statuses.map((s, i) => `node${i}=${s !== undefined}`).join(' ')})`);
  }
  const hashes = new Set(statuses.map((s) => s.genesisHash));
  if (hashes.size !== 1 || !hashes.has(summary.genesisHash)) return fail(`the nodes report different genesis hashes: ${[...hashes].join(', ')}`);
  log(`all ${VALIDATORS} nodes answer /status`);

  // ---------------------------------------------------------------- transfers
  const sender = devAccount(0);
  const acct = await tryGet(`${urls[0]}/accounts/${sender.address}`);
  if (acct === undefined) return fail('node0 did not answer GET /accounts');
  const ids = [];
  for (let i = 0; i < TXS; i++) {
    const to = devAccount(1 + (i % 9)).address;
    const { id, tx } = signTransfer(sender.privateKey, { chainId: summary.chainId, nonce: acct.pendingNonce + i, to, amount: String(1000 + i), fee: '1' });
    let r;
    try {
      r = await http('POST', `${urls[0]}/tx`, tx);
    } catch (e) {
      return fail(`POST /tx #${i} to node0 failed: ${e.message}`);
    }
    if (r.status !== 202 && r.status !== 200) return fail(`POST /tx #${i} to node0 answered ${r.status}: ${r.text}`);
    ids.push(id);
  }
  log(`submitted ${TXS} transfers to node0 (nonces ${acct.pendingNonce}..${acct.pendingNonce + TXS - 1})`);

  // ---------------------------------------------------------------- finality on every node
  const deadline = Date.now() + FINALITY_TIMEOUT_MS;
  const lastId = ids[ids.length - 1];
  let txHeight;
  let lastSeen;
  while (Date.now() < deadline) {
    const st = await tryGet(`${urls[0]}/tx?id=${lastId}`);
    lastSeen = st;
    if (st?.status === 'finalized') {
      txHeight = st.height;
      break;
    }
    if (st?.status === 'dropped') return fail(`the last transfer was dropped on node0: ${JSON.stringify(st)}`);
    await sleep(POLL_MS);
  }
  if (txHeight === undefined) {
    const heights = await Promise.all(urls.map((u) => tryGet(`${u}/status`).then((s) => s?.latestHeight)));
    return fail(
      `the last transfer was not finalized on node0 within ${FINALITY_TIMEOUT_MS / 1000} s (its status: ${lastSeen?.status ?? 'unknown'}; heights: ${heights.join(', ')})`,
    );
  }
  log(`last transfer finalized on node0 at height ${txHeight}`);

  let common;
  let heights = [];
  while (Date.now() < deadline) {
    heights = await Promise.all(urls.map((u) => tryGet(`${u}/status`).then((s) => s?.latestHeight)));
    if (heights.every((h) => typeof h === 'number' && h >= txHeight)) {
      common = Math.min(...heights);
      break;
    }
    await sleep(POLL_MS);
  }
  if (common === undefined) return fail(`not every node reached height ${txHeight} within ${FINALITY_TIMEOUT_MS / 1000} s (heights: ${heights.join(', ')})`);
  log(`every node is at height >= ${txHeight} (heights ${heights.join(', ')}); checking heights 1..${common}`);

  // Every tx finalized, successfully, in the same block on every node.
  for (const [n, u] of urls.entries()) {
    for (const [i, id] of ids.entries()) {
      const st = await tryGet(`${u}/tx?id=${id}`);
      const ref = await tryGet(`${urls[0]}/tx?id=${id}`);
      if (st?.status !== 'finalized' || st.success !== true) {
        fail(`node${n}: transfer #${i} ${id} is ${st === undefined ? 'unknown' : `${st.status}${st.success === false ? ` (failed: ${st.error})` : ''}`}`);
      } else if (st.blockHash !== ref?.blockHash || st.height !== ref?.height) {
        fail(`node${n}: transfer #${i} is in block ${st.height}/${st.blockHash}, node0 says ${ref?.height}/${ref?.blockHash}`);
      }
      if (failures.length > 10) return fail('too many failures; stopping the checks');
    }
  }

  // ---------------------------------------------------------------- same chain everywhere
  let mismatches = 0;
  for (let h = 1; h <= common; h++) {
    const blocks = await Promise.all(urls.map((u) => tryGet(`${u}/blocks/${h}`)));
    const blockHashes = blocks.map((b) => b?.hash);
    if (blockHashes.some((x) => typeof x !== 'string') || new Set(blockHashes).size !== 1) {
      mismatches++;
      fail(`height ${h}: block hashes differ: ${blockHashes.map((x, i) => `node${i}=${x ?? 'missing'}`).join(' ')}`);
      if (mismatches >= 5) return fail('too many mismatching heights; stopping the checks');
    }
  }
  if (mismatches === 0) log(`all ${VALIDATORS} nodes report the same block hash at every height 1..${common}`);

  // ---------------------------------------------------------------- testnet status (through the supervisor)
  const st = spawnSync(process.execPath, [CLI, 'testnet', 'status', '--dir', testnetDir, '--json'], { encoding: 'utf8', timeout: 30_000 });
  if (st.status !== 0) return fail(`testnet status exited with ${st.status}: ${st.stderr}`);
  const report = JSON.parse(st.stdout);
  if (report.supervisor?.pid !== starter.pid) fail(`testnet status names supervisor ${report.supervisor?.pid}, expected ${starter.pid}`);
  const notRunning = report.nodes.filter((n) => n.state !== 'running' || n.ownChain !== true || typeof n.pid !== 'number');
  if (notRunning.length > 0 || report.nodes.length !== VALIDATORS) return fail(`testnet status: ${JSON.stringify(report.nodes)}`);
  log(`testnet status: ${report.nodes.map((n) => `${n.name} pid ${n.pid} height ${n.height}`).join(', ')}`);
}

try {
  await run();
} catch (e) {
  fail(`unexpected error: ${e?.stack ?? e}`);
}
await stopTestnet();

if (failures.length === 0) {
  console.log(`PASS: ${VALIDATORS} validators, ${TXS} transfers finalized, identical chains (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (!keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`testnet kept in ${testnetDir}`);
  process.exit(0);
}
console.log(`FAIL: ${failures.length} problem(s):`);
for (const f of failures) console.log(`  - ${f}`);
if (starterOut !== '') console.log(`--- testnet start output ---\n${starterOut.trimEnd()}`);
for (let i = 0; i < VALIDATORS; i++) {
  const f = join(testnetDir, `node${i}`, 'node.log');
  if (!existsSync(f)) continue;
  const lines = readFileSync(f, 'utf8').trimEnd().split('\n');
  console.log(`--- last lines of ${f} ---\n${lines.slice(-15).join('\n')}`);
}
console.log(`testnet kept in ${testnetDir}`);
process.exit(1);
