/**
 * The decoder bugs the fuzzing found, one input each: before the fix, each
 * threw something other than a FastposError or accepted an input that does
 * not re-encode to itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blockHash, commitHash, decodeBlock, decodeCommit, decodeFinalizedBlock, decodeSyncBlocks, decodeSyncStatus, encodeBlock, evidenceListHash, finalizedBlockJson } from '../../src/codec/block.js';
import { canonicalJson, jsonDepthExceeds } from '../../src/codec/canonical.js';
import { MAX_ENVELOPE_PAYLOAD_DEPTH, decodeEnvelope, decodeFinalizePayload, decodeProposalPayload, encodeFinalizePayload, encodeProposalPayload, envelopeSignBytes } from '../../src/codec/envelope.js';
import { txRoot } from '../../src/codec/merkle.js';
import { MAX_EVIDENCE_PAYLOAD_DEPTH, decodeEvidence, decodeTx, encodeEvidence, evidenceShapeProblem } from '../../src/codec/tx.js';
import { signTx } from '../../src/client/sign.js';
import { loadConfig } from '../../src/config/config.js';
import { ErrorCode } from '../../src/errors.js';
import { loadKeyFile } from '../../src/node/keyFile.js';
import { GUARD_FILE, loadGuardState } from '../../src/node/signGuardFile.js';
import { decodeGenesis, defaultDevnetGenesis, encodeGenesis } from '../../src/state/genesis.js';
import type { Block, Evidence, FinalizedBlock } from '../../src/types/index.js';
import { errorCodeOf } from '../helpers/util.js';
import { nest, type Json } from './json.js';
import { ACCOUNTS, CHAIN, REAL_CHAIN, VALIDATORS, certify, guardChecksum, signMessage } from './valid.js';

const dir = mkdtempSync(join(tmpdir(), 'fastpos-fuzz-regressions-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fb = REAL_CHAIN[1]!;
const j = <T = Record<string, any>>(v: unknown): T => JSON.parse(canonicalJson(v)) as T;

/** A proposal envelope of `block`, signed by validator 0 (the signature does not matter to decoding). */
function proposal(block: Block, hash: string): Record<string, any> {
  const v = VALIDATORS[0]!;
  const unsigned = { type: 'proposal' as const, chainId: CHAIN, height: block.header.height, round: block.header.round, validatorId: v.address, payload: j(encodeProposalPayload(block, hash, -1)) };
  return j({ ...unsigned, signature: v.signer.sign(envelopeSignBytes(unsigned)) });
}

function finalize(f: FinalizedBlock): Record<string, any> {
  const v = VALIDATORS[0]!;
  const unsigned = { type: 'finalize' as const, chainId: CHAIN, height: f.block.header.height, round: f.commit.round, validatorId: v.address, payload: j(encodeFinalizePayload(f)) };
  return j({ ...unsigned, signature: v.signer.sign(envelopeSignBytes(unsigned)) });
}

/** Decodes an envelope the way a node does: shape, payload, then the signing bytes. */
function receive(e: unknown): string {
  return errorCodeOf(() => {
    const d = decodeEnvelope(e);
    if (d.type === 'proposal') decodeProposalPayload(d);
    else if (d.type === 'finalize') decodeFinalizePayload(d);
    envelopeSignBytes(d);
  });
}

/** Two proposals of validator 3 at height 1 whose payloads nest `depth` levels. */
function deepProposalEvidence(depth: number): Evidence {
  const base = { type: 'proposal' as const, chainId: CHAIN, height: 1, round: 0, validatorId: VALIDATORS[3]!.address };
  return { a: signMessage(VALIDATORS[3]!, { ...base, payload: { x: nest(depth - 1, 'array') } }), b: signMessage(VALIDATORS[3]!, { ...base, payload: { y: nest(depth - 1, 'array') } }) };
}

describe('fuzz regressions: envelopes', () => {
  it('error: a proposal payload with a deeply nested unknown key is INVALID_MESSAGE (was a RangeError from its signing bytes)', () => {
    const e = proposal(fb.block, fb.hash);
    e.payload.extra = nest(100_000, 'object');
    assert.equal(receive(e), ErrorCode.INVALID_MESSAGE);
    assert.equal(errorCodeOf(() => decodeEnvelope(e)), ErrorCode.INVALID_MESSAGE, 'refused before anything reads the payload');
  });

  it('error: unknown keys in a proposal payload and its block are INVALID_MESSAGE (were accepted, and re-encoded without them)', () => {
    const e = proposal(fb.block, fb.hash);
    e.payload.extra = 1;
    assert.equal(receive(e), ErrorCode.INVALID_MESSAGE);
    const f = proposal(fb.block, fb.hash);
    f.payload.block.constructor = false;
    assert.equal(receive(f), ErrorCode.INVALID_MESSAGE);
  });

  it('error: an unknown key in a finalize payload or in its block is INVALID_MESSAGE (was accepted)', () => {
    const e = finalize(fb);
    e.payload.extra = [1];
    assert.equal(receive(e), ErrorCode.INVALID_MESSAGE);
    const f = finalize(fb);
    f.payload.block.block = 'x';
    assert.equal(receive(f), ErrorCode.INVALID_MESSAGE);
  });

  it('default: a block that holds the deepest valid evidence, in its evidence list and in a slash tx, still fits an envelope', () => {
    const ev = deepProposalEvidence(MAX_EVIDENCE_PAYLOAD_DEPTH);
    assert.equal(evidenceShapeProblem(ev), null);
    const k = ACCOUNTS[0]!;
    const slash = decodeTx(signTx(k.signer, { chainId: CHAIN, kind: 'validator_slash', from: k.address, pubKey: k.publicKey, nonce: 0, fee: 10n, payload: { evidence: ev } }).tx);
    const header = { ...fb.block.header, txRoot: txRoot([slash.id]), txCount: 1, evidenceHash: evidenceListHash([ev]) };
    const block: Block = { header, txs: [slash], lastCommit: fb.block.lastCommit, evidence: [ev] };
    const hash = blockHash(header);
    assert.equal(receive(proposal(block, hash)), 'OK');
    assert.equal(receive(finalize({ block, hash, results: [{ success: true }], commit: certify(CHAIN, header.height, 0, hash, [0, 1, 2, 3]) })), 'OK');
    assert.ok(!jsonDepthExceeds(proposal(block, hash).payload, MAX_ENVELOPE_PAYLOAD_DEPTH));
  });
});

describe('fuzz regressions: txs and evidence', () => {
  it('error: a deeply nested fee is INVALID_AMOUNT (was a RangeError while writing the error message)', () => {
    const t = j(signTx(ACCOUNTS[0]!.signer, { chainId: CHAIN, kind: 'transfer', from: ACCOUNTS[0]!.address, pubKey: ACCOUNTS[0]!.publicKey, nonce: 0, fee: 1n, payload: { to: ACCOUNTS[1]!.address, amount: 5n } }).tx);
    t.fee = nest(100_000, 'array');
    assert.equal(errorCodeOf(() => decodeTx(t)), ErrorCode.INVALID_AMOUNT);
  });

  it('error: evidence whose payload nests deeper than the limit is INVALID_EVIDENCE, in decoding and in the evidence rules', () => {
    const ok = deepProposalEvidence(MAX_EVIDENCE_PAYLOAD_DEPTH);
    assert.equal(errorCodeOf(() => decodeEvidence(j(encodeEvidence(ok)))), 'OK');
    const deep = deepProposalEvidence(MAX_EVIDENCE_PAYLOAD_DEPTH + 1);
    assert.equal(errorCodeOf(() => decodeEvidence(j(encodeEvidence(deep)))), ErrorCode.INVALID_EVIDENCE);
    assert.match(evidenceShapeProblem(deep) ?? '', /deeper/);
    const huge = deepProposalEvidence(100_000);
    assert.equal(errorCodeOf(() => decodeEvidence(encodeEvidence(huge))), ErrorCode.INVALID_EVIDENCE);
  });
});

describe('fuzz regressions: blocks, certificates and sync answers', () => {
  const good = (): Record<string, any> => JSON.parse(finalizedBlockJson(fb)) as Record<string, any>;

  it('error: a finalized block whose hash is an object with a toString key is INVALID_BLOCK (was a TypeError while writing the error message)', () => {
    const b = good();
    b.hash = { toString: 1 };
    assert.equal(errorCodeOf(() => decodeFinalizedBlock(b)), ErrorCode.INVALID_BLOCK);
  });

  it('error: unknown keys in a finalized block, a block and a result entry, and a result error that is not a string, are INVALID_BLOCK (were accepted)', () => {
    const cases: ((b: Record<string, any>) => void)[] = [(b) => (b.extra = 1), (b) => (b.results[0].note = 'x'), (b) => (b.results[0] = { success: false, error: 5 })];
    for (const mutate of cases) {
      const b = good();
      mutate(b);
      assert.equal(errorCodeOf(() => decodeFinalizedBlock(b)), ErrorCode.INVALID_BLOCK);
    }
    const body = j(encodeBlock(fb.block));
    body.hash = fb.hash;
    assert.equal(errorCodeOf(() => decodeBlock(body)), ErrorCode.INVALID_BLOCK);
  });

  it('error: unknown keys in a commit certificate or in one of its signatures are INVALID_COMMIT (were accepted, and dropped from its hash)', () => {
    const c = j(fb.commit);
    c.signaturesX = {};
    assert.equal(errorCodeOf(() => decodeCommit(c)), ErrorCode.INVALID_COMMIT);
    const d = j(fb.commit);
    d.signatures[0].round = 0;
    assert.equal(errorCodeOf(() => decodeCommit(d)), ErrorCode.INVALID_COMMIT);
    assert.equal(commitHash(decodeCommit(j(fb.commit))), commitHash(fb.commit));
  });

  it('error: a /sync/blocks answer that is not an array, and a /sync/status answer that is not the status, are typed errors', () => {
    for (const v of [null, {}, 'x', 5]) assert.equal(errorCodeOf(() => decodeSyncBlocks(v)), ErrorCode.INVALID_BLOCK);
    assert.deepEqual(decodeSyncBlocks(REAL_CHAIN.map((b) => JSON.parse(finalizedBlockJson(b)))).map((b) => b.hash), REAL_CHAIN.map((b) => b.hash));
    const status = { chainId: CHAIN, genesisHash: 'a'.repeat(64), height: 3, hash: 'b'.repeat(64), syncing: false };
    assert.deepEqual(decodeSyncStatus(status), { ...status, earliestBlockHeight: 1 });
    for (const v of [null, [], { ...status, height: '3' }, { ...status, extra: 1 }, { ...status, genesisHash: undefined }]) {
      assert.equal(errorCodeOf(() => decodeSyncStatus(v)), ErrorCode.INVALID_MESSAGE);
    }
  });
});

describe('fuzz regressions: canonical JSON', () => {
  /** The plain recursive encoding, for values shallow enough for it. */
  const reference = (v: unknown): string =>
    Array.isArray(v) ? `[${v.map(reference).join(',')}]` : typeof v === 'object' && v !== null ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${reference((v as Record<string, unknown>)[k])}`).join(',')}}` : JSON.stringify(v);

  it('default: values nested deeper than the recursion limit encode as the recursive encoding does', () => {
    for (const depth of [150, 199, 200, 201, 450]) {
      const v: Json = { b: [1, 'x', nest(depth, 'mixed', { z: null, a: [true, -0.5] })], a: nest(depth, 'object', 'é\u2028') };
      assert.equal(canonicalJson(v), reference(v));
    }
  });

  it('default: a value nested 1,000,000 levels encodes instead of exhausting the stack', () => {
    const s = canonicalJson(nest(1_000_000, 'array'));
    assert.equal(s.length, 2_000_001);
  });
});

describe('fuzz regressions: files', () => {
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('error: a key file holding null, an array, an unknown field or another key type is INVALID_CONFIG (null was a TypeError)', () => {
    const seed = 'ab'.repeat(32);
    for (const text of ['null', '[]', '"x"', JSON.stringify({ privateKey: seed, comment: 'x' }), JSON.stringify({ type: 'secp256k1', privateKey: seed })]) {
      assert.equal(errorCodeOf(() => loadKeyFile(write('key.json', text))), ErrorCode.INVALID_CONFIG, text);
    }
    assert.equal(loadKeyFile(write('key.json', JSON.stringify({ privateKey: seed }))).privateKey, seed);
  });

  it('error: a guard file whose state nests 100,000 levels is CORRUPT_DATA (its checksum was a RangeError)', () => {
    const d = mkdtempSync(join(dir, 'guard-'));
    writeFileSync(join(d, GUARD_FILE), JSON.stringify({ state: { last: {}, lock: null }, checksum: guardChecksum({ last: {}, lock: null }) }).replace('"last":{}', `"last":${'['.repeat(100_000)}${']'.repeat(100_000)}`));
    assert.equal(errorCodeOf(() => loadGuardState(d)), ErrorCode.CORRUPT_DATA);
  });

  it('error: genesis params that are not an object, and parameters or work weights given as null, are INVALID_GENESIS (were read as the defaults)', () => {
    const g = j(encodeGenesis(defaultDevnetGenesis()));
    for (const mutate of [(x: any) => (x.params = 5), (x: any) => (x.params = null), (x: any) => (x.params.maxBlockTxs = null), (x: any) => (x.params.feeRecipient = null), (x: any) => (x.validators[0].workWeight = null)]) {
      const c = structuredClone(g);
      mutate(c);
      assert.equal(errorCodeOf(() => decodeGenesis(c)), ErrorCode.INVALID_GENESIS);
    }
    const partial = structuredClone(g);
    delete partial.params;
    assert.equal(errorCodeOf(() => decodeGenesis(partial)), 'OK', 'absent params still take the defaults');
  });

  it('error: a config.yaml whose aliases expand too far is INVALID_CONFIG (was a ReferenceError from the YAML library)', () => {
    const text = ['a: &a [1,1,1,1,1,1,1,1,1,1]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]', ''].join('\n');
    assert.equal(errorCodeOf(() => loadConfig({ argv: [], env: {}, configFile: '/x/config.yaml', readFile: () => text, cwd: '/x' })), ErrorCode.INVALID_CONFIG);
  });
});
