/**
 * Hostile input against a running node (real processes, the built CLI):
 *
 * - a consensus envelope whose payload holds an unknown key nested 100,000
 *   levels deep is refused with a 400 (it once overflowed the stack computing
 *   the signing bytes: a 500), and the node keeps finalizing (issue 12, point 5);
 * - every route of the API (src/api/server.ts, p2pRoutes.ts, syncRoutes.ts, stakingRoutes.ts),
 *   admin routes with, without and with a wrong token, and on a node where the
 *   admin API and development signing are off, gets hostile shapes borrowed
 *   from the fuzzer (test/fuzz/json.ts): deep nesting, huge numbers, wrong
 *   types, unknown, prototype and duplicate keys, invalid UTF-8, empty bodies,
 *   wrong content types, long strings, odd query strings and path parameters.
 *   No answer is a 5xx (except `503 NOT_READY` from /readyz, which may
 *   legitimately say so) and every error has the spec's shape
 *   `{"error": {"code", "message"}}`. Bounded in count and time.
 *
 * The walked node holds validator A (10/11 of the stake: it finalizes alone);
 * the test knows validator B's id (never started), so it can build envelopes
 * from a validator of the set, B being the proposer of their round.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blockHash, commitHash, decodeCommit, evidenceListHash } from '../../../src/codec/block.js';
import { txRoot } from '../../../src/codec/merkle.js';
import { devAccount, devValidator } from '../../../src/crypto/keys.js';
import { jsonText, nest, type Json } from '../../fuzz/json.js';
import { CHAIN_ID, getJson, heightOf, proposerOf, startNetwork, status, waitForHeight, type NetNode, type Network } from '../../helpers/network.js';
import { spawnNode, type NodeProcess } from '../../helpers/proc.js';

const ADMIN = 'hostile-input-admin-token-0123';
const DEEP = 100_000;
/** A signature-shaped value: 128 lowercase hex characters that verify for nobody. */
const FAKE_SIG = 'ab'.repeat(64);

// ---------------------------------------------------------------- raw HTTP

interface Req {
  readonly label: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  /** Made when sent, so that large bodies are not all held at once. */
  readonly body?: () => string | Buffer;
}

interface Res {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

/** One request over node:http (any method, path, header and byte), bounded in time. */
function send(base: string, r: Req, timeoutMs = 20_000): Promise<Res> {
  const u = new URL(base);
  const body = r.body?.();
  const headers: Record<string, string | number> = { ...r.headers };
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: r.method, path: r.path, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Why an answer breaks the rules (a 5xx, or an error without the spec's shape), or null. */
function problemOf(r: Req, res: Res): string | null {
  if (res.status < 400) return null;
  let j: any;
  try {
    j = JSON.parse(res.text);
  } catch {
    return `error answer ${res.status} is not JSON (${res.contentType}): ${res.text.slice(0, 200)}`;
  }
  const shapeOk =
    typeof j === 'object' && j !== null && !Array.isArray(j) &&
    Object.keys(j).join() === 'error' &&
    typeof j.error === 'object' && j.error !== null &&
    Object.keys(j.error).sort().join() === 'code,message' &&
    typeof j.error.code === 'string' && j.error.code.length > 0 &&
    typeof j.error.message === 'string' && j.error.message.length > 0;
  if (!shapeOk) return `error answer ${res.status} lacks the shape {"error":{"code","message"}}: ${res.text.slice(0, 200)}`;
  if (!res.contentType.includes('application/json')) return `error answer ${res.status} has content-type ${res.contentType}`;
  if (res.status >= 500) {
    const readyz = r.path.split('?')[0] === '/readyz' && r.method === 'GET';
    if (!(readyz && res.status === 503 && j.error.code === 'NOT_READY')) return `answered ${res.status} ${j.error.code}: ${j.error.message.slice(0, 200)}`;
  }
  return null;
}

// ---------------------------------------------------------------- hostile shapes

const deepObject = (key = 'k'): string => `{${JSON.stringify(key)}:`.repeat(DEEP) + '0' + '}'.repeat(DEEP);
const deepArray = (): string => '['.repeat(DEEP) + ']'.repeat(DEEP);

/** JSON text of `value` with the field `key` set to the raw JSON text `raw` (which may be deep, or not JSON at all). */
function withRaw(value: Record<string, unknown>, key: string, raw: string): string {
  const mark = `@@raw-${key}@@`;
  return JSON.stringify({ ...value, [key]: mark }).replace(JSON.stringify(mark), () => raw);
}

const HUGE_NUMBERS = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890123', '9007199254740993', '-0', '0.1', '-1'];
const WRONG_TYPES = ['[]', '{}', '"x"', 'null', 'true', '""', '[[[[1]]]]'];

const JSON_CT = { 'content-type': 'application/json' };

/** Bodies for a JSON route, from a near-valid body (never sent as is: it might do something). */
function bodyShapes(valid: Record<string, unknown>, bodyLimit: number): { label: string; headers: Record<string, string>; body: () => string | Buffer }[] {
  const text = JSON.stringify(valid);
  const fields = Object.keys(valid);
  const out: { label: string; headers: Record<string, string>; body: () => string | Buffer }[] = [];
  const add = (label: string, body: () => string | Buffer, headers: Record<string, string> = JSON_CT): void => void out.push({ label, headers, body });
  const extra = (raw: string): string => (fields.length === 0 ? `{"zz":${raw}}` : `${text.slice(0, -1)},"zz":${raw}}`);

  add('an object nested 100,000 deep', () => deepObject());
  add('an array nested 100,000 deep', deepArray);
  add('an unknown key nested 100,000 deep', () => extra(deepObject()));
  add('an unknown key holding an array nested 100,000 deep', () => extra(deepArray()));
  add('__proto__ keys nested 100,000 deep', () => extra(deepObject('__proto__')));
  add('constructor keys nested 100,000 deep', () => extra(deepObject('constructor')));
  for (const f of fields) {
    add(`${f}: nested 100,000 deep`, () => withRaw(valid, f, deepObject()));
    for (const n of HUGE_NUMBERS) add(`${f}: ${n}`, () => withRaw(valid, f, n));
    for (const t of WRONG_TYPES) add(`${f}: ${t}`, () => withRaw(valid, f, t));
    add(`${f}: a lone surrogate`, () => withRaw(valid, f, '"\\ud800"'));
    add(`${f}: invalid UTF-8`, () => {
      const [head, tail] = withRaw(valid, f, '"@@"').split('@@') as [string, string];
      return Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xc3, 0x28, 0xc0, 0xaf]), Buffer.from(tail)]);
    });
  }
  // Unknown, prototype and duplicate keys.
  for (const k of ['zz', '', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) add(`unknown key ${JSON.stringify(k)}`, () => extra('1').replace('"zz"', JSON.stringify(k)));
  add('a __proto__ key', () => extra('{"isAdmin":true}').replace('"zz"', '"__proto__"'));
  add('a constructor.prototype key', () => extra('{"prototype":{"x":1}}').replace('"zz"', '"constructor"'));
  add('a duplicate key', () => '{"a":1,"a":2}');
  if (fields.length > 0) add(`a duplicate ${fields[0]} (the second wrong)`, () => `${text.slice(0, -1)},${JSON.stringify(fields[0])}:{"x":[1,2]}}`);
  // Encodings.
  add('invalid UTF-8 in a key', () => Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
  add('a byte-order mark before the body', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(extra('1'))]));
  add('UTF-16 text', () => Buffer.from(extra('1'), 'utf16le'), { 'content-type': 'application/json; charset=utf-16le' });
  // Not objects, and no body.
  for (const b of ['', ' ', '\n\t', 'null', '0', '-1e400', '"x"', '[]', '[{}]', 'true', '{', '}', '{"a":}', '{"a" 1}', "{'a':1}", '{"a":1,}', 'NaN', '\u0000']) add(`body ${JSON.stringify(b)}`, () => b);
  add('no body, no content type', () => '', {});
  // Content types.
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/xml', 'application/jsonp', 'application/json; charset=latin1', 'Application/JSON', 'application/json, text/plain', `application/json; x=${'y'.repeat(300)}`]) {
    add(`content-type ${ct.slice(0, 50)}`, () => extra('1'), { 'content-type': ct });
  }
  add('a JSON body without a content type', () => extra('1'), {});
  // Long strings and oversized bodies.
  const long = 'a'.repeat(Math.min(900_000, bodyLimit - 100_000));
  if (fields.length > 0) add(`${fields[0]}: a string of ${long.length} characters`, () => withRaw(valid, fields[0]!, JSON.stringify(long)));
  add(`an unknown key of ${long.length} characters`, () => extra('1').replace('"zz"', JSON.stringify(long)));
  add(`a body over the limit (${bodyLimit + 1024} bytes)`, () => extra(JSON.stringify('x'.repeat(bodyLimit + 1024))));
  return out;
}

const QUERY_SHAPES = [
  'a=1&a=2', '__proto__=1', 'constructor=1&toString=2', 'hasOwnProperty=x', '%zz=1', 'x=%ff%fe', '=&&=&', '&&&&&&&&',
  'limit=1e400', 'limit=0x10', 'limit=-1', 'limit=01', 'limit=1.0', 'limit=%201', 'limit=+1', 'limit[]=1', 'limit=1&limit=2', 'limit=99999999999999999999999',
  'from=0x10', 'from=%00', 'offset=1e3', 'epoch=9007199254740993', 'fromHeight=-0', 'withMeta=yes', 'idempotent=1', 'id=', 'url=', 'delegator=__proto__',
  'x=%E2%80%AE%F0%9F%98%80', `q=${'a'.repeat(8000)}`,
];

const PARAM_SHAPES = ['x'.repeat(300), '%ff', '%00', '%2e%2e', '..', '0x1', '-1', '1e3', '01', '1.0', '%20', '%E2%80%AE', 'A'.repeat(40), '9'.repeat(30), '__proto__', 'constructor', `${'a'.repeat(40)}%00`];

// ---------------------------------------------------------------- routes

interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** With `:param` where a path parameter goes. */
  readonly path: string;
  /** A valid value of the path parameter. */
  readonly param?: string;
  /** The query a request needs (without `?`). */
  readonly query?: string;
  readonly admin?: boolean;
  /** A near-valid body (POST): the template of the hostile bodies. */
  readonly body?: Record<string, unknown>;
  readonly bodyLimit?: number;
}

function routes(validatorId: string): Route[] {
  const to = devAccount(1).address;
  // Admin actions on a validator name an address that is none, so that a body read as valid changes nothing.
  const nobody = devAccount(5).address;
  const key = devAccount(0);
  const tx = { chainId: CHAIN_ID, kind: 'transfer', from: key.address, pubKey: key.publicKey, nonce: 0, fee: '1', payload: { to, amount: '1' }, signature: FAKE_SIG };
  const message = { type: 'prevote', chainId: CHAIN_ID, height: 1_000_000, round: 0, validatorId, payload: { blockHash: null }, signature: FAKE_SIG };
  const p2pLimit = 3 * 1_048_576;
  return [
    // txs and chain reads (server.ts)
    { method: 'POST', path: '/tx', body: tx },
    { method: 'GET', path: '/tx', query: `id=${'ab'.repeat(32)}` },
    { method: 'GET', path: '/tx/pending' },
    { method: 'GET', path: '/tx/finalized' },
    { method: 'GET', path: '/accounts/:param', param: to },
    { method: 'GET', path: '/blocks/latest' },
    { method: 'GET', path: '/blocks/:param', param: '1' },
    { method: 'GET', path: '/blocks' },
    { method: 'GET', path: '/status' },
    { method: 'GET', path: '/healthz' },
    { method: 'GET', path: '/readyz' },
    { method: 'GET', path: '/metrics' },
    // admin (server.ts)
    { method: 'GET', path: '/admin/status', admin: true },
    { method: 'POST', path: '/admin/production/pause', admin: true, body: {} },
    { method: 'POST', path: '/admin/production/resume', admin: true, body: {} },
    { method: 'POST', path: '/admin/validators/:param/work-weight', param: nobody, admin: true, body: { workWeight: 5 } },
    { method: 'POST', path: '/admin/backup', admin: true, body: {} },
    // development (server.ts)
    { method: 'POST', path: '/dev/transfer', body: { devAccount: 1, to, amount: '1', fee: '1' } },
    // validator network (p2pRoutes.ts)
    { method: 'POST', path: '/p2p/message', body: message, bodyLimit: p2pLimit },
    { method: 'POST', path: '/p2p/txs', body: { txs: [tx] }, bodyLimit: p2pLimit },
    { method: 'GET', path: '/p2p/peers' },
    { method: 'POST', path: '/p2p/peers', admin: true, body: { url: 'http://127.0.0.1:9' } },
    { method: 'DELETE', path: '/p2p/peers', admin: true, query: 'url=http%3A%2F%2F127.0.0.1%3A9' },
    { method: 'GET', path: '/p2p/evidence' },
    { method: 'GET', path: '/sync/status' },
    { method: 'GET', path: '/sync/blocks' },
    { method: 'GET', path: '/sync/snapshot' },
    // sync (syncRoutes.ts)
    { method: 'GET', path: '/sync/headers', query: 'from=1' },
    { method: 'GET', path: '/sync/epochs/:param', param: '0' },
    { method: 'GET', path: '/sync/snapshots' },
    { method: 'GET', path: '/sync/snapshots/:param', param: '1' },
    { method: 'GET', path: '/sync/snapshots/1/chunks/:param', param: '0' },
    // validator economics (stakingRoutes.ts)
    { method: 'GET', path: '/validators' },
    { method: 'GET', path: '/validators/:param', param: validatorId },
    { method: 'GET', path: '/delegations', query: `delegator=${to}` },
    { method: 'GET', path: '/epochs/current' },
    { method: 'GET', path: '/admin/evidence', admin: true },
    { method: 'POST', path: '/admin/evidence', admin: true, body: { evidence: { a: message, b: { ...message, payload: { blockHash: 'cd'.repeat(32) } } } } },
    { method: 'POST', path: '/admin/validators/:param/slash', param: nobody, admin: true, body: { fractionBps: 1 } },
    { method: 'POST', path: '/admin/validators/:param/jail', param: nobody, admin: true, body: { jailBlocks: 1 } },
    { method: 'GET', path: '/admin/epochs/next', admin: true },
  ];
}

const withQuery = (path: string, base: string | undefined, extra: string | undefined): string => {
  const q = [base, extra].filter((x) => x !== undefined && x !== '').join('&');
  return q === '' ? path : `${path}?${q}`;
};

/** Every hostile request for one route on the walked node (admin token configured). */
function hostileRequests(r: Route, auth: Record<string, string>): Req[] {
  const out: Req[] = [];
  const path = r.path.replace(':param', r.param ?? '');
  const name = `${r.method} ${r.path}`;
  const h = r.admin === true ? auth : {};
  // What goes with a query or path shape: no body, or a small body the route refuses (a valid POST would act).
  const small: Pick<Req, 'headers' | 'body'> = r.body === undefined ? { headers: h } : { headers: { ...h, ...JSON_CT }, body: () => '{"zz":1}' };
  // The route as it is (GET and DELETE only).
  if (r.body === undefined) out.push({ label: `${name}: as is`, method: r.method, path: withQuery(path, r.query, undefined), headers: h });
  for (const q of QUERY_SHAPES) out.push({ label: `${name}?${q.slice(0, 40)}`, method: r.method, path: withQuery(path, r.query, q), ...small });
  if (r.param !== undefined) {
    for (const p of PARAM_SHAPES) out.push({ label: `${name} with :param ${p.slice(0, 20)}`, method: r.method, path: withQuery(r.path.replace(':param', p), r.query, undefined), ...small });
  }
  if (r.body !== undefined) {
    for (const s of bodyShapes(r.body, r.bodyLimit ?? 1_048_576)) out.push({ label: `${name}: ${s.label}`, method: r.method, path: withQuery(path, r.query, undefined), headers: { ...h, ...s.headers }, body: s.body });
  } else {
    // A body on a route that takes none.
    out.push({ label: `${name}: a 100,000-deep JSON body`, method: r.method, path: withQuery(path, r.query, undefined), headers: { ...h, ...JSON_CT }, body: () => deepObject() });
    out.push({ label: `${name}: a text body`, method: r.method, path: withQuery(path, r.query, undefined), headers: { ...h, 'content-type': 'text/plain' }, body: () => 'hello' });
  }
  // Other methods on the route's path.
  for (const m of ['PUT', 'PATCH', 'OPTIONS']) out.push({ label: `${m} ${r.path}`, method: m, path, headers: { ...h, ...JSON_CT }, body: () => '{"zz":1}' });
  if (r.admin === true) {
    // Without the token, with a wrong one, and with malformed Authorization headers.
    for (const a of [undefined, 'Bearer', 'Bearer ', `bearer ${ADMIN}`, 'Bearer wrong-token-wrong-token', `Bearer ${'x'.repeat(8000)}`, `Basic ${ADMIN}`, `Bearer  ${ADMIN}`]) {
      const headers: Record<string, string> = a === undefined ? {} : { authorization: a };
      out.push({ label: `${name}: authorization ${a === undefined ? 'missing' : a.slice(0, 20)}`, method: r.method, path: withQuery(path, r.query, undefined), headers: { ...headers, ...(r.body === undefined ? {} : JSON_CT) }, ...(r.body === undefined ? {} : { body: () => '{"zz":1}' }) });
      out.push({ label: `${name}: authorization ${a === undefined ? 'missing' : a.slice(0, 20)}, deep body`, method: r.method, path: withQuery(path, r.query, 'limit=0x10'), headers: { ...headers, ...JSON_CT }, body: () => deepObject() });
    }
  }
  return out;
}

/** Sends `reqs` to `base`, `concurrency` at a time, until done or `deadline`; returns the broken rules and the count sent. */
async function walk(base: string, reqs: readonly Req[], deadline: number, concurrency = 8): Promise<{ problems: string[]; sent: number; statuses: Map<number, number> }> {
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < reqs.length && Date.now() < deadline; i = next++) {
        const r = reqs[i]!;
        sent++;
        try {
          const res = await send(base, r);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const p = problemOf(r, res);
          if (p !== null) problems.push(`${r.label}: ${p}`);
        } catch (e) {
          problems.push(`${r.label}: no answer (${(e as Error).message})`);
        }
      }
    }),
  );
  return { problems, sent, statuses };
}

// ---------------------------------------------------------------- the tests

let net: Network;
let node: NetNode;
let bId: string;

describe('hostile input on a running node', { timeout: 240_000 }, () => {
  before(async () => {
    net = await startNetwork({
      n: 2,
      stakes: [10_000_000n, 1_000_000n],
      dontStart: [1],
      // No per-IP rate limit: every hostile request should reach its route, not a 429.
      extraArgs: ['--admin-token', ADMIN, '--dev-signing', '--rate-limit-max', '0'],
    });
    node = net.nodes[0]!;
    bId = net.nodes[1]!.validatorId;
    await waitForHeight([node], 3, 20_000);
  });

  after(async () => {
    agent.destroy();
    try {
      assert.ok(node.running, `the node process is still running\n${net.logTail(30)}`);
      const h = await heightOf(node);
      await waitForHeight([node], h + 2, 15_000);
    } finally {
      await net.stop();
    }
  });

  /** A proposal of validator B (the proposer of its round) for a height just ahead, whose block checks, with `extra` in its payload. */
  async function proposal(extraPayload: Record<string, Json> = {}, extraBlock: Record<string, Json> = {}): Promise<Record<string, unknown>> {
    const latest = await getJson(`${node.url}/blocks/latest`);
    // Ahead of the node, within its message lead and in the epoch whose set it knows.
    const epochEnd = (Math.floor(latest.header.height / 100) + 1) * 100;
    const height = Math.min(latest.header.height + 20, epochEnd);
    let round = 0;
    while (proposerOf(net.set, height, round) !== bId) {
      round++;
      assert.ok(round < 10_000, 'B is the proposer of some round');
    }
    const lastCommit = decodeCommit(latest.commit);
    const header = {
      version: 1, chainId: CHAIN_ID, height, round, timestamp: latest.header.timestamp + 1, prevHash: latest.hash, proposer: bId,
      txRoot: txRoot([]), txCount: 0, stateRoot: latest.header.stateRoot, validatorSetHash: latest.header.validatorSetHash,
      lastCommitHash: commitHash(lastCommit), evidenceHash: evidenceListHash([]),
    };
    const block = { header, txs: [], lastCommit: latest.commit, evidence: [], ...extraBlock };
    return { type: 'proposal', chainId: CHAIN_ID, height, round, validatorId: bId, payload: { blockHash: blockHash(header), validRound: -1, block, ...extraPayload }, signature: FAKE_SIG };
  }

  async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await send(node.url, { label: path, method: 'POST', path, headers: JSON_CT, body: () => jsonText(body) });
    let parsed: unknown = res.text;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      /* shown as text */
    }
    return { status: res.status, body: parsed };
  }

  it('a proposal whose payload holds an unknown key nested 100,000 deep: 400 INVALID_MESSAGE, and the node keeps finalizing', async () => {
    // The same proposal without the deep key passes every check but its signature: it is well formed.
    let control = await post('/p2p/message', await proposal());
    for (let i = 0; i < 5 && control.body?.error?.code === 'OUTDATED_MESSAGE'; i++) control = await post('/p2p/message', await proposal());
    assert.equal(control.status, 400, JSON.stringify(control.body));
    assert.equal(control.body.error.code, 'INVALID_SIGNATURE', JSON.stringify(control.body));

    const deep = await post('/p2p/message', await proposal({ zz: nest(DEEP, 'object') }));
    assert.equal(deep.status, 400, JSON.stringify(deep.body).slice(0, 300));
    assert.deepEqual(Object.keys(deep.body), ['error']);
    assert.equal(deep.body.error.code, 'INVALID_MESSAGE');
    assert.equal(typeof deep.body.error.message, 'string');

    const h = await heightOf(node);
    await waitForHeight([node], h + 3, 15_000);
    assert.ok(node.running);
  });

  it('other envelopes with a 100,000-deep unknown key or value: 400, never a 5xx', async () => {
    const vote = { type: 'prevote', chainId: CHAIN_ID, height: (await status(node)).latestHeight + 20, round: 0, validatorId: bId, signature: FAKE_SIG };
    const cases: [string, unknown][] = [
      ['an unknown key of the proposal block', await proposal({}, { zz: nest(DEEP, 'object') })],
      ['an array nested 100,000 deep in the proposal payload', await proposal({ zz: nest(DEEP, 'array') })],
      ['a deep tx payload in the proposal block', await proposal({}, { txs: [{ memo: nest(DEEP, 'mixed') }] })],
      ['a deep unknown key named __proto__', await proposal({ zz: nest(DEEP, 'object', 0, '__proto__') })],
      ['an unknown key of a vote payload', { ...vote, payload: { blockHash: null, zz: nest(DEEP, 'object') } }],
      ['a vote payload nested 100,000 deep', { ...vote, payload: nest(DEEP, 'object') }],
      ['an unknown envelope field', { ...vote, payload: { blockHash: null }, zz: nest(DEEP, 'object') }],
    ];
    for (const [what, body] of cases) {
      const res = await post('/p2p/message', body);
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body).slice(0, 300)}`);
      // A `__proto__` key is refused as JSON already (INVALID_JSON).
      assert.ok(['INVALID_MESSAGE', 'INVALID_REQUEST', 'INVALID_JSON'].includes(res.body.error.code), `${what}: ${res.body.error.code}`);
    }
    const h = await heightOf(node);
    await waitForHeight([node], h + 2, 15_000);
  });

  it('every route, admin routes with and without the token: hostile shapes get no 5xx and every error has the spec shape', async (t) => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const list = routes(bId).flatMap((r) => hostileRequests(r, auth));
    // A request line over Node's header limit (431, then the connection is closed).
    list.push({ label: 'GET /status with a 20 KB query', method: 'GET', path: `/status?q=${'a'.repeat(20_000)}` });
    assert.ok(list.length < 6000, `bounded: ${list.length} requests`);
    const t0 = Date.now();
    const { problems, sent, statuses } = await walk(node.url, list, t0 + 90_000);
    const ms = Date.now() - t0;
    t.diagnostic(`${sent} hostile requests in ${ms} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    assert.deepEqual(problems.slice(0, 30), [], `${problems.length} broken answers`);
    assert.equal(sent, list.length, `all ${list.length} requests sent within the time bound (${sent} in ${ms} ms)`);
    // Nothing was paused, and the node still finalizes.
    const st = await getJson(`${node.url}/admin/status`, 3000).catch(() => null);
    assert.equal(st, null, 'GET /admin/status needs the token');
    const admin = await send(node.url, { label: 'admin status', method: 'GET', path: '/admin/status', headers: auth });
    assert.equal(JSON.parse(admin.text).paused, false);
    const h = await heightOf(node);
    await waitForHeight([node], h + 3, 15_000);
  });

  it('numbers in paths and queries are canonical decimal only: `?from=0x10` is 400 INVALID_REQUEST naming the field', async () => {
    for (const [path, field] of [['/blocks?from=0x10', 'from'], ['/sync/blocks?from=01', 'from'], ['/blocks/1.0', 'height'], ['/tx/finalized?fromHeight=%201', 'fromHeight'], ['/validators?epoch=1e0', 'epoch']] as const) {
      const res = await send(node.url, { label: path, method: 'GET', path });
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      const j = JSON.parse(res.text);
      assert.equal(j.error.code, 'INVALID_REQUEST');
      assert.match(j.error.message, new RegExp(`(querystring|params)/${field} `));
    }
    assert.equal(JSON.parse((await send(node.url, { label: 'ok', method: 'GET', path: '/blocks?from=1&limit=1' })).text)[0].header.height, 1);
  });

  it('admin routes without the token answer 401 UNAUTHORIZED, with a wrong one 403 FORBIDDEN', async () => {
    for (const r of routes(bId).filter((x) => x.admin === true && x.path.startsWith('/admin'))) {
      const path = withQuery(r.path.replace(':param', r.param ?? ''), r.query, undefined);
      const body = r.body === undefined ? {} : { headers: JSON_CT, body: () => '{}' };
      const none = await send(node.url, { label: r.path, method: r.method, path, ...body });
      assert.equal(none.status, 401, `${r.method} ${r.path}: ${none.text}`);
      assert.equal(JSON.parse(none.text).error.code, 'UNAUTHORIZED');
      const wrong = await send(node.url, { label: r.path, method: r.method, path, ...body, headers: { ...(r.body === undefined ? {} : JSON_CT), authorization: 'Bearer wrong-token-wrong-token' } });
      assert.equal(wrong.status, 403, `${r.method} ${r.path}: ${wrong.text}`);
      assert.equal(JSON.parse(wrong.text).error.code, 'FORBIDDEN');
    }
  });

  it('a node with the admin API and development signing off: the same routes get 403 (ADMIN_DISABLED, DEV_SIGNING_DISABLED) or a 4xx, never a 5xx', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fastpos-hostile-'));
    let plain: NodeProcess | undefined;
    try {
      plain = await spawnNode(dir);
      const auth = { authorization: `Bearer ${ADMIN}` };
      const chosen = routes(devValidator(0).address).filter((r) => r.admin === true || r.path.startsWith('/dev'));
      const list: Req[] = [];
      for (const r of chosen) {
        const path = withQuery(r.path.replace(':param', r.param ?? ''), r.query, undefined);
        for (const headers of [{}, auth]) {
          const h = { ...headers, ...(r.body === undefined ? {} : JSON_CT) };
          list.push({ label: `${r.method} ${r.path}`, method: r.method, path, headers: h, ...(r.body === undefined ? {} : { body: () => '{}' }) });
          list.push({ label: `${r.method} ${r.path}: deep body`, method: r.method, path, headers: { ...headers, ...JSON_CT }, body: () => deepObject() });
          list.push({ label: `${r.method} ${r.path}: odd query`, method: r.method, path: withQuery(path, undefined, 'limit=0x10&a=1&a=2'), headers: h, ...(r.body === undefined ? {} : { body: () => '{"zz":1}' }) });
        }
      }
      const { problems, sent } = await walk(plain.url, list, Date.now() + 60_000);
      assert.deepEqual(problems, []);
      assert.equal(sent, list.length);
      for (const r of chosen.filter((x) => x.path.startsWith('/admin'))) {
        const res = await send(plain.url, { label: r.path, method: r.method, path: r.path.replace(':param', r.param ?? ''), headers: auth });
        assert.equal(res.status, 403, `${r.method} ${r.path}: ${res.text}`);
        assert.equal(JSON.parse(res.text).error.code, 'ADMIN_DISABLED');
      }
      const dev = await send(plain.url, { label: 'dev', method: 'POST', path: '/dev/transfer', headers: JSON_CT, body: () => '{"zz":1}' });
      assert.equal(dev.status, 403, dev.text);
      assert.equal(JSON.parse(dev.text).error.code, 'DEV_SIGNING_DISABLED');
      t.diagnostic(`${sent} requests to a node without admin token or dev signing`);
      const h = await heightOf(plain.url);
      await waitForHeight([{ url: plain.url } as NetNode], h + 2, 15_000);
    } finally {
      await plain?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
