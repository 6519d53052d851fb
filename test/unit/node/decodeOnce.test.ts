/**
 * An envelope is decoded once on its way to the engine: the peer inbox
 * decodes a proposal's payload (looking each tx up in the pool by its
 * signature, once), and the driver takes the decoded message as it is. A
 * real node (SQLite, in process) holds one of four dev validator keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Envelope } from '../../../src/codec/envelope.js';
import { DEFAULT_CONFIG } from '../../../src/config/index.js';
import { devValidator } from '../../../src/crypto/keys.js';
import { runNode, type RunningNode } from '../../../src/node/run.js';
import { defaultDevnetGenesis, encodeGenesis } from '../../../src/state/genesis.js';
import { TestChain, devIndexOf } from '../../helpers/chain.js';
import { acct, transfer } from '../../helpers/fixtures.js';

const dirs: string[] = [];
const nodes: RunningNode[] = [];
after(async () => {
  for (const n of nodes) await n.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('one decoding per envelope', () => {
  it('a proposal of 20 txs is decoded once (one pool lookup per tx) before the node prevotes for it', async () => {
    const genesis = defaultDevnetGenesis({ validators: 4 });
    const chain = new TestChain(genesis);
    const txs = Array.from({ length: 20 }, (_, i) => transfer({ from: i % 8, to: acct(9).address, amount: 1n, nonce: Math.floor(i / 8) }));
    const b = chain.build(txs);
    const me = chain.setAt(1).validators.find((v) => v.id !== chain.proposerOf(1, 0))!.id;
    const dir = mkdtempSync(join(tmpdir(), 'fastpos-decode-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
    writeFileSync(join(dir, 'validator_key.json'), JSON.stringify({ privateKey: devValidator(devIndexOf(me)).privateKey }), { mode: 0o600 });
    let prevoted: (hash: unknown) => void = () => undefined;
    const prevote = new Promise((resolve) => (prevoted = resolve));
    const n = await runNode(
      { ...DEFAULT_CONFIG, dataDir: dir, port: 0, verifyWorkers: 0, timeoutProposeMs: 60_000, allowDevKeys: true },
      { logger: pino({ level: 'silent' }), wrapTransport: () => ({ hasPeers: () => true, broadcast: (e: Envelope) => (e.type === 'prevote' ? prevoted(e.payload.blockHash) : undefined) }) },
    );
    nodes.push(n);
    const pool = n.node.mempool;
    const original = pool.getBySignature.bind(pool);
    let lookups = 0;
    pool.getBySignature = (sig) => {
      lookups++;
      return original(sig);
    };
    await n.node.handleEnvelope(chain.proposal(b));
    assert.equal(await prevote, b.hash);
    assert.equal(lookups, txs.length);
  });
});
