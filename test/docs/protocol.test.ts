/**
 * docs/protocol.md carries the protocol's test vectors as fenced blocks
 * marked `json vector:<name>`. This test reads them from the document and
 * checks each one against the node's own code: canonical JSON, keys and
 * addresses, signing bytes, ids, hashes and roots are recomputed, every
 * signature is verified and made again (Ed25519 is deterministic), every
 * object is decoded as a node decodes it, and block 1 is rebuilt by executing
 * the genesis state. It also checks that every tx kind has its section and its
 * vector. So the document cannot drift from what the network speaks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bodyMismatch } from '../../src/consensus/block.js';
import { verifyCommit } from '../../src/consensus/commit.js';
import { selectProposer } from '../../src/consensus/proposer.js';
import { validatorSetForHeight, validatorSetFromEntries } from '../../src/consensus/validatorSet.js';
import { commitHash, decodeFinalizedBlock, evidenceListHash, voteSignBytes } from '../../src/codec/block.js';
import { canonicalJson } from '../../src/codec/canonical.js';
import { decodeEnvelope, decodeVotePayload, envelopeSignBytes } from '../../src/codec/envelope.js';
import { decodeHello, helloSignBytes } from '../../src/codec/hello.js';
import { txRoot } from '../../src/codec/merkle.js';
import { decodeStateValue, encodeStateValue } from '../../src/codec/state.js';
import { decodeTx, encodeTx, evidenceId, txSignJsonGeneric } from '../../src/codec/tx.js';
import { createSigner, publicKeyFromPrivate, verifySignature } from '../../src/crypto/ed25519.js';
import { sha256 } from '../../src/crypto/hash.js';
import { addressFromPubKey, devAccount, devValidator, moduleAddress } from '../../src/crypto/keys.js';
import { TREASURY_ADDRESS, decodeGenesis, defaultDevnetGenesis, encodeGenesis, genesisEntries, genesisHash } from '../../src/state/genesis.js';
import { LtHash, ltElement } from '../../src/state/ltHash.js';
import { WorldState } from '../../src/state/worldState.js';
import { TX_KINDS, type ValidatorEntry } from '../../src/types/index.js';
import { TestChain } from '../helpers/chain.js';

const DOC_PATH = 'docs/protocol.md';
const DOC = readFileSync(new URL(`../../${DOC_PATH}`, import.meta.url), 'utf8');
const UNIT_VECTORS = JSON.parse(readFileSync(new URL('../vectors/protocol.json', import.meta.url), 'utf8'));

type Json = any;

/** The vector blocks of a document: name → parsed JSON. Throws on a duplicate name or a block that is not JSON. */
export function parseVectors(doc: string): Map<string, Json> {
  const out = new Map<string, Json>();
  const fence = /^```json vector:([a-z0-9_-]+)\n([\s\S]*?)\n```$/gm;
  for (const m of doc.matchAll(fence)) {
    const [, name, body] = m as unknown as [string, string, string];
    if (out.has(name)) throw new Error(`vector ${name} appears twice`);
    try {
      out.set(name, JSON.parse(body));
    } catch (e) {
      throw new Error(`vector ${name} is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}

const VECTORS = parseVectors(DOC);

function vector(name: string): Json {
  const v = VECTORS.get(name);
  assert.ok(v !== undefined, `${DOC_PATH} has no vector ${name}`);
  return v;
}

/** Dev validator i whose id is `id` (the first 10). */
function devValidatorById(id: string): ReturnType<typeof devValidator> {
  for (let i = 0; i < 10; i++) if (devValidator(i).address === id) return devValidator(i);
  throw new Error(`${id} is not one of the first 10 dev validators`);
}

const entryJson = (e: ValidatorEntry) => ({ id: e.id, pubKey: e.pubKey, votingPower: e.votingPower.toString(), proposerWeight: e.proposerWeight.toString() });
const txVectorNames = (): string[] => [...VECTORS.keys()].filter((n) => n.startsWith('tx-') && n !== 'tx-root');

describe('docs/protocol.md: the document', () => {
  it('every vector block is JSON with a unique name', () => {
    assert.doesNotThrow(() => parseVectors(DOC));
    // Every block that says it is a vector is one the parser read (no malformed marker or unclosed fence).
    const markers = DOC.match(/^```[^\n]*vector:/gm) ?? [];
    assert.equal(markers.length, VECTORS.size, 'a fenced block marked vector: is not of the form ```json vector:<name>');
    assert.ok(VECTORS.size >= 20, `only ${VECTORS.size} vectors`);
  });

  it('behavior: the vector parser refuses duplicates and broken JSON', () => {
    assert.throws(() => parseVectors('```json vector:a\n{}\n```\n```json vector:a\n{}\n```'), /appears twice/);
    assert.throws(() => parseVectors('```json vector:a\n{"x": }\n```'), /not JSON/);
    assert.deepEqual([...parseVectors('```json vector:a-b_1\n{"x": 1}\n```').entries()], [['a-b_1', { x: 1 }]]);
  });

  it('every tx kind has its own section and a vector, and no other kind is documented', () => {
    for (const kind of TX_KINDS) {
      assert.ok(DOC.includes(`\n### \`${kind}\`\n`), `${DOC_PATH} has no section "### \`${kind}\`"`);
      const v = vector(`tx-${kind}`);
      assert.equal(v.tx.kind, kind, `vector tx-${kind} holds a ${v.tx.kind} tx`);
    }
    const known = new Set<string>(TX_KINDS);
    for (const name of txVectorNames()) assert.ok(known.has(vector(name).tx.kind), `vector ${name} is of an unknown kind`);
    const sections = [...DOC.matchAll(/^### `([a-z_]+)`$/gm)].map((m) => m[1]!);
    for (const s of sections) assert.ok(known.has(s), `section ${s} is not a tx kind of this version`);
  });

  it('the vector index lists every vector', () => {
    const index = DOC.slice(DOC.indexOf('## 7. Test vectors'), DOC.indexOf('## 8.'));
    assert.ok(index.length > 0, 'no "## 7. Test vectors" section');
    for (const name of VECTORS.keys()) {
      if (name.startsWith('tx-') && name !== 'tx-root') continue; // listed as tx-<kind>
      assert.ok(index.includes(`\`${name}\``), `vector ${name} is missing from the index of section 7`);
    }
  });
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as "-". */
export function headingSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => headingSlug(m[1]!)));
}

describe('docs/protocol.md: links', () => {
  it('behavior: heading anchors as GitHub writes them', () => {
    assert.equal(headingSlug('1. Encoding rules'), '1-encoding-rules');
    assert.equal(headingSlug('`product_attest`'), 'product_attest');
    assert.equal(headingSlug('Joining a network: snapshot sync'), 'joining-a-network-snapshot-sync');
  });

  it('every link to this page, to another page or to a section of one leads somewhere', () => {
    const links = [...DOC.replace(/^```[\s\S]*?^```$/gm, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    assert.ok(links.length > 20);
    for (const link of links) {
      if (/^https?:/.test(link)) continue;
      const [file = '', anchor] = link.split('#');
      const text = file === '' ? DOC : readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');
      if (anchor !== undefined) assert.ok(anchorsOf(text).has(anchor), `${DOC_PATH}: link ${link} names no heading`);
    }
  });
});

describe('docs/protocol.md: encodings, keys and txs', () => {
  it('canonical-json: the canonical form of the value', () => {
    const v = vector('canonical-json');
    assert.equal(canonicalJson(v.value), v.canonical);
  });

  it('dev-keys: seeds, public keys, addresses and the treasury', () => {
    const v = vector('dev-keys');
    for (const a of v.accounts) {
      assert.equal(sha256(`fastpos-dev-account-${a.index}`).toString('hex'), a.seed);
      assert.equal(publicKeyFromPrivate(a.seed), a.pubKey);
      assert.equal(addressFromPubKey(a.pubKey), a.address);
      assert.deepEqual(devAccount(a.index), { privateKey: a.seed, publicKey: a.pubKey, address: a.address });
    }
    for (const x of v.validators) {
      assert.equal(sha256(`fastpos-dev-validator-${x.index}`).toString('hex'), x.seed);
      assert.deepEqual(devValidator(x.index), { privateKey: x.seed, publicKey: x.pubKey, address: x.id });
    }
    assert.equal(moduleAddress('treasury'), v.treasury);
    assert.equal(TREASURY_ADDRESS, v.treasury);
    // The unit tests' copy agrees.
    assert.equal(v.accounts[0].pubKey, UNIT_VECTORS.devAccount0.pubKey);
    assert.equal(v.accounts[1].address, UNIT_VECTORS.devAccount1.address);
    assert.equal(v.validators[0].id, UNIT_VECTORS.devValidator0.id);
    assert.equal(v.validators[1].pubKey, UNIT_VECTORS.devValidator1.pubKey);
  });

  for (const name of txVectorNames()) {
    it(`${name}: decodes, has the id shown, its signature verifies and signing again gives it`, () => {
      const v = vector(name);
      const d = decodeTx(v.tx);
      assert.equal(d.id, v.id);
      assert.equal(Buffer.from(d.signBytes).toString('utf8'), `fastpos/tx/v1\n${txSignJsonGeneric(d.tx)}`);
      assert.ok(verifySignature(v.tx.pubKey, d.signBytes, v.tx.signature), 'signature does not verify');
      assert.equal(v.tx.from, devAccount(0).address, 'the examples are signed by dev account 0');
      assert.equal(createSigner(devAccount(0).privateKey).sign(d.signBytes), v.tx.signature);
      // The wire form round-trips, and the size is the byte length of the canonical signed tx.
      assert.deepEqual(encodeTx(d.tx), v.tx);
      assert.equal(d.size, Buffer.byteLength(canonicalJson(v.tx), 'utf8'));
      if (v.signBytes !== undefined) assert.equal(Buffer.from(d.signBytes).toString('utf8'), v.signBytes);
      if (v.size !== undefined) assert.equal(d.size, v.size);
      if (v.evidenceId !== undefined) {
        assert.ok(d.tx.kind === 'validator_slash' && 'evidence' in d.tx.payload);
        const ev = d.tx.payload.evidence;
        assert.equal(evidenceId(ev), v.evidenceId);
        assert.equal(evidenceId({ a: ev.b, b: ev.a }), v.evidenceId, 'the id does not depend on the order');
        for (const m of [ev.a, ev.b]) {
          assert.ok(m.type === 'prevote' || m.type === 'precommit');
          const bytes = voteSignBytes({ type: m.type, chainId: m.chainId, height: m.height, round: m.round, validatorId: m.validatorId, blockHash: m.payload.blockHash as string | null });
          assert.ok(verifySignature(devValidatorById(m.validatorId).publicKey, bytes, m.signature), 'an evidence message signature does not verify');
        }
      }
    });
  }

  it('tx-transfer: the values of test/vectors/protocol.json', () => {
    const v = vector('tx-transfer');
    assert.equal(v.signBytes, UNIT_VECTORS.transfer.signBytes);
    assert.equal(v.id, UNIT_VECTORS.transfer.id);
    assert.equal(v.tx.signature, UNIT_VECTORS.transfer.signature);
  });
});

describe('docs/protocol.md: blocks, certificates and the validator network', () => {
  const genesis = defaultDevnetGenesis();

  it('tx-root: the RFC 6962 root of each list of ids', () => {
    const v = vector('tx-root');
    assert.ok(v.cases.some((c: Json) => c.ids.length === 2), 'a case with two txs');
    for (const c of v.cases) assert.equal(txRoot(c.ids), c.root, `root of ${c.ids.length} ids`);
  });

  it('block: decodes with its hash, matches its body and certificate, and is what executing block 1 gives', () => {
    const v = vector('block');
    const fb = decodeFinalizedBlock(v.block);
    assert.equal(bodyMismatch(fb.block), null);
    assert.equal(commitHash(fb.commit), v.commitHash);
    assert.equal(evidenceListHash([]), v.emptyEvidenceHash);
    assert.equal(fb.block.header.lastCommitHash, '0'.repeat(64));
    const state = WorldState.fromEntries(genesisEntries(genesis));
    const set = validatorSetForHeight(state, 1, genesis.params);
    assert.equal(verifyCommit({ chainId: genesis.chainId, set, commit: fb.commit, height: 1, blockHash: fb.hash }), set.totalPower);
    // Rebuild: the genesis state, the transfer of the tx-transfer vector, round 0, one second after the genesis time.
    const chain = new TestChain(genesis);
    const built = chain.build([decodeTx(vector('tx-transfer').tx)]);
    assert.equal(built.block.header.timestamp, genesis.genesisTime + 1000);
    assert.deepEqual(built.block.header, v.block.header);
    assert.equal(built.hash, v.block.hash);
    assert.deepEqual(built.results, v.block.results);
    assert.deepEqual(chain.certify(built.hash), v.block.commit);
  });

  it('vote: the precommit signing bytes and signature, as in the block certificate', () => {
    const p = vector('vote').precommit;
    const bytes = voteSignBytes({ type: p.type, chainId: p.chainId, height: p.height, round: p.round, validatorId: p.validatorId, blockHash: p.blockHash });
    assert.equal(bytes.toString('utf8'), p.signBytes);
    const key = devValidator(0);
    assert.equal(p.validatorId, key.address);
    assert.ok(verifySignature(key.publicKey, bytes, p.signature));
    assert.equal(createSigner(key.privateKey).sign(bytes), p.signature);
    const block = vector('block').block;
    assert.equal(p.blockHash, block.hash);
    assert.deepEqual(block.commit.signatures, [{ validatorId: p.validatorId, signature: p.signature }]);
  });

  it('validator-set: the set of epoch 0 of the default devnet and its hash', () => {
    const v = vector('validator-set');
    const set = validatorSetForHeight(WorldState.fromEntries(genesisEntries(genesis)), 1, genesis.params);
    assert.deepEqual(set.validators.map(entryJson), v.validators);
    assert.equal(set.totalPower.toString(), v.totalPower);
    assert.equal(set.hash, v.hash);
    const fromDoc = v.validators.map((e: Json): ValidatorEntry => ({ id: e.id, pubKey: e.pubKey, votingPower: BigInt(e.votingPower), proposerWeight: BigInt(e.proposerWeight) }));
    assert.equal(validatorSetFromEntries(fromDoc).hash, v.hash);
    assert.equal(vector('block').block.header.validatorSetHash, v.hash);
  });

  it('proposer: the proposers of height 1 with four equal dev validators', () => {
    const v = vector('proposer');
    const g4 = defaultDevnetGenesis({ validators: 4 });
    const set = validatorSetForHeight(WorldState.fromEntries(genesisEntries(g4)), v.height, g4.params);
    assert.equal(set.hash, v.setHash);
    assert.deepEqual(set.validators.map((e) => ({ id: e.id, proposerWeight: e.proposerWeight.toString() })), v.validators);
    v.proposers.forEach((id: string, round: number) => assert.equal(selectProposer(set, v.height, round).id, id, `round ${round}`));
  });

  it('envelope: decodes, its signing bytes are the vote signing bytes, its signature verifies', () => {
    const v = vector('envelope');
    const e = decodeEnvelope(v.envelope);
    const { signature, ...unsigned } = e;
    assert.equal(envelopeSignBytes(unsigned).toString('utf8'), v.signBytes);
    assert.ok(e.type === 'prevote' || e.type === 'precommit');
    const blockHash = decodeVotePayload(e);
    assert.equal(voteSignBytes({ type: e.type, chainId: e.chainId, height: e.height, round: e.round, validatorId: e.validatorId, blockHash }).toString('utf8'), v.signBytes);
    const key = devValidatorById(e.validatorId);
    assert.ok(verifySignature(key.publicKey, Buffer.from(v.signBytes, 'utf8'), signature));
    assert.equal(createSigner(key.privateKey).sign(Buffer.from(v.signBytes, 'utf8')), signature);
  });

  it('hello: decodes, its signing bytes, its node id and its signature by the node key', () => {
    const v = vector('hello');
    const h = decodeHello(v.hello);
    const { signature, ...unsigned } = h;
    assert.equal(helloSignBytes(unsigned).toString('utf8'), v.signBytes);
    assert.equal(publicKeyFromPrivate(v.nodeSeed), h.pubKey);
    assert.equal(addressFromPubKey(h.pubKey), h.nodeId);
    assert.ok(verifySignature(h.pubKey, helloSignBytes(unsigned), signature));
    assert.equal(createSigner(v.nodeSeed).sign(helloSignBytes(unsigned)), signature);
    assert.equal(h.genesisHash, genesisHash(genesis));
  });
});

describe('docs/protocol.md: genesis and state', () => {
  it('genesis: the built-in devnet genesis, its hash and the root of its state', () => {
    const v = vector('genesis');
    const g = decodeGenesis(v.genesis);
    assert.equal(genesisHash(g), v.hash);
    assert.deepEqual(encodeGenesis(g), v.genesis);
    assert.deepEqual(encodeGenesis(defaultDevnetGenesis()), v.genesis);
    assert.equal(WorldState.fromEntries(genesisEntries(g)).stateRoot, v.stateRoot);
    assert.equal(vector('block').block.header.prevHash, v.hash);
    assert.equal(vector('hello').hello.genesisHash, v.hash);
  });

  it('state-root: LtHash roots of the empty state and of small sets of entries', () => {
    const v = vector('state-root');
    assert.equal(new LtHash().digest(), v.empty);
    for (const c of v.cases) {
      const acc = new LtHash();
      for (const [key, json] of c.entries as [string, string][]) {
        // Each value is written as the state writes it.
        assert.equal(encodeStateValue(key, decodeStateValue(key, json)), json);
        acc.add(ltElement(key, json));
      }
      assert.equal(acc.digest(), c.stateRoot);
      assert.equal(WorldState.fromEntries((c.entries as [string, string][]).map(([k, j]) => [k, decodeStateValue(k, j)])).stateRoot, c.stateRoot);
    }
  });
});
