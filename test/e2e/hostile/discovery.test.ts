/**
 * Peer discovery against a hostile peer, with real node processes on
 * 127.0.0.1. The validator under test has one configured peer, a hostile one,
 * whose `GET /p2p/peers` lists servers that record what they are sent, closed
 * ports, aliases of the validator itself (other names of its address, and a
 * proxy in front of it), a node of another chain (same chain
 * id, another genesis), junk entries, and 10,000 more URLs. None of them may
 * enter the peer book or be sent anything but the handshake (`GET
 * /p2p/hello`); the public `GET /p2p/peers` never shows a peer's `lastError`
 * (the admin's does); the book never fills, so an admin can still add a node
 * of the chain, whose hello proves its node id.
 *
 * Bounded: every wait has a deadline, every list a length.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateKeyPair } from '../../../src/client/keygen.js';
import { freeLoopbackPorts } from '../../../src/cli/ports.js';
import { saveKeyFile } from '../../../src/node/keyFile.js';
import { encodeGenesis } from '../../../src/state/genesis.js';
import type { Genesis } from '../../../src/types/index.js';
import { getJson, makeGenesis, postJson, sleep, waitUntil } from '../../helpers/network.js';
import { spawnNode, type NodeProcess } from '../../helpers/proc.js';

const ADMIN = 'discovery-test-admin-token-0123';
/** URLs in each hostile list beyond the named ones. */
const FLOOD = 10_000;

interface Recorder {
  readonly url: string;
  readonly requests: { method: string; path: string }[];
  close(): Promise<void>;
}

type Answer = { status: number; body: string };

/** An HTTP server on 127.0.0.1 that records every request and answers with `answer` (default 200 `{}`). */
async function startRecorder(answer?: (req: IncomingMessage, n: number) => Answer | Promise<Answer>): Promise<Recorder> {
  const sockets = new Set<Socket>();
  const requests: { method: string; path: string }[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '?', path: (req.url ?? '/').split('?')[0]! });
    req.resume();
    req.on('end', () => {
      void Promise.resolve(answer?.(req, requests.length) ?? { status: 200, body: '{}' })
        .catch(() => ({ status: 502, body: '{}' }))
        .then((a) => res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function nodeDir(root: string, name: string, genesis: Genesis, validatorKey?: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(encodeGenesis(genesis)));
  if (validatorKey !== undefined) saveKeyFile(join(dir, 'validator_key.json'), validatorKey);
  return dir;
}

/** Count of `fastpos_http_requests_total` for a method and route on a node. */
async function served(url: string, method: string, route: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('fastpos_http_requests_total{') && line.includes(`method="${method}"`) && line.includes(`route="${route}"`)) n += Number(line.split(' ').pop());
  }
  return n;
}

interface PeerRow {
  url: string;
  source: string;
  nodeId: string | null;
  [k: string]: unknown;
}

describe('peer discovery against a hostile peer', { timeout: 180_000 }, () => {
  it('behavior: junk URLs, closed ports, aliases of the node, another chain\'s node and 10,000 URLs listed by a peer: none enters the book, nothing but a hello is sent to them, the public list shows no lastError, an admin add still succeeds', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'fastpos-discovery-'));
    const key = generateKeyPair();
    const genesis = makeGenesis([key]);
    const otherGenesis: Genesis = { ...genesis, genesisTime: genesis.genesisTime + 1 };
    const procs: NodeProcess[] = [];
    const recorders: Recorder[] = [];
    try {
      // A node of another chain (same chain id, another genesis), and a follower of this chain (no validator key).
      const other = await spawnNode(nodeDir(root, 'other', otherGenesis), ['--peer-discovery-interval-ms', '0']);
      procs.push(other);
      const followerDir = nodeDir(root, 'follower', genesis);
      const follower = await spawnNode(followerDir, ['--peer-discovery-interval-ms', '0']);
      procs.push(follower);
      // Servers that record what they are sent: one answers everything 200 {}, one 202 like a naive peer, one 404.
      const traps = [
        await startRecorder(),
        await startRecorder(() => ({ status: 202, body: '{"accepted":true}' })),
        await startRecorder(() => ({ status: 404, body: '{}' })),
      ];
      recorders.push(...traps);
      const closed = (await freeLoopbackPorts(3)).map((p) => `http://127.0.0.1:${p}`);

      let selfPort = 0;
      // Another URL of the validator, whatever its address: a proxy that passes GETs on to it.
      const proxy = await startRecorder(async (req) => {
        if (req.method !== 'GET') return { status: 502, body: '{}' };
        const res = await fetch(`http://127.0.0.1:${selfPort}${req.url ?? '/'}`, { signal: AbortSignal.timeout(3000) });
        return { status: res.status, body: await res.text() };
      });
      recorders.push(proxy);
      const aliases = (): string[] => [
        proxy.url,
        `http://[::ffff:127.0.0.1]:${selfPort}`,
        `http://localhost.:${selfPort}`,
        `http://[::1]:${selfPort}`,
        `http://0.0.0.0:${selfPort}`,
        `http://127.0.0.1:${selfPort}`,
      ];
      const named = (): unknown[] => [
        ...traps.map((r) => ({ url: r.url })),
        ...closed.map((url) => ({ url })),
        ...aliases().map((url) => ({ url })),
        { url: other.url },
        null, 7, 'http://127.0.0.1:1', { url: 5 }, { url: 'ftp://127.0.0.1:21' }, { url: `${traps[0]!.url}/p2p/message` }, { url: `http://${'a'.repeat(5000)}:1` },
      ];
      const flood = Array.from({ length: FLOOD }, (_, i) =>
        ({ url: i % 2 === 0 ? `http://0.0.0.0:${1 + (i % 65535)}` : `http://224.0.${(i >> 8) & 255}.${i & 255}:${20000 + (i % 1000)}` }));
      const hostile = await startRecorder((req) => {
        if (req.method === 'GET' && (req.url ?? '').startsWith('/p2p/peers')) return { status: 200, body: JSON.stringify([...named(), ...flood]) };
        return { status: 202, body: '{"accepted":true}' };
      });
      recorders.push(hostile);

      const validator = await spawnNode(nodeDir(root, 'validator', genesis, key.privateKey), [
        '--peers', hostile.url,
        '--peer-discovery-interval-ms', '200',
        '--max-peers', '3',
        '--admin-token', ADMIN,
        '--idle-block-interval-ms', '200',
        '--min-block-interval-ms', '10',
      ]);
      procs.push(validator);
      selfPort = Number(new URL(validator.url).port);
      const auth = { authorization: `Bearer ${ADMIN}` };
      const adminPeers = async (): Promise<PeerRow[]> => {
        const res = await fetch(`${validator.url}/p2p/peers`, { headers: auth, signal: AbortSignal.timeout(3000) });
        assert.equal(res.status, 200);
        return (await res.json()) as PeerRow[];
      };

      // Every named URL is looked at within a few rounds (4 hellos per listing peer per round).
      // (Or, as soon as anything was posted to them, on to the checks.)
      const posted = () => [...traps, proxy].some((r) => r.requests.some((q) => q.method === 'POST'));
      await waitUntil(
        async () => posted() || ([...traps, proxy].every((r) => r.requests.length > 0) && (await served(other.url, 'GET', '/p2p/hello')) > 0),
        30_000,
        'every trap, the proxy and the other chain\'s node to be contacted',
        200,
      );
      const listsBefore = hostile.requests.filter((q) => q.path === '/p2p/peers').length;
      // More rounds, and blocks broadcast meanwhile: whatever is in the book is sent envelopes.
      await waitUntil(() => hostile.requests.filter((q) => q.path === '/p2p/peers').length >= listsBefore + 5, 20_000, 'five more discovery rounds');
      await sleep(500);

      for (const r of [...traps, proxy]) {
        assert.deepEqual(r.requests.filter((q) => q.path !== '/p2p/hello'), [], `${r.url} was sent only its hello`);
        assert.ok(r.requests.length <= 2, `${r.url} was asked ${r.requests.length} times (refused URLs are not asked again for a while)`);
      }
      for (const route of ['/p2p/message', '/p2p/txs']) assert.equal(await served(other.url, 'POST', route), 0, `the other chain's node got POST ${route}`);
      for (const route of ['/sync/status', '/sync/blocks', '/p2p/peers']) assert.equal(await served(other.url, 'GET', route), 0, `the other chain's node got GET ${route}`);
      // The validator's only peer is the hostile one: any envelope it received, it sent to itself through an alias.
      assert.equal(await served(validator.url, 'POST', '/p2p/message'), 0, 'the validator posted envelopes to itself');
      const selfHellos = await served(validator.url, 'GET', '/p2p/hello');
      assert.ok(selfHellos >= 1, 'the validator asked itself for its hello (through the proxy) and refused itself by its node key');

      const book = await adminPeers();
      assert.deepEqual(book.map((p) => [p.url, p.source]), [[hostile.url, 'config']], `the book: ${JSON.stringify(book.map((p) => p.url))}`);
      assert.ok('lastError' in book[0]! && 'helloError' in book[0]!, 'the admin sees errors');
      const pub = await getJson<PeerRow[]>(`${validator.url}/p2p/peers`);
      for (const row of pub) {
        assert.deepEqual(Object.keys(row).sort(), ['failures', 'lastOkAt', 'nodeId', 'source', 'url'], JSON.stringify(row));
      }
      const wrongToken = await fetch(`${validator.url}/p2p/peers`, { headers: { authorization: 'Bearer wrong-token-wrong-token' }, signal: AbortSignal.timeout(3000) });
      assert.equal(wrongToken.status, 403);

      // The book did not fill: a node of this chain is added by the admin, its node id proved by its hello.
      const followerNodeId = (JSON.parse(readFileSync(join(followerDir, 'node_key.json'), 'utf8')) as { address: string }).address;
      const added = await postJson(`${validator.url}/p2p/peers`, { url: follower.url }, auth);
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.deepEqual(added.body, { url: follower.url, added: true, nodeId: followerNodeId });
      const refusedOther = await postJson(`${validator.url}/p2p/peers`, { url: other.url }, auth);
      assert.equal(refusedOther.status, 400, JSON.stringify(refusedOther.body));
      assert.match(refusedOther.body.error.message, /genesis/);
      const refusedSelf = await postJson(`${validator.url}/p2p/peers`, { url: `http://localhost:${selfPort}` }, auth);
      assert.equal(refusedSelf.status, 400, JSON.stringify(refusedSelf.body));
      assert.deepEqual((await adminPeers()).map((p) => [p.url, p.nodeId]).sort(), [[follower.url, followerNodeId], [hostile.url, null]].sort());

      // Still finalizing.
      const h0 = (await getJson<{ latestHeight: number }>(`${validator.url}/status`)).latestHeight;
      await waitUntil(async () => (await getJson<{ latestHeight: number }>(`${validator.url}/status`)).latestHeight >= h0 + 2, 20_000, 'two more blocks');
      const lists = hostile.requests.filter((q) => q.path === '/p2p/peers').length;
      t.diagnostic(`${lists} lists of ${named().length + FLOOD} entries served; hellos the validator asked itself through aliases: ${selfHellos}; trap requests: ${traps.map((r) => r.requests.length).join(',')}`);
    } finally {
      await Promise.all(procs.map((p) => p.kill('SIGKILL')));
      await Promise.all(recorders.map((r) => r.close()));
      rmSync(root, { recursive: true, force: true });
    }
  });
});
