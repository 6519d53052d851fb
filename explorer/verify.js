/**
 * Checks, in the browser, that a block is certified and that a tx is in it,
 * from what the node serves and nothing else trusted but the validator set of
 * the block's epoch: the header hash recomputed, the body bound to the header
 * (tx ids and txRoot, txCount, evidenceHash), the set bound to the header
 * (validatorSetHash recomputed), every precommit's Ed25519 signature over its
 * vote signing bytes, and the signers' power at least 2/3 of the set's.
 *
 * The byte layouts are those of the node (docs/api.md: "Signing and id",
 * "Blocks and finality"; src/codec/canonical.ts, block.ts, merkle.ts and
 * src/client/certificate.ts). Hashing and signatures use WebCrypto only, so
 * the same module runs in a browser and in Node 20.
 * @module
 */

const TX_DOMAIN = 'fastpos/tx/v1\n';
const BLOCK_DOMAIN = 'fastpos/block/v1\n';
const P2P_DOMAIN = 'fastpos/p2p/v1\n';
const EVIDENCE_LIST_DOMAIN = 'fastpos/evidence-list/v1\n';
const VALSET_DOMAIN = 'fastpos/valset/v1\n';

const HEX = /^(?:[0-9a-f]{2})*$/;
const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const AMOUNT = /^(0|[1-9][0-9]{0,38})$/;

const encoder = new TextEncoder();

/** RFC 8785 canonical JSON of plain JSON values: keys sorted by UTF-16 code units, no whitespace. */
export function canonicalJson(value) {
  const todo = [value];
  const out = [];
  // An explicit stack: no input, however deep, exhausts the call stack.
  while (todo.length > 0) {
    const v = todo.pop();
    if (v instanceof Literal) {
      out.push(v.literal);
      continue;
    }
    switch (typeof v) {
      case 'string':
        out.push(JSON.stringify(v));
        break;
      case 'number':
        if (!Number.isFinite(v)) throw new TypeError('canonical JSON: non-finite number');
        out.push(JSON.stringify(v));
        break;
      case 'boolean':
        out.push(v ? 'true' : 'false');
        break;
      case 'object': {
        if (v === null) {
          out.push('null');
          break;
        }
        if (Array.isArray(v)) {
          out.push('[');
          todo.push(new Literal(']'));
          for (let i = v.length - 1; i >= 0; i--) {
            todo.push(v[i]);
            if (i > 0) todo.push(new Literal(','));
          }
          break;
        }
        const keys = Object.keys(v).sort().filter((k) => v[k] !== undefined);
        out.push('{');
        todo.push(new Literal('}'));
        for (let i = keys.length - 1; i >= 0; i--) {
          const k = keys[i];
          todo.push(v[k]);
          todo.push(new Literal((i > 0 ? ',' : '') + JSON.stringify(k) + ':'));
        }
        break;
      }
      default:
        throw new TypeError(`canonical JSON: cannot encode ${typeof v}`);
    }
  }
  return out.join('');
}

/** Text written as is by `canonicalJson` (punctuation on its stack). */
class Literal {
  constructor(literal) {
    this.literal = literal;
  }
}

/** Bytes of a hex string (lowercase, even length). */
export function hexToBytes(hex) {
  if (typeof hex !== 'string' || !HEX.test(hex)) throw new TypeError('not lowercase hex of whole bytes');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SHA-256 of bytes or of a string's UTF-8, as raw bytes. */
export async function sha256(data) {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export async function sha256Hex(data) {
  return bytesToHex(await sha256(data));
}

/** Block hash: hex(sha256("fastpos/block/v1\n" + canonicalJSON(header))). */
export function blockHash(header) {
  return sha256Hex(BLOCK_DOMAIN + canonicalJson(header));
}

/** Tx id: hex(sha256("fastpos/tx/v1\n" + canonicalJSON(tx without signature))), from the tx's wire JSON. */
export function txId(tx) {
  const { signature: _signature, ...unsigned } = tx;
  return sha256Hex(TX_DOMAIN + canonicalJson(unsigned));
}

/** Signing bytes of a vote: "fastpos/p2p/v1\n" + canonicalJSON({type, chainId, height, round, validatorId, payload: {blockHash}}). */
export function voteSignBytes(v) {
  const envelope = { type: v.type, chainId: v.chainId, height: v.height, round: v.round, validatorId: v.validatorId, payload: { blockHash: v.blockHash } };
  return encoder.encode(P2P_DOMAIN + canonicalJson(envelope));
}

/** RFC 6962 Merkle root of the tx ids (hex): leaf H(0x00 || id), node H(0x01 || left || right); empty: H(""). */
export async function txRoot(ids) {
  if (ids.length === 0) return sha256Hex(new Uint8Array(0));
  let level = await Promise.all(ids.map((id) => sha256(concat(Uint8Array.of(0), hexToBytes(id)))));
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(sha256(concat(Uint8Array.of(1), level[i], level[i + 1])));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = await Promise.all(next);
  }
  return bytesToHex(level[0]);
}

/** Hash of a block's evidence list, as its header's evidenceHash. */
export function evidenceListHash(evidence) {
  return sha256Hex(EVIDENCE_LIST_DOMAIN + canonicalJson(evidence));
}

/** Hash of a validator set's entries (sorted by id), as headers carry it in validatorSetHash. */
export function validatorSetHash(validators) {
  const entries = validators.map((v) => ({ id: v.id, pubKey: v.pubKey, votingPower: v.votingPower, proposerWeight: v.proposerWeight }));
  return sha256Hex(VALSET_DOMAIN + canonicalJson(entries));
}

/** Ed25519 (RFC 8032) through WebCrypto; false for a malformed key or signature. */
export async function verifyEd25519(pubKeyHex, message, signatureHex) {
  if (!HEX64.test(pubKeyHex) || !HEX128.test(signatureHex)) return false;
  try {
    const key = await crypto.subtle.importKey('raw', hexToBytes(pubKeyHex), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, hexToBytes(signatureHex), message);
  } catch {
    return false;
  }
}

const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The set's entries checked for shape, with BigInt powers and their total; throws on a malformed set. */
function readSet(set) {
  if (!isObj(set) || !Array.isArray(set.validators) || set.validators.length === 0) throw new Error('the validator set is malformed or empty');
  let total = 0n;
  const byId = new Map();
  for (const v of set.validators) {
    if (!isObj(v) || !HEX40.test(v.id) || !HEX64.test(v.pubKey) || !AMOUNT.test(v.votingPower) || !AMOUNT.test(v.proposerWeight)) throw new Error('a validator set entry is malformed');
    const power = BigInt(v.votingPower);
    byId.set(v.id, { ...v, power });
    total += power;
  }
  return { byId, total };
}

/**
 * Verifies a wire block (`GET /blocks/:height`) against the validator set of
 * its epoch (`GET /validators?epoch=N`). Never throws for bad data: returns
 * a report whose `ok` is true only when every check passed.
 *
 * @param {{chainId?: string, block: any, set: any, txId?: string}} p
 *   `txId`, when given, must be one of the block's txs (recomputed from their JSON).
 */
export async function verifyBlock(p) {
  const checks = [];
  const check = (name, ok, detail) => {
    checks.push({ name, ok: Boolean(ok), detail });
    return Boolean(ok);
  };
  const report = { ok: false, height: undefined, hash: undefined, checks, signers: [], signedPower: 0n, totalPower: 0n, validators: 0, txIds: [], txIndex: -1 };
  try {
    const b = p.block;
    if (!isObj(b) || !isObj(b.header) || !isObj(b.commit) || !Array.isArray(b.txs) || !Array.isArray(b.commit.signatures)) {
      check('block shape', false, 'the answer is not a block with header, txs and commit');
      return report;
    }
    const h = b.header;
    report.height = h.height;
    if (p.chainId !== undefined) check('chain id', h.chainId === p.chainId, `block of chain ${String(h.chainId)}, expected ${p.chainId}`);

    const hash = await blockHash(h);
    report.hash = hash;
    check('header hash', b.hash === hash, b.hash === hash ? `the header hashes to ${hash}` : `the header hashes to ${hash}, the block says ${String(b.hash)}`);
    check('certificate names this block', b.commit.blockHash === hash && b.commit.height === h.height,
      `certificate for height ${String(b.commit.height)} and block ${String(b.commit.blockHash)}`);

    const ids = await Promise.all(b.txs.map((t) => txId(t)));
    report.txIds = ids;
    check('tx count', h.txCount === ids.length, `${ids.length} txs, the header says ${String(h.txCount)}`);
    const root = await txRoot(ids);
    check('tx root', root === h.txRoot, root === h.txRoot ? `the tx ids give the header's txRoot ${root}` : `the tx ids give ${root}, the header says ${String(h.txRoot)}`);
    const ev = await evidenceListHash(Array.isArray(b.evidence) ? b.evidence : []);
    check('evidence hash', ev === h.evidenceHash, `the evidence list hashes to ${ev}`);
    if (p.txId !== undefined) {
      report.txIndex = ids.indexOf(p.txId);
      check('tx in block', report.txIndex >= 0, report.txIndex >= 0 ? `tx ${p.txId} is tx ${report.txIndex} of the block` : `no tx of the block has id ${p.txId}`);
    }

    let set;
    try {
      set = readSet(p.set);
    } catch (e) {
      check('validator set', false, e.message);
      return report;
    }
    report.totalPower = set.total;
    report.validators = set.byId.size;
    const setHash = await validatorSetHash(p.set.validators);
    check('validator set', setHash === h.validatorSetHash, setHash === h.validatorSetHash
      ? `the set of epoch ${String(p.set.epoch)} hashes to the header's validatorSetHash`
      : `the set served hashes to ${setHash}, the header names ${String(h.validatorSetHash)}`);

    const seen = new Set();
    let signed = 0n;
    let allSigsOk = true;
    for (const s of b.commit.signatures) {
      const id = isObj(s) ? s.validatorId : undefined;
      const member = typeof id === 'string' ? set.byId.get(id) : undefined;
      const entry = { validatorId: String(id), power: member?.power ?? 0n, ok: false, reason: '' };
      report.signers.push(entry);
      if (member === undefined) entry.reason = 'not in the validator set';
      else if (seen.has(id)) entry.reason = 'signs twice';
      else {
        seen.add(id);
        const bytes = voteSignBytes({ type: 'precommit', chainId: h.chainId, height: h.height, round: b.commit.round, validatorId: id, blockHash: hash });
        entry.ok = isUint(b.commit.round) && (await verifyEd25519(member.pubKey, bytes, s.signature));
        if (entry.ok) signed += member.power;
        else entry.reason = 'bad signature';
      }
      if (!entry.ok) allSigsOk = false;
    }
    report.signedPower = signed;
    check('signatures', allSigsOk && report.signers.length > 0, allSigsOk ? `${report.signers.length} precommit signatures verified` : 'a precommit signature does not verify');
    const quorum = set.total > 0n && 3n * signed >= 2n * set.total;
    check('quorum', quorum, `signers hold ${signed} of ${set.total} voting power (${percent(signed, set.total)}), at least 2/3 needed`);
  } catch (e) {
    check('verification', false, `could not check the block: ${e instanceof Error ? e.message : String(e)}`);
  }
  report.ok = checks.length > 0 && checks.every((c) => c.ok);
  return report;
}

/** `part` as a percentage of `whole` (BigInts), rounded to one decimal (2 of 3 is 66.7%). */
export function percent(part, whole) {
  if (whole <= 0n) return '0%';
  const tenths = (part * 1000n + whole / 2n) / whole;
  const s = `${tenths / 10n}.${tenths % 10n}`;
  return `${s.endsWith('.0') ? s.slice(0, -2) : s}%`;
}

/** One line on a report: "certified: 3 of 3 validators, 100% of power ≥ 2/3" or what failed. */
export function summarize(report) {
  const good = report.signers.filter((s) => s.ok).length;
  if (report.ok) return `certified: ${good} of ${report.validators} validators, ${percent(report.signedPower, report.totalPower)} of power ≥ 2/3 — signatures verified in your browser`;
  const failed = report.checks.find((c) => !c.ok);
  return `NOT verified: ${failed === undefined ? 'no checks ran' : `${failed.name}: ${failed.detail}`}`;
}
