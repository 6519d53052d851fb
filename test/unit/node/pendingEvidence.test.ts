/**
 * Pending equivocation evidence survives a restart (pending_evidence.json):
 * evidence given to a paused node is proposed after the node restarts on the
 * same data dir, and a damaged file is an empty list, not a failed start.
 * Real single-node devnet (dev validator 0), real SQLite files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { envelopeSignBytes } from '../../../src/codec/envelope.js';
import { evidenceId } from '../../../src/codec/tx.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { devValidator, type DevKey } from '../../../src/crypto/keys.js';
import { EVIDENCE_FILE } from '../../../src/node/evidenceFile.js';
import { defaultDevnetGenesis } from '../../../src/state/genesis.js';
import type { Evidence, Genesis, SignedMessage } from '../../../src/types/index.js';
import { CHAIN } from '../../helpers/fixtures.js';
import { startTestNode, waitForHeight, type TestNode } from '../../helpers/node.js';

const TOKEN = 'pending-evidence-test-token-01';
const AUTH = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const base = defaultDevnetGenesis();
// One long epoch: jailing validator 0 does not stop this node from producing blocks.
const genesis: Genesis = { ...base, params: { ...base.params, epochLengthBlocks: 100_000 } };
const VAL0 = devValidator(0);

function prevote(key: DevKey, height: number, blockHash: string): SignedMessage {
  const unsigned = { type: 'prevote' as const, chainId: CHAIN, height, round: 0, validatorId: key.address, payload: { blockHash } };
  return { ...unsigned, signature: createSigner(key.privateKey).sign(envelopeSignBytes(unsigned)) };
}
const doubleVote = (key: DevKey, height: number): Evidence => ({ a: prevote(key, height, 'aa'.repeat(32)), b: prevote(key, height, 'bb'.repeat(32)) });

const dirs: string[] = [];
const nodes: TestNode[] = [];
after(async () => {
  for (const n of nodes) await n.close().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dir: string): Promise<TestNode> {
  const n = await startTestNode({ genesis, dir, config: { adminToken: TOKEN } });
  nodes.push(n);
  return n;
}

async function waitFile(file: string, check: (text: string) => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(existsSync(file) && check(readFileSync(file, 'utf8')))) {
    if (Date.now() > end) throw new Error(`${file} not written as expected in 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('pending evidence across a restart', () => {
  it('behavior: evidence given to a node before a restart is proposed after it: it slashes, once for two heights of one spell', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fastpos-evidence-'));
    dirs.push(dir);
    const first = await start(dir);
    await waitForHeight(first, 2);
    assert.equal((await first.app.inject({ method: 'POST', url: '/admin/production/pause', headers: AUTH, payload: '{}' })).statusCode, 200);
    const e = doubleVote(VAL0, 1);
    const e2 = doubleVote(VAL0, 2);
    for (const ev of [e, e2]) {
      const r = await first.app.inject({ method: 'POST', url: '/admin/evidence', headers: AUTH, payload: JSON.stringify({ evidence: ev }) });
      assert.equal(r.statusCode, 202, r.body);
    }
    const file = join(dir, EVIDENCE_FILE);
    await waitFile(file, (t) => t.includes(e.a.signature) && t.includes(e2.a.signature));
    await first.close();

    const second = await start(dir);
    // Pending again at once, then proposed in a block: validator 0 is slashed for height 1.
    const pending = (await second.app.inject({ method: 'GET', url: '/admin/evidence', headers: AUTH })).json() as { pending: { items: { evidenceId: string }[] } };
    const slashedAlready = pending.pending.items.length === 0;
    // Both kept (each is valid on its own), though a block may carry only one of them.
    if (!slashedAlready) assert.deepEqual(pending.pending.items.map((i) => i.evidenceId).sort(), [evidenceId(e), evidenceId(e2)].sort());
    await waitForHeight(second, second.node.height + 2);
    const v = (await second.app.inject({ method: 'GET', url: `/validators/${VAL0.address}` })).json() as {
      slashes: { reason: string; infractionHeight: number; height: number }[];
      status: string;
      doubleSignPunishment: { punishedAt: number; infractionHeight: number; unjailedAt: number | null } | null;
    };
    assert.deepEqual(v.slashes.filter((s) => s.reason === 'double_sign').map((s) => s.infractionHeight), [1], JSON.stringify(v.slashes));
    assert.equal(v.status, 'jailed');
    const slashedAt = v.slashes.find((s) => s.reason === 'double_sign')!.height;
    assert.deepEqual(v.doubleSignPunishment, { punishedAt: slashedAt, infractionHeight: 1, unjailedAt: null });
    // Used, and the other height covered by that punishment: the list on disk is empty again.
    await waitFile(file, (t) => (JSON.parse(t) as { evidence: unknown[] }).evidence.length === 0);
  });

  it('error: a damaged evidence file is an empty list, and the node starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fastpos-evidence-'));
    dirs.push(dir);
    const first = await start(dir);
    await waitForHeight(first, 1);
    await first.close();
    for (const text of ['{"evidence": [', '{"evidence": 5}', '{"evidence": [{"a": 1, "b": 2}]}']) {
      writeFileSync(join(dir, EVIDENCE_FILE), text);
      const n = await start(dir);
      const list = (await n.app.inject({ method: 'GET', url: '/admin/evidence', headers: AUTH })).json() as { pending: { total: number } };
      assert.equal(list.pending.total, 0, text);
      await n.close();
    }
  });
});
