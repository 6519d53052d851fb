import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { GUARD_FILE, LOCK_BLOCK_FILE, createFileSignGuard, loadGuardState } from '../../../src/node/signGuardFile.js';
import { blockHash } from '../../../src/codec/block.js';
import type { Block } from '../../../src/types/index.js';
import { acct, transfer, val } from '../../helpers/fixtures.js';
import { errorCodeOf } from '../../helpers/util.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-guard-');

const signer = createSigner(val(0).privateKey);
const id = val(0).address;
const HASH_A = 'aa'.repeat(32);
const HASH_B = 'bb'.repeat(32);

function sign(g: ReturnType<typeof createFileSignGuard>, p: { height: number; round: number; step: 'proposal' | 'prevote' | 'precommit'; blockHash: string | null }) {
  return g.sign({ validatorId: id, ...p, bytes: Buffer.from(`${p.height}/${p.round}/${p.step}/${p.blockHash}`), signer });
}

const code = errorCodeOf;

describe('double-sign guard on disk', () => {
  it('default: a missing file is a fresh validator', () => {
    assert.deepEqual(loadGuardState(tmp()), { last: {}, lock: null });
  });

  it('behavior: after a flush and a restart, the same position signs only the same block again', async () => {
    const dir = tmp();
    const g = createFileSignGuard(dir);
    const first = sign(g, { height: 5, round: 0, step: 'prevote', blockHash: HASH_A });
    assert.ok(first !== null);
    await g.flush();
    assert.equal(statSync(join(dir, GUARD_FILE)).mode & 0o777, 0o600);
    const again = createFileSignGuard(dir);
    assert.equal(sign(again, { height: 5, round: 0, step: 'prevote', blockHash: HASH_B }), null, 'conflicting vote refused');
    assert.deepEqual(sign(again, { height: 5, round: 0, step: 'prevote', blockHash: HASH_A }), { signature: first.signature }, 'same vote: same signature');
    assert.equal(sign(again, { height: 4, round: 9, step: 'precommit', blockHash: HASH_A }), null, 'earlier height refused');
    assert.ok(sign(again, { height: 5, round: 0, step: 'precommit', blockHash: HASH_A }) !== null, 'next step allowed');
    assert.deepEqual(
      again.signedAt(5).map((r) => r.step),
      ['prevote', 'precommit'],
    );
  });

  it('behavior: the lock and its block survive a restart', async () => {
    const dir = tmp();
    const g = createFileSignGuard(dir);
    const d = transfer({ from: 0, to: acct(1).address, amount: 5n, nonce: 0 });
    const block: Block = {
      header: {
        version: 1, chainId: 'fastpos-devnet', height: 7, round: 1, timestamp: 1, prevHash: HASH_A, proposer: id,
        txRoot: HASH_B, txCount: 1, stateRoot: HASH_A, validatorSetHash: HASH_B, lastCommitHash: HASH_A, evidenceHash: HASH_A,
      },
      txs: [d],
      lastCommit: null,
      evidence: [],
    };
    const hash = blockHash(block.header);
    const polka = [{ validatorId: id, signature: 'ab'.repeat(64) }, { validatorId: val(1).address, signature: 'cd'.repeat(64) }];
    g.recordLock(7, { round: 1, blockHash: hash, block, polka });
    sign(g, { height: 7, round: 1, step: 'precommit', blockHash: hash });
    await g.flush();
    const lock = createFileSignGuard(dir).lockAt(7);
    assert.equal(lock?.round, 1);
    assert.equal(lock?.blockHash, hash);
    assert.deepEqual(lock?.polka, polka, 'the prevotes that justified the lock survive with it');
    assert.deepEqual(lock?.block?.header, block.header);
    assert.equal(lock?.block?.txs[0]?.id, d.id);
    assert.equal(createFileSignGuard(dir).lockAt(8), null);
    // The vote record stays small: the block is in its own file, written once per lock.
    const state = readFileSync(join(dir, GUARD_FILE), 'utf8');
    assert.ok(!state.includes(d.tx.signature), 'no block in the state file');
    const before = statSync(join(dir, LOCK_BLOCK_FILE)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    sign(g, { height: 7, round: 2, step: 'prevote', blockHash: hash });
    await g.flush();
    assert.equal(statSync(join(dir, LOCK_BLOCK_FILE)).mtimeMs, before, 'the same lock does not rewrite its block');
  });

  it('behavior: a damaged or foreign lock-block file leaves the lock in force without its block', async () => {
    const dir = tmp();
    const g = createFileSignGuard(dir);
    const block: Block = {
      header: {
        version: 1, chainId: 'fastpos-devnet', height: 9, round: 0, timestamp: 1, prevHash: HASH_A, proposer: id,
        txRoot: HASH_B, txCount: 0, stateRoot: HASH_A, validatorSetHash: HASH_B, lastCommitHash: HASH_A, evidenceHash: HASH_A,
      },
      txs: [],
      lastCommit: null,
      evidence: [],
    };
    const hash = blockHash(block.header);
    g.recordLock(9, { round: 0, blockHash: hash, block });
    sign(g, { height: 9, round: 0, step: 'precommit', blockHash: hash });
    await g.flush();
    writeFileSync(join(dir, LOCK_BLOCK_FILE), '{"blockHash": "' + hash + '", "block": {"header": 1');
    const damaged = createFileSignGuard(dir).lockAt(9);
    assert.equal(damaged?.blockHash, hash, 'the lock (what safety rests on) survives');
    assert.equal(damaged?.block, undefined);
    writeFileSync(join(dir, LOCK_BLOCK_FILE), JSON.stringify({ blockHash: HASH_B, block: {} }));
    assert.equal(createFileSignGuard(dir).lockAt(9)?.block, undefined, 'a block for another hash is not used');
  });

  it('error: a truncated or edited record stops the node, naming the file', async () => {
    const dir = tmp();
    const g = createFileSignGuard(dir);
    sign(g, { height: 3, round: 0, step: 'prevote', blockHash: HASH_A });
    await g.flush();
    const file = join(dir, GUARD_FILE);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"round":0', '"round":1'));
    assert.equal(code(() => loadGuardState(dir)), 'CORRUPT_DATA');
    assert.throws(() => loadGuardState(dir), new RegExp(GUARD_FILE));
    writeFileSync(file, text);
    truncateSync(file, Math.floor(text.length / 2));
    assert.equal(code(() => loadGuardState(dir)), 'CORRUPT_DATA');
    assert.throws(() => createFileSignGuard(dir), new RegExp(GUARD_FILE));
  });

  it('behavior: nothing is written until a flush (a signature that never left needs no record)', () => {
    const dir = tmp();
    const g = createFileSignGuard(dir);
    sign(g, { height: 1, round: 0, step: 'prevote', blockHash: HASH_A });
    assert.deepEqual(loadGuardState(dir), { last: {}, lock: null });
  });
});
