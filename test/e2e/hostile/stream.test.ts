/**
 * Hostile peer streams against a real node process over 127.0.0.1: frames
 * that are not JSON, too large or of the wrong shape close the stream with a
 * close code; a forged envelope or a tx list over the address's budget is
 * refused and counted while the stream stays open; a flood over the
 * per-validator rate is refused like POSTs are, then closed; streams beyond
 * `p2pStreamMaxInbound` and streams that stay silent for
 * `p2pStreamIdleTimeoutMs` are closed, and the node finalizes throughout;
 * stream upgrades count against the listener's per-address connection cap.
 *
 * The node holds validator A (almost all the stake: it finalizes alone); the
 * test holds the key of validator B (stake 1, never started), so it can sign
 * envelopes the node must accept.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signTransfer } from '../../../src/client/sign.js';
import { canonicalJson } from '../../../src/codec/canonical.js';
import { envelopeSignBytes, type UnsignedEnvelope } from '../../../src/codec/envelope.js';
import { createSigner } from '../../../src/crypto/ed25519.js';
import { devAccount } from '../../../src/crypto/keys.js';
import { DEFAULT_PARAMS } from '../../../src/state/genesis.js';
import { spawnNode } from '../../helpers/proc.js';
import { CHAIN_ID, getJson, heightOf, postJson, startNetwork, status, waitForHeight, waitUntil, type NetNode, type Network } from '../../helpers/network.js';
import { closeWithin, openStream, sample, scrape, type TestStream } from '../network/streamHelpers.js';

const RATE = 10;
const MAX_REFUSED = 50;
const IDLE_MS = 1500;
const MAX_INBOUND = 4;
const RATE_LIMIT_MAX = 200;

let net: Network;
let node: NetNode;
let signer: ReturnType<typeof createSigner>;
let validatorB: string;
/** Rounds no two envelopes of this file share (signatures are deterministic; a repeat would be a duplicate). */
let round = 100;

function prevote(height: number): Record<string, unknown> {
  const u: UnsignedEnvelope = { type: 'prevote', chainId: CHAIN_ID, height, round: round++, validatorId: validatorB, payload: { blockHash: null } };
  return { ...u, signature: signer.sign(envelopeSignBytes(u)) };
}

async function ahead(): Promise<number> {
  return (await status(node)).latestHeight + 6;
}

async function refused(code: string): Promise<number> {
  return sample(await scrape(node.url), 'fastpos_p2p_stream_refused_total', `code="${code}"`);
}

async function received(kind: string): Promise<number> {
  return sample(await scrape(node.url), 'fastpos_p2p_messages_received_total', `kind="${kind}"`);
}

/** A stream that is known to be open still: a frame sent on it is handled (counted as received). */
async function assertStillOpen(s: TestStream): Promise<void> {
  const n = await received('prevote');
  await s.send(JSON.stringify({ envelopes: [prevote(await ahead())] }));
  await waitUntil(async () => (await received('prevote')) > n, 10_000, 'the frame to be handled');
  assert.equal(s.ws.readyState, s.ws.OPEN);
}

describe('hostile peer streams against one node process', { timeout: 120_000 }, () => {
  before(async () => {
    net = await startNetwork({
      n: 2,
      stakes: [1_000_000n, 1n],
      dontStart: [1],
      extraArgs: [
        '--p2p-rate-limit', String(RATE),
        '--p2p-stream-max-refused', String(MAX_REFUSED),
        '--p2p-stream-idle-timeout-ms', String(IDLE_MS),
        '--p2p-stream-max-inbound', String(MAX_INBOUND),
        '--rate-limit-max', String(RATE_LIMIT_MAX),
      ],
    });
    node = net.nodes[0]!;
    signer = createSigner(net.nodes[1]!.key.privateKey);
    validatorB = net.nodes[1]!.validatorId;
    await waitForHeight([node], 3, 20_000);
  });

  after(async () => {
    try {
      // Whatever came before, the node is alive and finalizing.
      assert.ok(node.running, 'the node process is still running');
      const h = await heightOf(node);
      await waitForHeight([node], h + 2, 10_000);
    } finally {
      await net.stop();
    }
  });

  it('error: GET /p2p/stream without an upgrade is 400 INVALID_REQUEST; an unknown version is refused before the upgrade', async () => {
    const res = await fetch(`${node.url}/p2p/stream`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST');
    await assert.rejects(openStream(node.url, '?v=2'), /HTTP 400/);
  });

  it('error: a frame that is not JSON closes the stream with 1007', async () => {
    const s = await openStream(node.url);
    await s.send('{"envelopes": [');
    const c = await closeWithin(s, 10_000);
    assert.equal(c.code, 1007);
    assert.match(c.reason, /not valid JSON/);
  });

  it('error: a frame of the wrong shape (unknown field, too many txs, binary) closes the stream with 1008 or 1003', async () => {
    for (const [frame, code] of [
      [JSON.stringify({ envelopes: [], blocks: [] }), 1008],
      [JSON.stringify({ txs: Array.from({ length: 1001 }, () => ({})) }), 1008],
      [JSON.stringify([1, 2, 3]), 1008],
      [Buffer.from('{}'), 1003],
    ] as const) {
      const s = await openStream(node.url);
      if (typeof frame === 'string') await s.send(frame);
      else await new Promise<void>((r, j) => s.ws.send(frame, { binary: true }, (e) => (e ? j(e) : r())));
      assert.equal((await closeWithin(s, 10_000)).code, code);
    }
  });

  it('error: a frame over the message body limit closes the stream with 1009', async () => {
    // The node's limit for validator-network messages: 2 × maxBlockBytes + 1 MiB (above bodyLimitBytes).
    const limit = 2 * DEFAULT_PARAMS.maxBlockBytes + 1_048_576;
    const s = await openStream(node.url);
    await s.send(`{"txs":[{"x":"${'a'.repeat(limit)}"}]}`).catch(() => undefined);
    assert.equal((await closeWithin(s, 15_000)).code, 1009);
    const m = await scrape(node.url);
    assert.ok(sample(m, 'fastpos_p2p_stream_drops_total', 'reason="too_large"') >= 1);
  });

  it('behavior: an envelope with a bad signature is refused and counted (INVALID_SIGNATURE), the stream stays open and takes a valid one next', async () => {
    const s = await openStream(node.url);
    const bad0 = await refused('INVALID_SIGNATURE');
    const e = prevote(await ahead());
    const sig = e.signature as string;
    await s.send(JSON.stringify({ envelopes: [{ ...e, signature: (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1) }] }));
    await waitUntil(async () => (await refused('INVALID_SIGNATURE')) === bad0 + 1, 10_000, 'the forged envelope to be refused');
    // The same stream carries a valid envelope, which the node takes: its replay by POST is a duplicate.
    const good = prevote(await ahead());
    const n = await received('prevote');
    await s.send(canonicalJson({ envelopes: [good] }));
    await waitUntil(async () => (await received('prevote')) === n + 1, 10_000, 'the valid envelope to be handled');
    const replay = await postJson(`${node.url}/p2p/message`, good);
    assert.equal(replay.status, 409, JSON.stringify(replay.body));
    assert.equal(replay.body.error.code, 'DUPLICATE_MESSAGE');
    assert.equal(await refused('INVALID_SIGNATURE'), bad0 + 1);
    assert.equal(s.ws.readyState, s.ws.OPEN);
    s.ws.close();
  });

  it('behavior: txs on a stream are admitted like POST /p2p/txs; a list over the address\'s tx budget is refused (RATE_LIMITED) and the stream stays', async () => {
    const s = await openStream(node.url);
    const { id, tx } = signTransfer(devAccount(1).privateKey, { chainId: CHAIN_ID, nonce: 0, to: devAccount(2).address, amount: 5n, fee: 1n });
    await s.send(JSON.stringify({ txs: [tx] }));
    await waitUntil(async () => ['pending', 'finalized'].includes((await getJson(`${node.url}/tx?id=${id}`).catch(() => ({}))).status), 10_000, 'the streamed tx to be admitted');
    const limited = await refused('RATE_LIMITED');
    // More txs than the budget holds in a whole window: charged before any check, refused as a list.
    await s.send(JSON.stringify({ txs: Array.from({ length: RATE_LIMIT_MAX + 1 }, () => ({ junk: true })) }));
    await waitUntil(async () => (await refused('RATE_LIMITED')) === limited + 1, 10_000, 'the list to be refused');
    await assertStillOpen(s);
    s.ws.close();
  });

  it('behavior: envelopes over p2pRateLimit are refused RATE_LIMITED like POSTs and the stream stays; a stream that keeps flooding is closed with 1008', async () => {
    const s = await openStream(node.url);
    const limited = await refused('RATE_LIMITED');
    const h = await ahead();
    // 5 × the rate in one frame: what the validator's bucket holds is taken, the rest refused for its rate, as POSTs are.
    await s.send(JSON.stringify({ envelopes: Array.from({ length: 5 * RATE }, () => prevote(h)) }));
    await waitUntil(async () => (await refused('RATE_LIMITED')) >= limited + RATE, 10_000, 'envelopes over the rate to be refused');
    assert.ok((await refused('RATE_LIMITED')) - limited < 5 * RATE, 'some were taken');
    assert.ok((await refused('RATE_LIMITED')) - limited <= MAX_REFUSED, 'not yet a flood');
    assert.equal(s.ws.readyState, s.ws.OPEN);
    // Then more than p2pStreamMaxRefused refusals within the window: a flood, closed.
    await s.send(JSON.stringify({ envelopes: Array.from({ length: 2 * MAX_REFUSED }, () => prevote(h)) })).catch(() => undefined);
    const c = await closeWithin(s, 10_000);
    assert.equal(c.code, 1008);
    assert.match(c.reason, /refused for their rate/);
  });

  it('error: streams beyond p2pStreamMaxInbound are closed with 1013', async () => {
    const open: TestStream[] = [];
    try {
      for (let i = 0; i < MAX_INBOUND; i++) open.push(await openStream(node.url));
      const extra = await openStream(node.url);
      const c = await closeWithin(extra, 10_000);
      assert.equal(c.code, 1013);
      assert.equal(sample(await scrape(node.url), 'fastpos_p2p_streams_open', 'direction="in"'), MAX_INBOUND);
    } finally {
      for (const s of open) s.ws.terminate();
    }
    // Their places free again once they are gone.
    await waitUntil(async () => sample(await scrape(node.url), 'fastpos_p2p_streams_open', 'direction="in"') === 0, 10_000, 'the streams to be gone');
    const again = await openStream(node.url);
    await assertStillOpen(again);
    again.ws.close();
  });

  it('behavior: a stream that never sends nor reads is closed with 4000 after p2pStreamIdleTimeoutMs, and the node finalizes meanwhile', async () => {
    const h = await heightOf(node);
    const silent = await openStream(node.url);
    // Reads nothing either: the node's close frame stays unread, so the node cuts the connection itself.
    silent.ws.pause();
    await waitUntil(async () => sample(await scrape(node.url), 'fastpos_p2p_streams_open', 'direction="in"') === 0, IDLE_MS + 10_000, 'the node to drop the silent stream');
    const m = await scrape(node.url);
    assert.ok(sample(m, 'fastpos_p2p_stream_drops_total', 'reason="idle"') >= 1);
    // Read at last, the close frame says why.
    silent.ws.resume();
    assert.equal((await closeWithin(silent, 10_000)).code, 4000);
    await waitForHeight([node], h + 2, 10_000);
  });
});

describe('peer streams and the connection limits of a listener', { timeout: 60_000 }, () => {
  it('error: a stream upgrade beyond maxConnectionsPerIp is answered 503 TOO_MANY_CONNECTIONS, as any connection is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fastpos-stream-conn-'));
    const proc = await spawnNode(dir, ['--max-connections-per-ip', '3']);
    const open: TestStream[] = [];
    try {
      for (let i = 0; i < 3; i++) open.push(await openStream(proc.url));
      await assert.rejects(openStream(proc.url), /HTTP 503/);
      for (const s of open.splice(0)) s.ws.terminate();
      // Places free again: a stream opens (bounded retries while the node sees the old ones close).
      let again: TestStream | undefined;
      for (let i = 0; i < 50 && again === undefined; i++) {
        again = await openStream(proc.url).catch(async () => {
          await new Promise((r) => setTimeout(r, 100));
          return undefined;
        });
      }
      assert.ok(again !== undefined, 'a stream opens once the others are gone');
      open.push(again);
    } finally {
      for (const s of open) s.ws.terminate();
      await proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
