/**
 * Peer discovery with a policy: only a URL whose hello proves this chain and
 * another node key enters the book; nothing but that hello is sent to the
 * rest; the host policy is applied before any request; lists and hellos are
 * bounded; refused URLs are not asked again for a while; discovered peers age
 * out and make room for the operator's; admin-added peers are used once their
 * hello checks, configured ones until their hello is refused.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { sha256 } from '../../../src/crypto/hash.js';
import { ErrorCode, FastposError } from '../../../src/errors.js';
import {
  CANDIDATES_PER_PEER,
  MAX_CANDIDATES_PER_ROUND,
  MAX_LIST_ENTRIES,
  NO_ANSWER_MS,
  PeerDiscovery,
  REFUSED_MS,
  type DiscoveryClient,
} from '../../../src/p2p/discovery.js';
import { createHelloResponder, type HelloResponder } from '../../../src/p2p/hello.js';
import type { HostPolicy } from '../../../src/p2p/hostPolicy.js';
import { HttpTransport } from '../../../src/p2p/httpTransport.js';
import { PeerBook } from '../../../src/p2p/peers.js';

const CHAIN = 'fastpos-localnet';
const GENESIS = 'ab'.repeat(32);
const LOCAL: HostPolicy = { loopback: true, private: true, dns: true };
const key = (i: number): string => sha256(`discovery-test-key-${i}`).toString('hex');
const node = (i: number, chainId = CHAIN, genesisHash = GENESIS): HelloResponder => createHelloResponder({ privateKey: key(i), chainId, genesisHash });
const US = node(0);

type Handler = (path: string) => unknown;

/** Peers as handlers of GET paths; a URL without one refuses connections. Records every request. */
class FakeNet implements DiscoveryClient {
  readonly handlers = new Map<string, Handler>();
  readonly requests: { url: string; path: string }[] = [];
  readonly forgotten: string[] = [];
  fallback: ((url: string) => Handler | undefined) | undefined;

  async getJson<T>(url: string, path: string): Promise<T> {
    this.requests.push({ url, path });
    const h = this.handlers.get(url) ?? this.fallback?.(url);
    if (h === undefined) throw new FastposError(ErrorCode.NOT_READY, `peer ${url} could not be asked GET ${path}: connect ECONNREFUSED`);
    return h(path) as T;
  }

  forget(url: string): void {
    this.forgotten.push(url);
  }

  /** A fastpos node answering its hello (and an empty list). */
  serveNode(url: string, r: HelloResponder, list: unknown = []): void {
    this.handlers.set(url, (path) => (path.startsWith('/p2p/hello?nonce=') ? r.answer(path.slice('/p2p/hello?nonce='.length)) : list));
  }

  pathsTo(url: string): string[] {
    return this.requests.filter((r) => r.url === url).map((r) => r.path.split('?')[0]!);
  }
}

function setup(opts: { max?: number; policy?: HostPolicy; ttlMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const net = new FakeNet();
  const book = new PeerBook(opts.max ?? 50, { onDropped: (url) => net.forget(url) });
  const d = new PeerDiscovery({
    book,
    client: net,
    chainId: CHAIN,
    genesisHash: GENESIS,
    nodeId: US.nodeId,
    policy: opts.policy ?? LOCAL,
    intervalMs: 0,
    discoveredTtlMs: opts.ttlMs ?? 60_000,
    now: () => clock.t,
    random: () => 0,
  });
  return { clock, net, book, d };
}

const LISTER = 'http://127.0.0.1:40000';

describe('PeerDiscovery', () => {
  it('behavior: of what a peer lists, only a URL whose hello checks enters the book; the rest are sent their hello and nothing else', async () => {
    const { net, book, d } = setup();
    const good = 'http://127.0.0.1:40001';
    const sameNode = 'http://127.0.0.1:40002'; // the good node again, under another URL
    const otherChain = 'http://127.0.0.1:40003';
    const otherGenesis = 'http://127.0.0.1:40004';
    const forged = 'http://127.0.0.1:40005';
    const replayed = 'http://127.0.0.1:40006';
    const closed = 'http://127.0.0.1:40007';
    const notFastpos = 'http://127.0.0.1:40008';
    const aliases = ['http://[::1]:40100', 'http://localhost.:40100', 'http://127.0.0.2:40100', 'http://[::ffff:7f00:1]:40100'];
    const goodNode = node(1);
    net.serveNode(good, goodNode);
    net.serveNode(sameNode, goodNode);
    net.serveNode(otherChain, node(2, 'other-localnet'));
    net.serveNode(otherGenesis, node(3, CHAIN, 'cd'.repeat(32)));
    net.handlers.set(forged, (path) => ({ ...node(4).answer(path.slice(-32)), signature: '11'.repeat(64) }));
    const old = node(5).answer('0'.repeat(32));
    net.handlers.set(replayed, () => old);
    net.handlers.set(notFastpos, () => ({ accepted: true }));
    for (const a of aliases) net.serveNode(a, US);
    const listed = [good, sameNode, otherChain, otherGenesis, forged, replayed, closed, notFastpos, ...aliases];
    const junk = [null, 5, 'x', { url: 5 }, { url: 'ftp://127.0.0.1:1' }, { url: 'http://127.0.0.1:1/path' }, { url: `http://${'a'.repeat(300)}:1` }];
    net.handlers.set(LISTER, () => [...junk, ...listed.map((url) => ({ url }))]);
    book.add(LISTER, 'config');

    for (let round = 0; round < 6; round++) await d.round();

    assert.deepEqual(book.list().map((p) => [p.url, p.source, p.nodeId]).sort(), [[LISTER, 'config', null], [good, 'discovered', goodNode.nodeId]].sort());
    for (const url of listed.filter((u) => u !== good)) {
      assert.deepEqual(net.pathsTo(url), ['/p2p/hello'], `${url}: its hello, once, and nothing else`);
      assert.ok(net.forgotten.includes(url), `${url}: its connections closed`);
    }
    for (const a of aliases) assert.equal(book.isSelf(a), true, `${a} is known to be this node`);
  });

  it('behavior: the host policy is applied before any request: loopback, private and DNS hosts are not asked when their key is off', async () => {
    const { net, book, d } = setup({ policy: { loopback: false, private: false, dns: false } });
    const lister = 'http://203.0.113.1:40000';
    const refused = ['http://127.0.0.1:1', 'http://[::1]:1', 'http://localhost:1', 'http://10.0.0.1:1', 'http://169.254.169.254:80', 'http://[fd00::1]:1', 'http://peer.example:1', 'http://0.0.0.0:1'];
    const publicUrl = 'http://203.0.113.7:26657';
    net.serveNode(publicUrl, node(1));
    for (const u of refused) net.serveNode(u, node(1));
    net.handlers.set(lister, () => [...refused, publicUrl].map((url) => ({ url })));
    book.add(lister, 'config');
    for (let round = 0; round < 4; round++) await d.round();
    for (const u of refused) assert.deepEqual(net.pathsTo(u), [], u);
    assert.ok(book.has(publicUrl));
  });

  it('behavior: a list of 10,000 URLs: the first 1000 entries are read, at most 4 hellos per listing peer per round and 32 in all', async () => {
    const { net, book, d } = setup();
    const listers = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:${41000 + i}`);
    for (const [i, l] of listers.entries()) {
      const list = Array.from({ length: 10_000 }, (_, k) => ({ url: `http://127.0.${i + 1}.${(k % 250) + 1}:${20000 + Math.floor(k / 250)}` }));
      net.handlers.set(l, () => list);
      book.add(l, 'config');
    }
    const hellos = (): { url: string; path: string }[] => net.requests.filter((r) => r.path.startsWith('/p2p/hello'));
    const first = await d.round();
    assert.equal(first.asked, 10);
    assert.equal(first.listed, 10 * MAX_LIST_ENTRIES);
    assert.equal(hellos().length, MAX_CANDIDATES_PER_ROUND);
    const one = setup();
    one.net.handlers.set(LISTER, () => Array.from({ length: 10_000 }, (_, k) => ({ url: `http://127.0.0.1:${20000 + k}` })));
    one.book.add(LISTER, 'config');
    await one.d.round();
    assert.equal(one.net.requests.filter((r) => r.path.startsWith('/p2p/hello')).length, CANDIDATES_PER_PEER);
    // Entries past the first 1000 are never asked, however many rounds.
    for (let round = 0; round < 300; round++) await one.d.round();
    const asked = new Set(one.net.requests.filter((r) => r.path.startsWith('/p2p/hello')).map((r) => Number(new URL(r.url).port)));
    assert.equal(asked.size, MAX_LIST_ENTRIES);
    assert.ok([...asked].every((p) => p < 20000 + MAX_LIST_ENTRIES));
    assert.equal(one.book.size, 1);
  });

  it('behavior: a URL that gave no hello is not asked again for NO_ANSWER_MS, a refused one for REFUSED_MS', async () => {
    const { clock, net, book, d } = setup();
    const closed = 'http://127.0.0.1:40007';
    const other = 'http://127.0.0.1:40003';
    net.serveNode(other, node(2, 'other-localnet'));
    net.handlers.set(LISTER, () => [{ url: closed }, { url: other }]);
    book.add(LISTER, 'config');
    await d.round();
    await d.round();
    assert.equal(net.pathsTo(closed).length, 1);
    assert.equal(net.pathsTo(other).length, 1);
    clock.t += NO_ANSWER_MS;
    await d.round();
    assert.equal(net.pathsTo(closed).length, 2, 'asked again after NO_ANSWER_MS');
    assert.equal(net.pathsTo(other).length, 1);
    clock.t += REFUSED_MS - NO_ANSWER_MS;
    await d.round();
    assert.equal(net.pathsTo(other).length, 2, 'asked again after REFUSED_MS');
    assert.equal(book.size, 1);
  });

  it('behavior: a discovered peer that stops answering ages out after discoveredTtlMs; one that answers stays', async () => {
    const { clock, net, book, d } = setup({ ttlMs: 60_000 });
    const alive = 'http://127.0.0.1:40001';
    const gone = 'http://127.0.0.1:40002';
    net.serveNode(alive, node(1));
    net.serveNode(gone, node(2));
    net.handlers.set(LISTER, () => [{ url: alive }, { url: gone }]);
    book.add(LISTER, 'config');
    await d.round();
    assert.ok(book.has(alive) && book.has(gone));
    net.handlers.delete(gone);
    for (let i = 0; i < 7; i++) {
      clock.t += 10_000;
      await d.round();
    }
    assert.ok(book.has(alive), 'answered every round');
    assert.equal(book.has(gone), false, 'aged out');
    assert.ok(net.forgotten.includes(gone));
    assert.ok(book.has(LISTER), 'a configured peer never ages out');
  });

  it('behavior: a full book asks no hello; an admin add makes room by dropping the discovered peer seen longest ago', async () => {
    const { clock, net, book, d } = setup({ max: 3 });
    const [a, b, c, admin] = ['http://127.0.0.1:40001', 'http://127.0.0.1:40002', 'http://127.0.0.1:40003', 'http://127.0.0.1:40009'];
    net.serveNode(a, node(1));
    net.serveNode(b, node(2));
    net.serveNode(c, node(3));
    net.serveNode(admin, node(9));
    net.handlers.set(LISTER, () => [{ url: a }, { url: b }]);
    book.add(LISTER, 'config');
    await d.round();
    assert.equal(book.size, 3);
    net.handlers.set(LISTER, () => [{ url: c }]);
    clock.t += 1000;
    net.handlers.delete(b); // b stops answering: a is seen later than b
    await d.round();
    assert.deepEqual(net.pathsTo(c), [], 'no hello while the book is full');
    const r = await d.addAdminPeer(admin);
    assert.deepEqual(r, { outcome: 'added', url: admin, nodeId: node(9).nodeId });
    assert.deepEqual(book.list().map((p) => p.url).sort(), [LISTER, a, admin].sort());
    assert.ok(net.forgotten.includes(b));
    assert.ok(book.ready(clock.t).some((p) => p.url === admin), 'used at once: its hello checked');
  });

  it('behavior: an admin add is refused for another chain or this node, kept unused while it gives no hello, used once it does; a discovered URL becomes the admin\'s', async () => {
    const { clock, net, book, d } = setup();
    const other = 'http://127.0.0.1:40003';
    const alias = 'http://localhost.:40100';
    const later = 'http://127.0.0.1:40010';
    net.serveNode(other, node(2, 'other-localnet'));
    net.serveNode(alias, US);
    assert.equal((await d.addAdminPeer(other)).outcome, 'refused');
    assert.equal(book.has(other), false);
    assert.equal((await d.addAdminPeer(alias)).outcome, 'self');
    assert.equal(book.has(alias), false);
    assert.equal(book.isSelf(alias), true);
    assert.equal((await d.addAdminPeer(alias)).outcome, 'self', 'now known by URL');
    assert.equal((await d.addAdminPeer('ftp://x')).outcome, 'invalid');

    const r = await d.addAdminPeer(later);
    assert.equal(r.outcome, 'added');
    assert.equal(r.outcome === 'added' && r.nodeId, null);
    assert.equal((await d.addAdminPeer(later)).outcome, 'duplicate');
    assert.deepEqual(book.ready(clock.t), [], 'not used before its hello checks');
    assert.match(book.get(later)?.helloError ?? '', /ECONNREFUSED/);
    net.serveNode(later, node(10));
    clock.t += 1000;
    await d.verifyDue();
    assert.equal(book.get(later)?.nodeId, node(10).nodeId);
    assert.deepEqual(book.ready(clock.t).map((p) => p.url), [later]);

    const found = 'http://127.0.0.1:40011';
    net.serveNode(found, node(11));
    net.serveNode(LISTER, node(12), [{ url: found }]);
    book.add(LISTER, 'config');
    await d.round();
    assert.equal(book.get(found)?.source, 'discovered');
    assert.deepEqual(await d.addAdminPeer(found), { outcome: 'promoted', url: found, nodeId: node(11).nodeId });
    assert.equal(book.get(found)?.source, 'admin');
  });

  it('behavior: a configured peer is used before its hello; one whose hello proves another chain is not; one signed with our key is dropped', async () => {
    const { clock, net, book, d } = setup();
    const [silent, other, self, good] = ['http://127.0.0.1:40001', 'http://127.0.0.1:40002', 'http://127.0.0.1:40003', 'http://127.0.0.1:40004'];
    for (const u of [silent, other, self, good]) book.add(u, 'config');
    net.serveNode(other, node(2, 'other-localnet'));
    net.serveNode(self, US);
    net.serveNode(good, node(4));
    assert.equal(book.ready(clock.t).length, 4, 'all used before any hello');
    await d.verifyDue();
    assert.deepEqual(book.ready(clock.t).map((p) => p.url).sort(), [silent, good].sort());
    assert.equal(book.get(other)?.identity, 'refused');
    assert.equal(book.has(self), false);
    assert.equal(book.isSelf(self), true);
    assert.equal(book.get(good)?.nodeId, node(4).nodeId);
    // Retried with a backoff, not at every check.
    await d.verifyDue();
    assert.equal(net.pathsTo(other).length, 1);
    clock.t += 1000;
    await d.verifyDue();
    assert.equal(net.pathsTo(other).length, 2);
  });
});

describe('PeerDiscovery over HTTP: answers bounded in size and time', () => {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const transports: HttpTransport[] = [];
  after(async () => {
    await Promise.all(transports.map((t) => t.close()));
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
  const serve = async (handler: Parameters<typeof createServer>[1]): Promise<string> => {
    const s = createServer(handler);
    s.on('connection', (c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const addr = s.address();
    assert.ok(addr !== null && typeof addr === 'object');
    return `http://127.0.0.1:${addr.port}`;
  };

  it('behavior: a 2 MiB peer list is cut at 1 MiB, a trickled one at the deadline, a 64 KiB hello at 4 KiB; nothing enters the book', async () => {
    const huge = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(Array.from({ length: 60_000 }, (_, i) => ({ url: `http://127.0.0.1:${1 + (i % 60000)}` }))));
    });
    const slow = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 50);
      res.on('close', () => clearInterval(t));
    });
    const bigHello = await serve((req, res) => {
      if ((req.url ?? '').startsWith('/p2p/hello')) res.writeHead(200, { 'content-type': 'application/json' }).end(`{"pad":"${'x'.repeat(64 * 1024)}"}`);
      else res.writeHead(200).end('[]');
    });
    const lister = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ url: bigHello }])));
    const book = new PeerBook(50);
    // Long enough that the small answers arrive on a loaded machine; the trickled one never ends, so it is cut at it.
    const t = new HttpTransport({ book, requestTimeoutMs: 2000 });
    transports.push(t);
    for (const u of [huge, slow, lister]) book.add(u, 'config');
    const d = new PeerDiscovery({ book, client: t, chainId: CHAIN, genesisHash: GENESIS, nodeId: US.nodeId, policy: LOCAL, intervalMs: 0, discoveredTtlMs: 60_000 });
    const r = await d.round();
    assert.equal(r.candidates, 1);
    assert.deepEqual(r.added, []);
    assert.match(book.get(huge)?.lastError ?? '', /more than 1048576 bytes/);
    assert.match(book.get(slow)?.lastError ?? '', /did not answer GET \/p2p\/peers within 2000 ms/);
    assert.equal(book.has(bigHello), false);
    assert.equal(book.size, 3);
  });
});
