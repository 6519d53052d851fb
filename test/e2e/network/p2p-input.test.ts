/**
 * Bad input on the validator-network routes of a running node (a real process):
 * every refusal has the spec's shape `{"error": {"code", "message"}}` and the
 * right status, and none crashes or stalls the node. Plus the peer book, the
 * evidence list and the sync routes.
 *
 * The node holds validator A (almost all the stake: it finalizes alone); the
 * test holds the key of validator B (stake 1, never started), so it can sign
 * envelopes the node must accept.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeFinalizedBlock, blockHash as hashHeader } from '../../../src/codec/block.js';
import { envelopeSignBytes, type UnsignedEnvelope } from '../../../src/codec/envelope.js';
import { decodeStateValue } from '../../../src/codec/state.js';
import { verifyCommit } from '../../../src/consensus/commit.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { devValidator } from '../../../src/crypto/keys.js';
import { WorldState } from '../../../src/state/worldState.js';
import {
  CHAIN_ID,
  getJson,
  heightOf,
  postJson,
  sleep,
  startNetwork,
  status,
  waitForHeight,
  waitUntil,
  type NetNode,
  type Network,
} from '../../helpers/network.js';

const ADMIN = 'some-long-admin-token-123';

let net: Network;
let node: NetNode;
let b: { id: string; seed: string };

const signers = new Map<string, ReturnType<typeof createSigner>>();
function sign(u: UnsignedEnvelope, seed = b.seed): Record<string, unknown> {
  let s = signers.get(seed);
  if (s === undefined) signers.set(seed, (s = createSigner(seed)));
  return { ...u, signature: s.sign(envelopeSignBytes(u)) };
}

function prevote(height: number, extra: Partial<UnsignedEnvelope> = {}): UnsignedEnvelope {
  return { type: 'prevote', chainId: CHAIN_ID, height, round: 0, validatorId: b.id, payload: { blockHash: null }, ...extra };
}

function send(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return postJson(`${node.url}/p2p/message`, body, headers);
}

function assertError(res: { status: number; body: any }, httpStatus: number, codes: string | string[]): void {
  const allowed = Array.isArray(codes) ? codes : [codes];
  assert.equal(res.status, httpStatus, `expected ${httpStatus} ${allowed.join('|')}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.ok(typeof res.body === 'object' && res.body !== null, `error body is JSON: ${String(res.body)}`);
  assert.deepEqual(Object.keys(res.body), ['error'], `error shape: ${JSON.stringify(res.body)}`);
  assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message']);
  assert.ok(allowed.includes(res.body.error.code), `code ${res.body.error.code}, expected ${allowed.join('|')}`);
  assert.equal(typeof res.body.error.message, 'string');
  assert.ok(res.body.error.message.length > 0);
}

async function next(): Promise<number> {
  return (await status(node)).latestHeight + 1;
}

describe('validator network: bad input on /p2p and the sync routes', { timeout: 120_000 }, () => {
  before(async () => {
    net = await startNetwork({ n: 2, stakes: [1_000_000n, 1n], dontStart: [1], extraArgs: ['--admin-token', ADMIN] });
    node = net.nodes[0]!;
    b = { id: net.nodes[1]!.validatorId, seed: net.nodes[1]!.key.privateKey };
    await waitForHeight([node], 3, 20_000);
  });

  after(async () => {
    try {
      // Whatever came before, the node is still alive and finalizing.
      assert.ok(node.running, 'the node process is still running');
      const h = await heightOf(node);
      await waitForHeight([node], h + 2, 10_000);
    } finally {
      await net.stop();
    }
  });

  it('a valid envelope from a validator is accepted (202), its replay refused (409 DUPLICATE_MESSAGE)', async () => {
    const e = sign(prevote((await next()) + 8));
    const first = await send(e);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.deepEqual(first.body, { accepted: true });
    assertError(await send(e), 409, 'DUPLICATE_MESSAGE');
  });

  it('a message for a finalized height: 409 OUTDATED_MESSAGE', async () => {
    assertError(await send(sign(prevote(1))), 409, 'OUTDATED_MESSAGE');
    assertError(await send(sign(prevote(2, { type: 'precommit' }))), 409, 'OUTDATED_MESSAGE');
  });

  it('a sender outside the validator set: 403 UNKNOWN_VALIDATOR', async () => {
    const dev = devValidator(7);
    const e = sign(prevote((await next()) + 5, { validatorId: dev.address }), dev.privateKey);
    assertError(await send(e), 403, 'UNKNOWN_VALIDATOR');
  });

  it('a signature that does not verify: 400 INVALID_SIGNATURE', async () => {
    const e = sign(prevote((await next()) + 5));
    const sig = e.signature as string;
    assertError(await send({ ...e, signature: (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1) }), 400, 'INVALID_SIGNATURE');
    // Signed by another key than the validator's.
    assertError(await send(sign(prevote((await next()) + 5), devValidator(3).privateKey)), 400, 'INVALID_SIGNATURE');
    // Valid signature, but over other content (round changed after signing). A round no other test signs: signatures
    // are deterministic, and a round-0 prevote here could be, once the chain moved on, the very one the first test sent
    // (then refused as a duplicate before its signature is checked).
    assertError(await send({ ...sign(prevote((await next()) + 5, { round: 7 })), round: 8 }), 400, 'INVALID_SIGNATURE');
  });

  it('a signature that does not verify is refused even for a far-future height', async () => {
    const e = sign(prevote((await next()) + 1000));
    const sig = e.signature as string;
    assertError(await send({ ...e, signature: (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1) }), 400, 'INVALID_SIGNATURE');
  });

  it('another chain: 400 WRONG_CHAIN_ID', async () => {
    assertError(await send(sign(prevote((await next()) + 5, { chainId: 'fastpos-otherchain' }))), 400, 'WRONG_CHAIN_ID');
  });

  it('malformed envelopes: 400 INVALID_MESSAGE or INVALID_REQUEST', async () => {
    const h = (await next()) + 5;
    const good = sign(prevote(h));
    assertError(await send(sign(prevote(h, { type: 'bogus' as 'prevote' }))), 400, 'INVALID_MESSAGE');
    for (const field of ['type', 'chainId', 'height', 'round', 'validatorId', 'payload', 'signature']) {
      const { [field]: _, ...missing } = good;
      assertError(await send(missing), 400, ['INVALID_REQUEST', 'INVALID_MESSAGE']);
    }
    const cases: Record<string, unknown>[] = [
      { ...good, height: String(h) },
      { ...good, height: 0 },
      { ...good, height: -1 },
      { ...good, height: 1.5 },
      { ...good, round: -1 },
      { ...good, round: 2_000_000 },
      { ...good, validatorId: 'XYZ' },
      { ...good, validatorId: b.id.toUpperCase() },
      { ...good, signature: 'ab' },
      { ...good, signature: null },
      { ...good, payload: null },
      { ...good, payload: [1, 2] },
      { ...good, payload: 'x' },
      { ...good, chainId: '' },
      { ...good, chainId: 'x'.repeat(65) },
      { ...good, type: 'x'.repeat(40) },
      { ...good, extra: 1 },
    ];
    for (const c of cases) assertError(await send(c), 400, ['INVALID_REQUEST', 'INVALID_MESSAGE']);
    for (const body of ['[]', '"x"', '1', 'null', '{}']) assertError(await send(body), 400, ['INVALID_REQUEST', 'INVALID_MESSAGE', 'INVALID_JSON']);
  });

  it('a vote whose payload is not {blockHash: hex|null}: 400 INVALID_MESSAGE', async () => {
    for (const payload of [{ foo: 1 }, { blockHash: 'zz' }, { blockHash: 12 }, { blockHash: null, extra: true }, {}]) {
      // At the node's current height, where the driver would actually look at it; again if the height moved meanwhile.
      let res: { status: number; body: any } = { status: 0, body: null };
      for (let i = 0; i < 5; i++) {
        res = await send(sign(prevote(await next(), { type: 'precommit', payload })));
        if (res.body?.error?.code !== 'OUTDATED_MESSAGE') break;
      }
      assertError(res, 400, 'INVALID_MESSAGE');
    }
  });

  it('a proposal whose blockHash is not the hash of its block: 400 INVALID_MESSAGE', async () => {
    // The network keeps finalizing: a try that lands on a height decided meanwhile is outdated, and is made again.
    let res: { status: number; body: any } | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      const latest = await getJson(`${node.url}/blocks/latest`);
      const h = latest.header.height + 1;
      const header = { ...latest.header, height: h, round: 0, prevHash: latest.hash, proposer: b.id };
      const wrong = 'ab'.repeat(32);
      assert.notEqual(hashHeader(header), wrong);
      const u: UnsignedEnvelope = {
        type: 'proposal',
        chainId: CHAIN_ID,
        height: h,
        round: 0,
        validatorId: b.id,
        payload: { blockHash: wrong, validRound: -1, block: { header, txs: [], lastCommit: latest.commit } },
      };
      res = await send(sign(u));
      if (res.body?.error?.code !== 'OUTDATED_MESSAGE') break;
    }
    assertError(res!, 400, 'INVALID_MESSAGE');
  });

  it('a body that is not JSON: 400 INVALID_JSON; not JSON content: 415', async () => {
    assertError(await send('{"type": "prevote",'), 400, 'INVALID_JSON');
    assertError(await send('not json at all'), 400, 'INVALID_JSON');
    const res = await fetch(`${node.url}/p2p/message`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello', signal: AbortSignal.timeout(5000) });
    assertError({ status: res.status, body: await res.json() }, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('an oversized body: 413 PAYLOAD_TOO_LARGE', async () => {
    // The message limit is max(bodyLimitBytes, 2 × maxBlockBytes + 1 MiB) = 3 MiB with the defaults.
    const big = JSON.stringify({ ...sign(prevote((await next()) + 5)), payload: { blockHash: null, pad: 'x'.repeat(3_300_000) } });
    assertError(await send(big), 413, 'PAYLOAD_TOO_LARGE');
    const bigTxs = JSON.stringify({ txs: [{ pad: 'x'.repeat(3_300_000) }] });
    assertError(await postJson(`${node.url}/p2p/txs`, bigTxs), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a flood of 2,000 junk requests gets only 4xx answers; the node then still finalizes and answers /status', async (t) => {
    let h0 = await next();
    const dev = devValidator(9);
    const junk = (i: number): unknown => {
      switch (i % 8) {
        case 0: return '{"broken": ';
        case 1: return { nope: i };
        case 2: return sign(prevote(h0 + 10, { type: 'bogus' as 'prevote', round: i }));
        case 3: return { ...sign(prevote(h0 + 10, { round: i })), signature: 'f'.repeat(128) };
        case 4: return sign(prevote(h0 + 10, { validatorId: dev.address, round: i }), dev.privateKey);
        case 5: return sign(prevote(h0 + 10, { chainId: 'other-chain', round: i }));
        case 6: return sign(prevote(1, { round: i }));
        default: return { ...sign(prevote(h0 + 10)), height: 'soon' };
      }
    };
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    let nextIndex = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = nextIndex++; i < 2000 && Date.now() - t0 < 60_000; i = nextIndex++) {
          // Keep the junk heights ahead of the node (within 64), so that each kind meets the check it is meant for.
          if (i % 100 === 0) h0 = await next();
          const res = await send(junk(i));
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const code = res.body?.error?.code ?? 'none';
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }),
    );
    const floodMs = Date.now() - t0;
    const total = [...statuses.values()].reduce((s, n) => s + n, 0);
    assert.equal(total, 2000, `all 2000 junk requests answered in time (${total})`);
    for (const s of statuses.keys()) assert.ok(s >= 400 && s < 500, `junk answered ${s}: ${JSON.stringify([...statuses])} ${JSON.stringify([...codes])}`);
    assert.equal(codes.get('none') ?? 0, 0, 'every refusal has an error code');
    assert.deepEqual(
      [...codes.keys()].sort(),
      ['INVALID_JSON', 'INVALID_MESSAGE', 'INVALID_REQUEST', 'INVALID_SIGNATURE', 'OUTDATED_MESSAGE', 'UNKNOWN_VALIDATOR', 'WRONG_CHAIN_ID'],
      `codes met: ${JSON.stringify(Object.fromEntries(codes))}`,
    );
    // Still alive and finalizing.
    const st = await status(node);
    assert.equal(st.chainId, CHAIN_ID);
    await waitForHeight([node], st.latestHeight + 3, 10_000);
    assert.ok(node.running);
    t.diagnostic(`2000 junk requests answered in ${floodMs} ms: ${JSON.stringify(Object.fromEntries(codes))}`);
  });

  it('GET /p2p/peers lists the configured peers (their errors only to the admin); POST/DELETE need the admin token', async () => {
    const peers = await getJson(`${node.url}/p2p/peers`);
    assert.ok(Array.isArray(peers));
    assert.deepEqual(peers.map((p: { url: string }) => p.url), [net.nodes[1]!.url]);
    assert.equal(peers[0].source, 'config');
    assert.deepEqual(Object.keys(peers[0]).sort(), ['failures', 'lastOkAt', 'nodeId', 'source', 'url']);

    const url = 'http://127.0.0.1:9';
    const auth = { authorization: `Bearer ${ADMIN}` };
    assertError(await postJson(`${node.url}/p2p/peers`, { url }), 401, 'UNAUTHORIZED');
    assertError(await postJson(`${node.url}/p2p/peers`, { url }, { authorization: 'Bearer wrong-token-wrong-token' }), 403, 'FORBIDDEN');
    const added = await postJson(`${node.url}/p2p/peers`, { url }, auth);
    assert.equal(added.status, 201, JSON.stringify(added.body));
    // Nothing answers there: kept, unused until its hello checks.
    assert.deepEqual(added.body, { url, added: true, nodeId: null });
    assertError(await postJson(`${node.url}/p2p/peers`, { url }, auth), 409, 'DUPLICATE_MESSAGE');
    assertError(await postJson(`${node.url}/p2p/peers`, { url: 'ftp://127.0.0.1:21' }, auth), 400, 'INVALID_REQUEST');
    assertError(await postJson(`${node.url}/p2p/peers`, { url: 'http://127.0.0.1:9/path' }, auth), 400, 'INVALID_REQUEST');
    assertError(await postJson(`${node.url}/p2p/peers`, {}, auth), 400, 'INVALID_REQUEST');
    assertError(await postJson(`${node.url}/p2p/peers`, { url: node.url }, auth), 400, 'INVALID_REQUEST');
    const listed = await getJson(`${node.url}/p2p/peers`);
    assert.deepEqual(listed.find((p: { url: string }) => p.url === url)?.source, 'admin');

    const del = (u: string, headers: Record<string, string> = {}) =>
      fetch(`${node.url}/p2p/peers?url=${encodeURIComponent(u)}`, { method: 'DELETE', headers, signal: AbortSignal.timeout(5000) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    assertError(await del(url), 401, 'UNAUTHORIZED');
    assertError(await del('http://127.0.0.1:8', auth), 404, 'NOT_FOUND');
    const removed = await del(url, auth);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(removed.body, { url, removed: true });
    assertError(await del(url, auth), 404, 'NOT_FOUND');
    assert.deepEqual((await getJson(`${node.url}/p2p/peers`)).map((p: { url: string }) => p.url), [net.nodes[1]!.url]);
  });

  it('GET /p2p/evidence is an array (empty: nobody equivocated)', async () => {
    const ev = await getJson(`${node.url}/p2p/evidence`);
    assert.ok(Array.isArray(ev));
    assert.deepEqual(ev, []);
    assert.deepEqual(await getJson(`${node.url}/p2p/evidence?limit=1000`), []);
    for (const bad of ['0', '1001', 'x', '1.5']) {
      const r = await fetch(`${node.url}/p2p/evidence?limit=${bad}`, { signal: AbortSignal.timeout(5000) });
      assertError({ status: r.status, body: await r.json() }, 400, 'INVALID_REQUEST');
    }
  });

  it('GET /sync/status and GET /sync/blocks?from=1&limit=5 serve checkable finalized blocks', async () => {
    const st = await getJson(`${node.url}/sync/status`);
    const s = await status(node);
    assert.equal(st.chainId, CHAIN_ID);
    assert.equal(st.genesisHash, s.genesisHash);
    assert.equal(typeof st.height, 'number');
    assert.ok(st.height >= 3);
    assert.equal(st.syncing, false);
    assert.equal(st.hash, await getJson(`${node.url}/blocks/${st.height}`).then((x) => x.hash));

    const blocks = await getJson(`${node.url}/sync/blocks?from=1&limit=5`);
    assert.equal(blocks.length, 5);
    const set = net.set;
    let prev: string | null = null;
    for (const [i, raw] of blocks.entries()) {
      const fb = decodeFinalizedBlock(raw);
      assert.equal(fb.block.header.height, i + 1);
      if (prev !== null) assert.equal(fb.block.header.prevHash, prev);
      verifyCommit({ chainId: CHAIN_ID, set, commit: fb.commit, height: i + 1, blockHash: fb.hash });
      assert.equal(fb.hash, (await getJson(`${node.url}/blocks/${i + 1}`)).hash);
      prev = fb.hash;
    }
    assert.deepEqual(await getJson(`${node.url}/sync/blocks?from=${st.height + 1000}&limit=5`), []);
    for (const q of ['from=0', 'limit=0', 'limit=101', 'from=x', 'bogus=1']) {
      const res = await fetch(`${node.url}/sync/blocks?${q}`, { signal: AbortSignal.timeout(5000) });
      assertError({ status: res.status, body: await res.json() }, 400, 'INVALID_REQUEST');
    }
  });

  it('GET /sync/snapshot: its entries hash to its stateRoot, the one of its block', async () => {
    const snap = await getJson(`${node.url}/sync/snapshot`, 10_000);
    assert.ok(Array.isArray(snap.entries));
    assert.ok(snap.entries.length >= 12, `${snap.entries.length} entries`); // 10 dev accounts + 2 validators (+ fee recipients)
    const ws = WorldState.fromEntries(snap.entries.map(([k, v]: [string, string]) => [k, decodeStateValue(k, v)]));
    assert.equal(ws.stateRoot, snap.stateRoot);
    assert.equal(ws.size, snap.entries.length, 'no key twice');
    const block = await getJson(`${node.url}/blocks/${snap.height}`);
    assert.equal(block.hash, snap.blockHash);
    assert.equal(block.header.stateRoot, snap.stateRoot);
  });

  it('the node is still alive after all of the above', async () => {
    await sleep(50);
    const h = await heightOf(node);
    await waitUntil(async () => (await heightOf(node)) > h, 10_000, 'a new block');
    assert.equal((await getJson(`${node.url}/healthz`)).status, 'ok');
  });
});
