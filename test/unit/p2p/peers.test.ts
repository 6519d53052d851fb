/**
 * The peer book: failure backoff, penalties for bad or slow data, dropping discovered peers, and the ban on taking them back;
 * who may be used before its hello, one URL per node id, discovered peers aging out and making room for the operator's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BAN_MS, PENALTY_LIMIT, PeerBook, type Peer } from '../../../src/p2p/peers.js';

const A = 'http://127.0.0.1:30001';
/** A node id, as a hello proves it. */
const ID = 'a1'.repeat(20);
const id = (i: number): string => i.toString(16).padStart(40, '0');

function peer(book: PeerBook, url = A): Peer {
  const p = book.list().find((x) => x.url === url);
  assert.ok(p !== undefined, `${url} is in the book`);
  return p;
}

describe('PeerBook', () => {
  it('default: a failure backs a peer off for 100 ms doubling up to 5 s; a success resets it', () => {
    const book = new PeerBook(10);
    book.add(A, 'config');
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      book.failed(A, 1000, 'ECONNREFUSED');
      waits.push(peer(book).retryAt - 1000);
    }
    assert.deepEqual(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    assert.deepEqual(book.ready(1000 + 4999), []);
    book.ok(A, 2000);
    assert.equal(book.ready(2000).length, 1);
    assert.equal(peer(book).lastError, null);
    assert.equal(peer(book).failures, 0);
  });

  it('behavior: each penalty in a row doubles the backoff (100 ms up to 60 s) and lastError says why', () => {
    const book = new PeerBook(10);
    book.add(A, 'config');
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      assert.equal(book.penalize(A, 0, 'did not answer in time'), 'backedOff');
      waits.push(peer(book).retryAt);
    }
    assert.deepEqual(waits, [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000]);
    assert.equal(peer(book).penalties, 12);
    assert.match(peer(book).lastError ?? '', /penalty 12: did not answer in time/);
    assert.deepEqual(book.ready(59_999), []);
    assert.equal(book.ready(60_000).length, 1);
  });

  it('behavior: a discovered peer is dropped at PENALTY_LIMIT penalties and discovery does not bring it back for BAN_MS', () => {
    const book = new PeerBook(10);
    book.addDiscovered(A, ID, 0);
    for (let i = 1; i < PENALTY_LIMIT; i++) assert.equal(book.penalize(A, i, 'bad block'), 'backedOff');
    assert.equal(book.penalize(A, 100, 'bad block'), 'dropped');
    assert.equal(book.has(A), false);
    assert.equal(book.penalize(A, 101, 'bad block'), 'unknown');
    assert.equal(book.addDiscovered(A, ID, 100 + BAN_MS - 1), false, 'banned from discovery');
    assert.equal(book.addDiscovered(A, ID, 100 + BAN_MS), true, 'the ban ends');
    assert.equal(peer(book).penalties, 0);
  });

  it('behavior: an operator may add a dropped peer again (config or admin) at once', () => {
    const book = new PeerBook(10);
    book.addDiscovered(A, ID, 0);
    for (let i = 0; i < PENALTY_LIMIT; i++) book.penalize(A, 0, 'bad block');
    assert.equal(book.has(A), false);
    assert.equal(book.add(A, 'admin', 1), true);
    assert.equal(peer(book).source, 'admin');
  });

  it('behavior: a peer from the config or the admin API is kept after PENALTY_LIMIT penalties, backed off, its lastError saying why', () => {
    for (const source of ['config', 'admin'] as const) {
      const book = new PeerBook(10);
      book.add(A, source);
      for (let i = 0; i < PENALTY_LIMIT * 3; i++) assert.equal(book.penalize(A, 0, 'answer past 1048576 bytes'), 'backedOff');
      assert.equal(book.has(A), true, source);
      assert.equal(peer(book).penalties, PENALTY_LIMIT * 3);
      assert.ok(peer(book).retryAt > 0);
      assert.match(peer(book).lastError ?? '', /answer past 1048576 bytes/);
    }
  });

  it('behavior: another request that succeeds (a consensus message) keeps the penalty, its backoff and its reason; failures do not shorten it', () => {
    const book = new PeerBook(10);
    book.addDiscovered(A, ID, 0);
    book.penalize(A, 0, 'slow');
    book.penalize(A, 0, 'slow'); // back off until 200
    book.ok(A, 50);
    assert.equal(peer(book).retryAt, 200);
    assert.equal(peer(book).penalties, 2);
    assert.match(peer(book).lastError ?? '', /penalty 2: slow/);
    book.failed(A, 60, 'ECONNRESET'); // 100 ms from 60 is shorter than the penalty's backoff
    assert.equal(peer(book).retryAt, 200);
    assert.equal(peer(book).lastError, 'ECONNRESET');
    book.ok(A, 300);
    assert.match(peer(book).lastError ?? '', /penalty 2: slow/, 'a success shows the penalty again, not the cleared failure');
    // The count goes on: the peer is still dropped at the limit.
    for (let i = 2; i < PENALTY_LIMIT - 1; i++) book.penalize(A, 400, 'slow');
    assert.equal(book.penalize(A, 500, 'slow'), 'dropped');
  });

  it('behavior: serving sync blocks that check clears the penalties, the backoff and the reason', () => {
    const book = new PeerBook(10);
    book.addDiscovered(A, ID, 0);
    for (let i = 0; i < PENALTY_LIMIT - 1; i++) book.penalize(A, 0, 'slow');
    book.served(A, 10);
    assert.equal(peer(book).penalties, 0);
    assert.equal(peer(book).lastError, null);
    assert.equal(peer(book).lastOkAt, 10);
    assert.equal(book.ready(10).length, 1);
    // A new run of penalties starts from one.
    for (let i = 0; i < PENALTY_LIMIT - 1; i++) assert.equal(book.penalize(A, 20, 'slow'), 'backedOff');
    assert.equal(book.has(A), true);
  });

  it('behavior: the list of dropped peers is bounded (the oldest is forgotten first)', () => {
    const book = new PeerBook(2000);
    const url = (i: number): string => `http://127.0.0.1:${31000 + i}`;
    for (let i = 0; i < 1001; i++) {
      book.addDiscovered(url(i), id(i), 0);
      for (let k = 0; k < PENALTY_LIMIT; k++) book.penalize(url(i), 0, 'bad');
    }
    assert.equal(book.size, 0);
    assert.equal(book.addDiscovered(url(0), id(0), 1), true, 'the oldest ban was forgotten');
    assert.equal(book.addDiscovered(url(1), id(1), 1), false);
    assert.equal(book.addDiscovered(url(1000), id(1000), 1), false);
  });

  it('behavior: a discovered peer enters only with the node id its hello proved, one URL per node id', () => {
    const book = new PeerBook(10);
    assert.equal(book.addDiscovered(A, ID, 0), true);
    assert.equal(peer(book).identity, 'verified');
    assert.equal(book.addDiscovered('http://127.0.0.1:30002', ID, 0), false, 'the same node under another URL');
    assert.equal(book.addDiscovered(A, id(2), 0), false, 'known URL');
    book.addSelf('http://127.0.0.1:30003');
    assert.equal(book.addDiscovered('http://127.0.0.1:30003', id(3), 0), false, 'this node');
    // A configured URL proved to be the same node as a discovered one: the operator's URL wins.
    book.add('http://127.0.0.1:30004', 'config');
    book.verified('http://127.0.0.1:30004', ID, 5);
    assert.equal(book.has(A), false);
  });

  it('behavior: a configured peer is used until its hello is refused; an admin-added one only once its hello checks', () => {
    const book = new PeerBook(10);
    const C = 'http://127.0.0.1:30010';
    book.add(C, 'config');
    book.add(A, 'admin');
    assert.deepEqual(book.ready(0).map((p) => p.url), [C]);
    assert.deepEqual(book.helloDue(0).map((p) => p.url), [C, A]);
    book.helloFailed(A, 0, 'noAnswer: ECONNREFUSED', false);
    book.helloFailed(C, 0, 'wrongChain: chain "x"', true);
    assert.deepEqual(book.ready(0), []);
    assert.deepEqual(book.helloDue(999), [], 'retried after 1 s');
    assert.equal(book.helloDue(1000).length, 2);
    book.verified(A, ID, 1000);
    assert.deepEqual(book.ready(1000).map((p) => p.url), [A]);
    assert.deepEqual(book.helloDue(1_000_000).map((p) => p.url), [C], 'a verified peer is not asked again');
  });

  it('behavior: discovered peers never crowd out the operator\'s: a full book drops the discovered peer seen longest ago', () => {
    const dropped: string[] = [];
    const book = new PeerBook(3, { onDropped: (url) => dropped.push(url) });
    const url = (i: number): string => `http://127.0.0.1:${30100 + i}`;
    book.add(url(0), 'config');
    book.addDiscovered(url(1), id(1), 10);
    book.addDiscovered(url(2), id(2), 20);
    assert.equal(book.addDiscovered(url(3), id(3), 30), false, 'full');
    book.ok(url(1), 40); // url(2) is now the one seen longest ago
    assert.equal(book.addOperatorPeer(url(4), 'admin', 50), 'added');
    assert.deepEqual(dropped, [url(2)]);
    assert.equal(book.addOperatorPeer(url(5), 'config', 60), 'added');
    assert.deepEqual(dropped, [url(2), url(1)]);
    assert.equal(book.addOperatorPeer(url(6), 'admin', 70), 'full', 'only operator peers left');
    assert.equal(book.addOperatorPeer(url(0), 'admin', 70), 'duplicate');
  });

  it('behavior: a discovered peer that has not answered for the TTL is dropped; one that answers, and operator peers, stay', () => {
    const dropped: string[] = [];
    const book = new PeerBook(10, { onDropped: (url) => dropped.push(url) });
    const B = 'http://127.0.0.1:30020';
    book.add('http://127.0.0.1:30021', 'admin', 0);
    book.addDiscovered(A, ID, 0);
    book.addDiscovered(B, id(2), 0);
    book.ok(B, 50_000);
    assert.deepEqual(book.expire(59_999, 60_000), []);
    assert.deepEqual(book.expire(60_000, 60_000), [A]);
    assert.deepEqual(dropped, [A]);
    assert.deepEqual(book.expire(1_000_000, 60_000), [B]);
    assert.equal(book.size, 1);
  });
});
