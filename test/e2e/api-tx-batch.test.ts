/**
 * `POST /txs` against real `fastpos start` processes (dist/cli/main.js) over
 * 127.0.0.1: a batch mixing valid txs with every kind of refusal is answered
 * per tx, in order, each refused tx with the code that `POST /tx` gives the
 * same tx on a second fresh node (sent one by one there, in the same order);
 * the valid txs are finalized; `?idempotent=true` answers the state of txs
 * already known. Both nodes are single-validator devnets with
 * `--mempool-nonce-window 8`. Every wait is bounded in time.
 * Needs `npm run build` (the node runs from dist).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signTransfer } from '../../src/client/sign.js';
import { devAccount } from '../../src/crypto/keys.js';
import { DEVNET_CHAIN_ID } from '../../src/state/genesis.js';
import { getJson, postJson, waitUntil } from '../helpers/network.js';
import { spawnNode, type NodeProcess } from '../helpers/proc.js';

const FLAGS = ['--mempool-nonce-window', '8', '--peer-discovery-interval-ms', '0'];
const SINK = devAccount(19).address;

/** A transfer of 1 unit from dev account `from`, signed with its key. */
function transfer(from: number, nonce: number, o: { fee?: bigint; chainId?: string } = {}): { id: string; tx: Record<string, unknown> } {
  return signTransfer(devAccount(from).privateKey, { chainId: o.chainId ?? DEVNET_CHAIN_ID, nonce, to: SINK, amount: 1n, fee: o.fee ?? 10n });
}

/** `pending`, or the error code of a POST /tx answer (202: pending). */
function codeOfSingle(r: { status: number; body: any }): string {
  return r.status === 202 ? 'pending' : String(r.body?.error?.code ?? r.status);
}

/** `pending`, or the error code of one entry of a POST /txs answer. */
function codeOfEntry(e: any): string {
  return e.error === undefined ? String(e.status) : String(e.error.code);
}

describe('POST /txs (real processes, single-validator devnets)', { timeout: 120_000 }, () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'fastpos-batch-a-')), mkdtempSync(join(tmpdir(), 'fastpos-batch-b-'))];
  let a: NodeProcess | undefined;
  let b: NodeProcess | undefined;

  before(async () => {
    [a, b] = await Promise.all(dirs.map((d) => spawnNode(d, FLAGS)));
    for (const n of [a!, b!]) await waitUntil(async () => (await getJson(`${n.url}/readyz`)).ready === true, 20_000, 'the node to be ready');
  });
  after(async () => {
    await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('behavior: a mixed batch is answered per tx in order with the codes POST /tx gives each tx; the valid txs are finalized; idempotent resubmission answers their state', async () => {
    const pre = transfer(3, 0); // submitted before the batch: the batch's copy is a duplicate of a known tx
    const v0 = transfer(1, 0);
    const v1 = transfer(1, 1);
    const other = transfer(2, 0);
    const badSig = { ...transfer(2, 0).tx, signature: transfer(4, 0).tx.signature as string };
    const { signature: _dropped, ...noSignature } = transfer(5, 0).tx;
    const unknownKind = { ...transfer(5, 0).tx, kind: 'no_such_kind' };
    const wrongFrom = { ...transfer(6, 0).tx, from: devAccount(7).address };
    const gap = transfer(8, 50); // past the nonce window of 8
    const cheap = transfer(9, 0, { fee: 0n }); // under the chain's minimum fee
    const otherChain = transfer(10, 0, { chainId: 'fastpos-other-chain' });
    const v2 = transfer(0, 0);
    const unfunded = transfer(11, 0); // dev accounts 0–9 are funded
    const batch: { name: string; tx: unknown; id?: string }[] = [
      { name: 'valid', tx: v0.tx, id: v0.id },
      { name: 'valid, next nonce of the same sender', tx: v1.tx, id: v1.id },
      { name: 'bad signature', tx: badSig },
      { name: 'missing field', tx: noSignature },
      { name: 'unknown kind', tx: unknownKind },
      { name: 'not an object', tx: 42 },
      { name: 'from is not the address of pubKey', tx: wrongFrom },
      { name: 'duplicate inside the batch', tx: v0.tx, id: v0.id },
      { name: 'duplicate of a known tx', tx: pre.tx, id: pre.id },
      { name: 'nonce gap past the window', tx: gap.tx, id: gap.id },
      { name: 'fee under the minimum', tx: cheap.tx, id: cheap.id },
      { name: 'another chain', tx: otherChain.tx },
      { name: 'unfunded sender', tx: unfunded.tx, id: unfunded.id },
      { name: 'valid, another sender', tx: v2.tx, id: v2.id },
      { name: 'valid, a third sender', tx: other.tx, id: other.id },
    ];

    // Node B: the same txs one by one through POST /tx, in the same order.
    assert.equal((await postJson(`${b!.url}/tx`, pre.tx)).status, 202);
    const single: string[] = [];
    for (const e of batch) single.push(codeOfSingle(await postJson(`${b!.url}/tx`, e.tx)));

    // Node A: the whole batch in one POST /txs.
    assert.equal((await postJson(`${a!.url}/tx`, pre.tx)).status, 202);
    const r = await postJson(`${a!.url}/txs`, { txs: batch.map((e) => e.tx) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const results = r.body.results as any[];
    assert.equal(results.length, batch.length);
    const batched = results.map(codeOfEntry);
    const named = (codes: string[]): string[] => codes.map((c, i) => `${batch[i]!.name}: ${c}`);
    assert.deepEqual(named(batched), named(single), 'each slot has the code POST /tx gives that tx');
    // What POST /tx gives each (docs/api.md): asserted too, so that both nodes agreeing on a wrong code fails.
    assert.deepEqual(batched, [
      'pending', 'pending', 'INVALID_SIGNATURE', 'INVALID_REQUEST', 'INVALID_TX', 'INVALID_REQUEST', 'SENDER_MISMATCH',
      'DUPLICATE_TX', 'DUPLICATE_TX', 'NONCE_TOO_HIGH', 'FEE_TOO_LOW', 'WRONG_CHAIN_ID', 'INSUFFICIENT_FUNDS', 'pending', 'pending',
    ]);
    assert.equal(r.body.accepted, 4);
    assert.equal(r.body.rejected, batch.length - 4);

    // Ids: every tx that decodes has its id in its slot, those that do not have none.
    batch.forEach((e, i) => {
      if (e.id !== undefined) assert.equal(results[i].id, e.id, `id of ${e.name}`);
    });
    for (const i of [3, 4, 5, 6]) assert.equal(results[i].id, undefined, `no id for ${batch[i]!.name}`);
    for (const i of [3, 5]) assert.match(results[i].error.message, new RegExp(`^txs/${i}`), 'a shape error names its slot');
    for (const e of results) assert.deepEqual(Object.keys(e).sort(), e.error === undefined ? ['id', 'status'] : e.id === undefined ? ['error'] : ['error', 'id']);

    // The valid ones are finalized.
    for (const t of [v0, v1, v2, other]) {
      const st = await waitUntil(async () => {
        const s = await getJson(`${a!.url}/tx?id=${t.id}`);
        return s.status === 'finalized' ? s : undefined;
      }, 20_000, `tx ${t.id} to be finalized`);
      assert.equal(st.success, true, JSON.stringify(st));
    }

    // Idempotent: known txs answer their state; a refused one is still refused.
    // (A tx's id does not cover its signature: the bad copy here is of a tx never admitted.)
    const badSigFresh = { ...transfer(7, 0).tx, signature: transfer(4, 0).tx.signature as string };
    const again = await postJson(`${a!.url}/txs?idempotent=true`, { txs: [v0.tx, badSigFresh, v2.tx] });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const [k0, kBad, k2] = again.body.results as any[];
    assert.equal(k0.id, v0.id);
    assert.equal(k0.status, 'finalized');
    assert.equal(k0.known, true);
    assert.equal(typeof k0.height, 'number');
    assert.equal(k0.success, true);
    assert.equal(kBad.error.code, 'INVALID_SIGNATURE');
    assert.equal(k2.status, 'finalized');
    assert.equal(again.body.accepted, 2);
    // Without idempotent, the same known tx is a duplicate.
    const dup = await postJson(`${a!.url}/txs`, { txs: [v0.tx] });
    assert.equal(dup.status, 200);
    assert.equal(dup.body.results[0].error.code, 'DUPLICATE_TX');
  });
});
