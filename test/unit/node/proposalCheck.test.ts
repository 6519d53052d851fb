/**
 * A validator checks the signature of every tx of a proposed block that it
 * has not checked at admission, before it prevotes: a few such txs on the
 * event loop, more on the verifier. A real node (SQLite, in process) holds
 * one of four dev validator keys; the proposer's envelopes are signed for
 * real; the node's own prevote is read where it leaves through the transport.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { KEY_PREFIX } from '../../../src/codec/state.js';
import { encodeProposalPayload, envelopeSignBytes, type Envelope, type UnsignedEnvelope } from '../../../src/codec/envelope.js';
import { toDecodedTx } from '../../../src/codec/tx.js';
import { DEFAULT_CONFIG } from '../../../src/config/index.js';
import { blockHash } from '../../../src/codec/block.js';
import { buildBlock, type BlockEnv } from '../../../src/consensus/block.js';
import { selectProposer } from '../../../src/consensus/proposer.js';
import { buildValidatorSet } from '../../../src/consensus/validatorSet.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { devValidator } from '../../../src/crypto/keys.js';
import { runNode, type RunningNode } from '../../../src/node/run.js';
import { defaultDevnetGenesis, encodeGenesis, genesisEntries, genesisHash } from '../../../src/state/genesis.js';
import { WorldState } from '../../../src/state/worldState.js';
import type { DecodedTx, Validator } from '../../../src/types/index.js';
import { acct, transfer } from '../../helpers/fixtures.js';

const genesis = defaultDevnetGenesis({ validators: 4 });
const state = WorldState.fromEntries(genesisEntries(genesis));
const validators: Validator[] = [];
for (const [k, v] of state.allEntries()) if (k.startsWith(KEY_PREFIX.validator)) validators.push(v as Validator);
const set = buildValidatorSet(validators);
const env: BlockEnv = { chainId: genesis.chainId, params: genesis.params, treasury: genesis.treasury, set, validator: (id) => validators.find((v) => v.id === id) };
const proposerIndex = [0, 1, 2, 3].find((i) => devValidator(i).address === selectProposer(set, 1, 0).id)!;
const nodeIndex = (proposerIndex + 1) % 4;

/** Another signature of the same tx's bytes: well formed, does not verify. */
function badlySigned(d: DecodedTx): DecodedTx {
  const sig = d.tx.signature;
  return toDecodedTx({ ...d.tx, signature: (sig[0] === '0' ? '1' : '0') + sig.slice(1) });
}

/** The height-1 proposal of the scheduled proposer, carrying `txs` (executed for real); `stateRoot` replaces the true one. */
function proposal(txs: DecodedTx[], stateRoot?: string): { json: unknown; hash: string } {
  const real = buildBlock({
    env,
    state,
    tip: { height: 0, hash: genesisHash(genesis), timestamp: genesis.genesisTime, commit: null },
    round: 0,
    timestamp: Date.now(),
    candidates: txs,
    evidence: [],
  });
  assert.equal(real.block.txs.length, txs.length, 'every tx is in the block');
  const header = stateRoot === undefined ? real.block.header : { ...real.block.header, stateRoot };
  const built = { block: { ...real.block, header }, hash: blockHash(header) };
  const u: UnsignedEnvelope = {
    type: 'proposal', chainId: genesis.chainId, height: 1, round: 0, validatorId: devValidator(proposerIndex).address,
    payload: encodeProposalPayload(built.block, built.hash, -1),
  };
  const e: Envelope = { ...u, signature: createSigner(devValidator(proposerIndex).privateKey).sign(envelopeSignBytes(u)) };
  return { json: JSON.parse(canonicalJson(e)), hash: built.hash };
}

/** A fresh node holding one non-proposer key; resolves with the block hash of its height-1 prevote. */
async function prevoteOn(p: { json: unknown }, verifyWorkers = 0): Promise<string | null> {
  return (await nodeVoting(p, verifyWorkers)).prevote;
}

/** As prevoteOn, also giving the node. */
async function nodeVoting(p: { json: unknown }, verifyWorkers = 0): Promise<{ prevote: string | null; running: RunningNode }> {
  const dir = mkdtempSync(join(tmpdir(), 'fastpos-propcheck-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
  writeFileSync(join(dir, 'validator_key.json'), JSON.stringify({ privateKey: devValidator(nodeIndex).privateKey }), { mode: 0o600 });
  let sawPrevote: (hash: string | null) => void = () => undefined;
  const prevote = new Promise<string | null>((resolve) => (sawPrevote = resolve));
  // A long propose timeout: a nil prevote can only be the node's verdict on the block.
  const running: RunningNode = await runNode(
    { ...DEFAULT_CONFIG, dataDir: dir, port: 0, verifyWorkers, timeoutProposeMs: 60_000, allowDevKeys: true },
    {
      logger: pino({ level: 'silent' }),
      wrapTransport: () => ({
        hasPeers: () => true,
        broadcast: (e: Envelope) => {
          if (e.type === 'prevote' && e.height === 1) sawPrevote(e.payload.blockHash as string | null);
        },
      }),
    },
  );
  nodes.push(running);
  await running.node.handleEnvelope(p.json);
  return { prevote: await prevote, running };
}

/** A counter's value, summed over its labels (or for one label set). */
async function counter(running: RunningNode, name: 'txSignatureChecks' | 'txSignatureReused', labels: Record<string, string> = {}): Promise<number> {
  const m = await running.node.metrics[name].get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((s, v) => s + v.value, 0);
}

const dirs: string[] = [];
const nodes: RunningNode[] = [];
after(async () => {
  for (const n of nodes) await n.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('txs of a proposed block that the validator did not hold', () => {
  const good = (n: number): DecodedTx[] => Array.from({ length: n }, (_, i) => transfer({ from: i % 8, to: acct(9).address, amount: 1n, nonce: Math.floor(i / 8) }));

  const cases = [
    { name: 'a few, all well signed: the node prevotes for the block', n: 3, bad: -1 },
    { name: 'error: a few, one badly signed: the node prevotes nil', n: 3, bad: 1 },
    { name: 'many (past the event-loop limit), all well signed: the node prevotes for the block', n: 40, bad: -1 },
    { name: 'error: many, the last one badly signed: the node prevotes nil', n: 40, bad: 39 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const txs = good(c.n);
      if (c.bad >= 0) txs[c.bad] = badlySigned(txs[c.bad]!);
      const p = proposal(txs);
      assert.equal(await prevoteOn(p), c.bad >= 0 ? null : p.hash);
    });
  }
});

describe("a proposed block's state root, its entries hashed on the signature workers", () => {
  // 64 transfers from the ten funded accounts to 64 new ones: about 140 lattice elements, hashed off the event loop.
  const wide = (): DecodedTx[] => Array.from({ length: 64 }, (_, i) => transfer({ from: i % 10, to: acct(100 + i).address, amount: 1n, nonce: Math.floor(i / 10) }));

  it('the true state root: the node prevotes for the block', async () => {
    const p = proposal(wide());
    assert.equal(await prevoteOn(p, 2), p.hash);
  });

  it('error: another state root (the header signed as it is): the node prevotes nil', async () => {
    const p = proposal(wide(), 'ab'.repeat(32));
    assert.equal(await prevoteOn(p, 2), null);
  });
});

describe('a tx checked in a proposed block, then gossiped', () => {
  it('is admitted without a second signature check; the same id with another signature is still checked and refused', async () => {
    const txs = Array.from({ length: 4 }, (_, i) => transfer({ from: i, to: acct(9).address, amount: 1n, nonce: 0 }));
    const p = proposal(txs);
    const { prevote, running } = await nodeVoting(p);
    assert.equal(prevote, p.hash);
    assert.equal(await counter(running, 'txSignatureChecks', { path: 'block' }), 4);
    const gossip = await running.node.handleTxBatch(txs.slice(0, 3).map((d) => JSON.parse(d.json) as unknown));
    assert.equal(gossip.accepted, 3, JSON.stringify(gossip));
    assert.equal(await counter(running, 'txSignatureReused'), 3);
    assert.equal(await counter(running, 'txSignatureChecks', { path: 'admission' }), 0);
    // The block's fourth tx with another signature (the id does not cover it): checked, and it does not verify.
    const forged = badlySigned(txs[3]!);
    assert.equal(forged.id, txs[3]!.id);
    const r = await running.node.handleTxBatch([JSON.parse(forged.json) as unknown]);
    assert.equal(r.rejected, 1, JSON.stringify(r));
    assert.equal(await counter(running, 'txSignatureChecks', { path: 'admission' }), 1);
  });
});
