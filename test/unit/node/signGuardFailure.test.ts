import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EMPTY_GUARD_STATE, SignGuardRules } from '../../../src/consensus/signGuard.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { GUARD_FILE, createFileSignGuard, loadGuardState } from '../../../src/node/signGuardFile.js';
import { val } from '../../helpers/fixtures.js';
import { tempDirs } from '../../helpers/util.js';

const tmp = tempDirs('fastpos-guard-fail-');

const signer = createSigner(val(0).privateKey);
const id = val(0).address;
const HASH_A = 'aa'.repeat(32);

type Step = 'proposal' | 'prevote' | 'precommit';
function sign(g: SignGuardRules, p: { height: number; round: number; step: Step; blockHash: string | null }) {
  return g.sign({ validatorId: id, ...p, bytes: Buffer.from(`${p.height}/${p.round}/${p.step}/${p.blockHash}`), signer });
}

/** A promise settled from outside. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('double-sign guard after a failed write', () => {
  it('error: once a write fails, every later flush rejects and nothing more is signed', async () => {
    let writes = 0;
    // Fails once, then would succeed: a later success must not make the guard usable again.
    const g = new SignGuardRules(EMPTY_GUARD_STATE, () => (++writes === 1 ? Promise.reject(new Error('ENOSPC: no space left on device')) : Promise.resolve()));
    const first = sign(g, { height: 1, round: 0, step: 'prevote', blockHash: HASH_A });
    assert.ok(first !== null);
    await assert.rejects(g.flush() ?? Promise.resolve(), /ENOSPC/);
    // Nothing new was signed: the record is still not durable, so the flush must not answer "already durable".
    const again = g.flush();
    assert.ok(again !== null, 'flush after a failed write reported the record durable');
    await assert.rejects(again, /ENOSPC/);
    assert.equal(sign(g, { height: 1, round: 0, step: 'precommit', blockHash: HASH_A }), null, 'a new position is refused');
    assert.equal(sign(g, { height: 1, round: 0, step: 'prevote', blockHash: HASH_A }), null, 'the undurable signature is not handed out again');
    assert.equal(sign(g, { height: 2, round: 0, step: 'prevote', blockHash: HASH_A }), null, 'a later height is refused');
    await assert.rejects(g.flush() ?? Promise.resolve(), /ENOSPC/);
    assert.equal(writes, 1, 'no write is attempted after the failure');
  });

  it('error: a write that completes after an earlier one failed does not report success', async () => {
    const writes = [deferred(), deferred()];
    let n = 0;
    const g = new SignGuardRules(EMPTY_GUARD_STATE, () => writes[n++]!.promise);
    sign(g, { height: 1, round: 0, step: 'prevote', blockHash: HASH_A });
    const one = g.flush();
    sign(g, { height: 1, round: 0, step: 'precommit', blockHash: HASH_A });
    const two = g.flush();
    assert.ok(one !== null && two !== null);
    const settled = Promise.allSettled([one, two]);
    writes[0]!.reject(new Error('EIO: i/o error'));
    await Promise.resolve();
    writes[1]!.resolve();
    const [a, b] = await settled;
    assert.equal(a.status, 'rejected');
    assert.equal(b.status, 'rejected', 'the later flush resolved although the guard had failed');
  });

  it('error: a persist that throws fails the guard like a rejected write', async () => {
    const g = new SignGuardRules(EMPTY_GUARD_STATE, () => {
      throw new Error('EROFS: read-only file system');
    });
    sign(g, { height: 1, round: 0, step: 'prevote', blockHash: HASH_A });
    await assert.rejects(Promise.resolve().then(() => g.flush()), /EROFS/);
    await assert.rejects(Promise.resolve().then(() => g.flush()), /EROFS/);
    assert.equal(sign(g, { height: 1, round: 0, step: 'precommit', blockHash: HASH_A }), null);
  });

  it('error: the file guard whose write fails names its file and stays failed (real files)', async () => {
    const dir = tmp();
    const g = createFileSignGuard(dir);
    // The writer replaces the file through `<file>.tmp`: a directory there makes every write fail, also for root.
    mkdirSync(join(dir, `${GUARD_FILE}.tmp`));
    assert.ok(sign(g, { height: 3, round: 0, step: 'prevote', blockHash: HASH_A }) !== null);
    await assert.rejects(g.flush() ?? Promise.resolve(), (e: Error) => e.message.includes(join(dir, GUARD_FILE)));
    await assert.rejects(g.flush() ?? Promise.resolve(), (e: Error) => e.message.includes(join(dir, GUARD_FILE)));
    assert.equal(sign(g, { height: 3, round: 0, step: 'precommit', blockHash: HASH_A }), null);
    assert.deepEqual(loadGuardState(dir).last, {}, 'nothing reached the file');
  });
});
