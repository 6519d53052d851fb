/**
 * Coordinated upgrades on a real `fastpos` process: a devnet whose genesis
 * makes `evidence-once-per-spell` take effect at height 8 punishes real
 * double-sign evidence of dev validator 0 by the old rule below it (two
 * heights, two slashes, one block) and by the new one from it (one spell,
 * one slash), and `fastpos verify-chain` replays the whole chain across the
 * change. A node whose schedule names a rule change it does not know stops
 * before that height with the message, keeps its data dir whole (it
 * verifies), and stops at the same place when started again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { envelopeSignBytes } from '../../src/codec/envelope.js';
import { encodeEvidence } from '../../src/codec/tx.js';
import { createSigner } from '../../src/crypto/ed25519.js';
import { devValidator, type DevKey } from '../../src/crypto/keys.js';
import { defaultDevnetGenesis, encodeGenesis } from '../../src/state/genesis.js';
import { UPGRADE, UPGRADE_HALT_EXIT_CODE } from '../../src/state/upgrades.js';
import type { Evidence, Genesis, GenesisUpgrade, SignedMessage } from '../../src/types/index.js';
import { CLI, runCli, spawnNode, type NodeProcess } from '../helpers/proc.js';

const TOKEN = 'upgrade-e2e-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const VAL0 = devValidator(0);
const SPELL = UPGRADE.evidenceOncePerSpell;
const HALT_MESSAGE = 'upgrade a-later-rule takes effect at height 5 and this release does not know it: install a release that does, then start again';

const dirs: string[] = [];
const procs: NodeProcess[] = [];
after(async () => {
  for (const p of procs) await p.kill('SIGKILL').catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A data dir holding a devnet genesis with this schedule: one validator (dev 0), one long epoch (a jailed validator 0 keeps producing). */
function dataDir(upgrades: GenesisUpgrade[]): { dir: string; genesis: Genesis } {
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-upgrade-'));
  dirs.push(dir);
  const base = defaultDevnetGenesis();
  const genesis: Genesis = { ...base, params: { ...base.params, epochLengthBlocks: 100_000 }, upgrades };
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
  return { dir, genesis };
}

function prevote(key: DevKey, chainId: string, height: number, blockHash: string): SignedMessage {
  const unsigned = { type: 'prevote' as const, chainId, height, round: 0, validatorId: key.address, payload: { blockHash } };
  return { ...unsigned, signature: createSigner(key.privateKey).sign(envelopeSignBytes(unsigned)) };
}
/** Two prevotes of validator 0 for two different blocks at `height`: real equivocation evidence. */
const doubleVote = (chainId: string, height: number): Evidence => ({ a: prevote(VAL0, chainId, height, 'aa'.repeat(32)), b: prevote(VAL0, chainId, height, 'bb'.repeat(32)) });

async function call<T>(url: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> {
  const r = await fetch(url, { method, headers: AUTH, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${text}`);
  return JSON.parse(text) as T;
}

const heightOf = async (n: NodeProcess): Promise<number> => (await call<{ latestHeight: number }>(`${n.url}/status`)).latestHeight;

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Slash = { height: number; infractionHeight: number; reason: string };
const slashesOf = async (n: NodeProcess): Promise<Slash[]> => (await call<{ slashes: Slash[] }>(`${n.url}/validators/${VAL0.address}`)).slashes;

/** Pauses production, hands the node evidence, and resumes; returns the height production stopped at. */
async function giveEvidence(n: NodeProcess, evidence: Evidence[]): Promise<number> {
  await call(`${n.url}/admin/production/pause`, 'POST', {});
  const paused = await heightOf(n);
  for (const e of evidence) await call(`${n.url}/admin/evidence`, 'POST', { evidence: encodeEvidence(e) });
  await call(`${n.url}/admin/production/resume`, 'POST', {});
  return paused;
}

/** Runs `fastpos start` until it exits by itself; its exit code and every output line. */
function runUntilExit(dir: string, timeoutMs = 30_000): Promise<{ code: number | null; lines: string[] }> {
  const proc = spawn(process.execPath, [CLI, 'start', '--data-dir', dir, '--port', '0', '--log-level', 'info', '--idle-block-interval-ms', '50', '--min-block-interval-ms', '5'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l));
  createInterface({ input: proc.stderr }).on('line', (l) => lines.push(l));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the node did not stop by itself in ${timeoutMs} ms:\n${lines.slice(-30).join('\n')}`));
    }, timeoutMs);
    // 'close': the output is read to its end too.
    proc.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines });
    });
  });
}

function verify(dir: string): { ok: boolean; height: number; latestHash: string; stateRoot: string } {
  const r = runCli(['verify-chain', '--data-dir', dir]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The log line of the halt, at error level (pino: 50). */
const haltLine = (lines: string[]): { level: number; upgrade: string; height: number } | undefined =>
  lines.map((l) => {
    try {
      return JSON.parse(l) as { level: number; msg?: string; upgrade: string; height: number };
    } catch {
      return undefined;
    }
  }).find((j) => j?.msg === HALT_MESSAGE);

describe('coordinated upgrades on a node process', { timeout: 180_000 }, () => {
  it('behavior: evidence is punished by the old rule below the height of evidence-once-per-spell and by the new one from it; verify-chain replays the whole chain', async () => {
    const AT = 8;
    const { dir, genesis } = dataDir([{ name: SPELL, height: AT }]);
    const n = await spawnNode(dir, ['--admin-token', TOKEN, '--idle-block-interval-ms', '300', '--min-block-interval-ms', '5']);
    procs.push(n);
    try {
      await until('height 2', async () => ((await heightOf(n)) >= 2 ? true : undefined));
      // Below the height: two double signs of validator 0 (heights 1 and 2), carried by one block and each punished.
      const paused = await giveEvidence(n, [doubleVote(genesis.chainId, 1), doubleVote(genesis.chainId, 2)]);
      assert.ok(paused + 1 < AT, `paused at ${paused}: the evidence block must come before height ${AT}`);
      const old = await until('two slashes', async () => {
        const s = await slashesOf(n);
        return s.length >= 2 ? s : undefined;
      });
      assert.deepEqual(old.map((s) => [s.infractionHeight, s.reason]), [[1, 'double_sign'], [2, 'double_sign']]);
      assert.equal(old[0]!.height, old[1]!.height, 'one block carried both items of one validator');
      assert.ok(old[0]!.height < AT);

      // From the height: validator 0 double-signs at heights 9 and 10 (one spell): punished once.
      await until(`height ${AT + 3}`, async () => ((await heightOf(n)) >= AT + 3 ? true : undefined));
      await giveEvidence(n, [doubleVote(genesis.chainId, AT + 1), doubleVote(genesis.chainId, AT + 2)]);
      const now = await until('a third slash', async () => {
        const s = await slashesOf(n);
        return s.length >= 3 ? s : undefined;
      });
      assert.ok(now[2]!.height > AT && [AT + 1, AT + 2].includes(now[2]!.infractionHeight), JSON.stringify(now));
      // The other item is covered by that punishment: it leaves the pending list and never lands.
      await until('no pending evidence', async () => ((await call<{ pending: { total: number } }>(`${n.url}/admin/evidence`)).pending.total === 0 ? true : undefined));
      const h = await heightOf(n);
      await until(`height ${h + 3}`, async () => ((await heightOf(n)) >= h + 3 ? true : undefined));
      assert.equal((await slashesOf(n)).length, 3);
    } finally {
      await n.kill();
    }
    const report = verify(dir);
    assert.equal(report.ok, true);
    assert.ok(report.height >= AT + 6, `verified to height ${report.height}`);
  });

  it('behavior: a node stops cleanly before a rule change it does not know, its data dir verifies, and it stops there again when restarted', async () => {
    const { dir } = dataDir([{ name: 'a-later-rule', height: 5 }]);
    const first = await runUntilExit(dir);
    assert.notEqual(first.code, 0, first.lines.slice(-20).join('\n'));
    const line = haltLine(first.lines);
    assert.ok(line !== undefined, `no halt message in:\n${first.lines.slice(-20).join('\n')}`);
    assert.equal(line.level, 50);
    assert.deepEqual([line.upgrade, line.height], ['a-later-rule', 5]);
    // Nothing of height 5 was stored; the chain to height 4 replays clean.
    const before = verify(dir);
    assert.equal(before.height, 4);

    const second = await runUntilExit(dir);
    assert.notEqual(second.code, 0);
    assert.ok(haltLine(second.lines) !== undefined, second.lines.slice(-20).join('\n'));
    const again = verify(dir);
    assert.deepEqual(again, { ...before, seconds: (again as unknown as { seconds: number }).seconds });
  });

  it('behavior: the halt exits with UPGRADE_HALT_EXIT_CODE', async () => {
    const { dir } = dataDir([{ name: 'a-later-rule', height: 5 }]);
    const r = await runUntilExit(dir);
    assert.equal(r.code, UPGRADE_HALT_EXIT_CODE);
  });
});
