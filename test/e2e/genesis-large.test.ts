/**
 * A node on a genesis of 200,000 funded accounts (the bench's file writer),
 * which it reads as a stream and does not keep in memory: it starts, finalizes
 * blocks, restarts on its store, and answers `/status` and `GET /genesis` with
 * what the in-memory genesis gives; a damaged or invalid file is refused with
 * the message the whole-document reading gave. Real child processes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { EXTRA_ACCOUNT_BALANCE, extendedGenesis, extraAccountAddress, writeGenesisFile } from '../../src/bench/genesisAccounts.js';
import { decodeGenesis, defaultDevnetGenesis, encodeGenesis, genesisHash } from '../../src/state/genesis.js';
import type { Genesis } from '../../src/types/index.js';
import { FastposError } from '../../src/errors.js';
import { openRaw } from '../helpers/rawConn.js';
import { runCli, spawnNode, type NodeProcess } from '../helpers/proc.js';
import { tempDirs } from '../helpers/util.js';

const tmp = tempDirs('fastpos-genesis-large-');
const EXTRA = 200_000;
const TOKEN = 'genesis-large-test-admin-token-0123456789';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function getJson(url: string): Promise<{ status: number; json: any }> {
  const r = await fetch(url);
  return { status: r.status, json: await r.json() };
}

/** Polls `/status` until `ok` holds (at most `tries` times, 100 ms apart). */
async function waitStatus(n: NodeProcess, ok: (s: any) => boolean, tries = 600): Promise<any> {
  for (let i = 0; i < tries; i++) {
    const s = (await getJson(`${n.url}/status`)).json;
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('the node did not reach the expected status');
}

/** The message the whole-document reading (JSON.parse + decodeGenesis) gives for a file. */
function wholeDocumentMessage(path: string): string {
  try {
    decodeGenesis(JSON.parse(readFileSync(path, 'utf8')));
  } catch (e) {
    if (e instanceof FastposError) return `genesis file ${path}: ${e.message}`;
    return `genesis file ${path} cannot be read as JSON: `;
  }
  assert.fail('the document is a valid genesis');
}

function startRefused(path: string): { status: number | null; stderr: string } {
  return runCli(['start', '--data-dir', join(tmp(), 'data'), '--init', '--port', '0', '--genesis-file', path]);
}

describe('a genesis of 200,000 accounts, read from its file as a stream', () => {
  let file: string;
  let g: Genesis;

  before(() => {
    file = join(tmp(), 'genesis.json');
    writeGenesisFile(file, defaultDevnetGenesis(), EXTRA);
    g = extendedGenesis(defaultDevnetGenesis(), EXTRA);
  });

  it('default: starts, finalizes, restarts; /status genesisHash and GET /genesis are what the in-memory genesis gives', async () => {
    const dir = tmp();
    const wire = JSON.stringify(encodeGenesis(g));
    let n = await spawnNode(dir, ['--genesis-file', file, '--admin-token', TOKEN]);
    let backupDir: string;
    try {
      const s = await waitStatus(n, (x) => x.latestHeight >= 1);
      assert.equal(s.genesisHash, genesisHash(g));
      const body = Buffer.from(await (await fetch(`${n.url}/genesis`)).arrayBuffer());
      assert.equal(body.length, Buffer.byteLength(wire));
      assert.equal(sha(body), sha(wire));
      // The state holds the accounts of the file.
      const last = extraAccountAddress(EXTRA - 1);
      const acct = await getJson(`${n.url}/accounts/${last}`);
      assert.equal(acct.status, 200);
      assert.equal(acct.json.balance, EXTRA_ACCOUNT_BALANCE.toString());
      // A backup copies the genesis file; `backup verify` checks it against the store.
      const made = runCli(['backup', 'create', '--node', n.url, '--admin-token', TOKEN, '--json']);
      assert.equal(made.status, 0, made.stderr);
      backupDir = JSON.parse(made.stdout).dir;
      assert.equal(sha(readFileSync(join(backupDir, 'genesis.json'))), sha(readFileSync(file)));
    } finally {
      await n.kill();
    }
    // A restart opens the stored chain: the file must hash to the stored genesis.
    n = await spawnNode(dir, ['--genesis-file', file]);
    try {
      const s = await waitStatus(n, (x) => x.latestHeight >= 2);
      assert.equal(s.genesisHash, genesisHash(g));
    } finally {
      await n.kill();
    }
    const verified = runCli(['backup', 'verify', backupDir, '--json']);
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(JSON.parse(verified.stdout).ok, true);
    assert.equal(JSON.parse(readFileSync(join(backupDir, 'backup.json'), 'utf8')).genesisHash, genesisHash(g));
  });

  it('behavior: GET /genesis streams to one client at a time (another gets 429 RATE_LIMITED until that one is done), and never a changed file', async () => {
    const n = await spawnNode(tmp(), ['--genesis-file', file]);
    try {
      const port = Number(new URL(n.url).port);
      const held = await openRaw(port);
      held.s.write(`GET /genesis HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      // Once its answer has begun, stop reading: the body (16 MB) stays in flight.
      for (let i = 0; i < 200 && !held.received().includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(held.received(), /^HTTP\/1\.1 200/);
      held.s.pause();
      const busy = await getJson(`${n.url}/genesis`);
      assert.equal(busy.status, 429);
      assert.equal(busy.json.error.code, 'RATE_LIMITED');
      held.s.destroy();
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        const r = await fetch(`${n.url}/genesis`);
        status = r.status;
        const body = Buffer.from(await r.arrayBuffer());
        if (status === 200) assert.equal(sha(body), sha(JSON.stringify(encodeGenesis(g))));
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
      // The file changed under the running node (here only its modification time): refused, not sent.
      const st = statSync(file);
      utimesSync(file, st.atime, new Date(st.mtimeMs + 60_000));
      const changed = await getJson(`${n.url}/genesis`);
      assert.equal(changed.status, 500);
      assert.equal(changed.json.error.code, 'CORRUPT_DATA');
      assert.match(changed.json.error.message, /has changed since the node read it/);
    } finally {
      await n.kill();
    }
  });

  it('error: a truncated file is INVALID_GENESIS "cannot be read as JSON", as before', () => {
    const text = readFileSync(file);
    const cut = join(tmp(), 'truncated.json');
    writeFileSync(cut, text.subarray(0, Math.floor(text.length * 0.6)));
    const r = startRefused(cut);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(`INVALID_GENESIS: ${wholeDocumentMessage(cut)}`), r.stderr);
  });

  it('error: a duplicate address deep in the accounts, and a bad balance, give the message of the whole-document reading', () => {
    const text = readFileSync(file, 'utf8');
    const dupAt = text.indexOf(extraAccountAddress(150_000));
    const dup = join(tmp(), 'duplicate.json');
    writeFileSync(dup, text.slice(0, dupAt) + extraAccountAddress(7) + text.slice(dupAt + 40));
    const badBalance = join(tmp(), 'balance.json');
    writeFileSync(badBalance, text.replace(`"${extraAccountAddress(123_456)}","balance":"${EXTRA_ACCOUNT_BALANCE}"`, `"${extraAccountAddress(123_456)}","balance":"12x"`));
    for (const path of [dup, badBalance]) {
      const want = wholeDocumentMessage(path);
      assert.match(want, /accounts\[\d+\]/);
      const r = startRefused(path);
      assert.equal(r.status, 2);
      assert.ok(r.stderr.includes(`INVALID_GENESIS: ${want}\n`), `${r.stderr}\nwanted: ${want}`);
    }
  });
});
