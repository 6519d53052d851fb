/** Helpers for tests that talk to a real node's API in-process (Fastify inject). */
import assert from 'node:assert/strict';
import { signTx } from '../../src/client/sign.js';
import type { RunningNode } from '../../src/node/run.js';
import type { UnsignedTx } from '../../src/types/index.js';
import { CHAIN, acct } from './fixtures.js';

/** Asserts the spec's error shape with this status and code (and, if given, a message naming `field`). */
export function assertApiError(r: { status: number; json: any }, status: number, code: string, field?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
  if (field !== undefined) assert.match(r.json.error.message, new RegExp(field));
}

/**
 * Signs txs of dev accounts (each account's next nonce, counted here) and
 * submits them through POST /tx, asserting 202; resolves with the tx id.
 */
export function txSubmitter(node: () => RunningNode): (from: number, kind: UnsignedTx['kind'], payload: Record<string, unknown>) => Promise<string> {
  const nonces = new Map<number, number>();
  return async (from, kind, payload) => {
    const k = acct(from);
    const nonce = nonces.get(from) ?? 0;
    nonces.set(from, nonce + 1);
    const { id, tx } = signTx(k.privateKey, { chainId: CHAIN, kind, from: k.address, pubKey: k.publicKey, nonce, fee: 10n, payload } as unknown as UnsignedTx);
    const r = await node().app.inject({ method: 'POST', url: '/tx', payload: JSON.stringify(tx), headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 202, r.body);
    return id;
  };
}

/**
 * Polls GET /tx?id= through `node`'s API until the tx is finalized (asserting
 * it succeeded and was never dropped); resolves with its height.
 */
export async function waitFinalized(node: RunningNode, id: string, timeoutMs = 10_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await node.app.inject({ method: 'GET', url: `/tx?id=${id}` });
    const json = r.json();
    if (json.status === 'finalized') {
      assert.equal(json.success, true, JSON.stringify(json));
      return json.height as number;
    }
    assert.notEqual(json.status, 'dropped', JSON.stringify(json));
    if (Date.now() > end) throw new Error(`tx ${id} not finalized in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
