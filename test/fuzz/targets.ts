/**
 * Fuzz targets: one per decoder that reads network or file input. Each has an
 * arbitrary (mostly valid objects with real signatures, damaged at random
 * places, plus fully random values) and a property that checks the rules every
 * decoder keeps:
 *
 * - only a `FastposError` with one of the decoder's own codes may escape, whatever the input;
 * - an undamaged valid input decodes;
 * - what decodes re-encodes to the same bytes: the canonical JSON of the
 *   decoded value's wire form equals the canonical JSON of the input.
 *
 * Run with a fixed seed in CI (decoders.test.ts) and in long campaigns with
 * random seeds (`npm run fuzz`, cli.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import {
  decodeBlock,
  decodeCommit,
  decodeFinalizedBlock,
  decodeHeader,
  decodeSyncBlocks,
  decodeSyncStatus,
  encodeBlock,
  encodeFinalizedBlock,
  finalizedBlockJson,
} from '../../src/codec/block.js';
import { canonicalJson } from '../../src/codec/canonical.js';
import {
  decodeEnvelope,
  decodeFinalizePayload,
  decodeProposalPayload,
  decodeVotePayload,
  encodeFinalizePayload,
  encodeProposalPayload,
  envelopeSignBytes,
  type Envelope,
  type KnownTxLookup,
} from '../../src/codec/envelope.js';
import { decodeStateValue, encodeStateValue } from '../../src/codec/state.js';
import { decodeEvidence, decodeTx, encodeEvidence, encodeTx } from '../../src/codec/tx.js';
import { loadConfig, renderConfigYaml } from '../../src/config/config.js';
import { verifySignature } from '../../src/crypto/ed25519.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import { ErrorCode, FastposError } from '../../src/errors.js';
import { EVIDENCE_FILE, loadPendingEvidence } from '../../src/node/evidenceFile.js';
import { keyFileFor, loadKeyFile } from '../../src/node/keyFile.js';
import { GUARD_FILE, loadGuardState } from '../../src/node/signGuardFile.js';
import { DEFAULT_PARAMS, decodeGenesis, encodeGenesis } from '../../src/state/genesis.js';
import type { DecodedTx } from '../../src/types/index.js';
import { anyJson, applyMutation, applyTextMutation, clone, jsonText, mutated, mutatedText, mutation, textMutation, weirdString, type Case, type Json, type Mutation } from './json.js';
import {
  EXECUTABLE,
  REAL_CHAIN,
  VALIDATORS,
  anyEnvelope,
  blockWire,
  commitWire,
  configInput,
  evidenceWire,
  finalizeEnvelope,
  finalizedBlockWire,
  genesisWire,
  guardChecksum,
  guardFileText,
  guardState,
  keyFileText,
  pendingEvidenceText,
  proposalEnvelope,
  stateEntry,
  stateKey,
  syncBlocksWire,
  syncStatusWire,
  txOf,
  voteEnvelope,
  type ConfigInput,
} from './valid.js';

export interface FuzzTarget<T = unknown> {
  readonly name: string;
  /** What is fuzzed, in a few words. */
  readonly what: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws when a rule is broken. */
  readonly property: (input: T) => void;
  /** A known bug in a file the fuzzing does not fix: CI runs the target as a todo (shown, not failing the suite). */
  readonly knownIssue?: string;
}

const target = <T>(t: FuzzTarget<T>): FuzzTarget<unknown> => t as FuzzTarget<unknown>;

// ---------------------------------------------------------------- checks

type Outcome<R> = { ok: true; value: R } | { ok: false; error: FastposError };

/** How many decoder calls returned a value and how many refused their input (reset by the runner per target). */
export const outcomes = { decoded: 0, refused: 0 };

/** Runs a decoder: its value, or the FastposError it threw with one of `codes`; anything else is a failure. */
function decode<R>(codes: readonly ErrorCode[], f: () => R): Outcome<R> {
  try {
    const value = f();
    outcomes.decoded++;
    return { ok: true, value };
  } catch (e) {
    if (e instanceof FastposError) {
      outcomes.refused++;
      if (!codes.includes(e.code)) throw new Error(`the decoder threw FastposError ${e.code} (expected one of ${codes.join(', ')}): ${e.message.slice(0, 300)}`);
      return { ok: false, error: e };
    }
    const name = e instanceof Error ? e.constructor.name : typeof e;
    throw new Error(`a ${name} escaped the decoder: ${String(e instanceof Error ? e.message : e).slice(0, 300)}`, { cause: e });
  }
}

/** An undamaged valid input must decode. */
function mustDecodeValid<R>(c: Case<unknown>, r: Outcome<R>): r is { ok: true; value: R } {
  if (!c.mutated && !r.ok) throw new Error(`a valid input was refused: ${r.error.code} ${r.error.message.slice(0, 300)}`);
  return r.ok;
}

function sameJson(what: string, reencoded: unknown, input: unknown): void {
  const got = canonicalJson(reencoded);
  const want = canonicalJson(input);
  if (got !== want) throw new Error(`${what}: the decoded value re-encodes to other bytes\n  re-encoded: ${got.slice(0, 400)}\n  input:      ${want.slice(0, 400)}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A wire block as its decoder reads it: `lastCommit` absent means null and
 * `evidence` absent means none (blocks written before evidence existed).
 */
function withBlockDefaults(j: unknown): unknown {
  if (!isObj(j)) return j;
  return { ...j, lastCommit: j.lastCommit === undefined ? null : j.lastCommit, evidence: j.evidence === undefined ? [] : j.evidence };
}

// ---------------------------------------------------------------- damage under a path

/** Mutations applied below `path` only (e.g. an envelope's payload): the outer fields stay valid. */
function mutatedUnder(valid: fc.Arbitrary<Json>, path: readonly string[]): fc.Arbitrary<Case<Json>> {
  return fc
    .tuple(valid, fc.oneof({ weight: 1, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 4, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }) }))
    .map(([v, ms]): Case<Json> => {
      const root = clone(v);
      let parent = root as Record<string, Json>;
      for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, Json>;
      const last = path[path.length - 1]!;
      let sub: Json = parent[last] ?? null;
      for (const m of ms) sub = applyMutation(sub, m);
      parent[last] = sub;
      return { value: root, mutated: ms.length > 0 };
    });
}

// ---------------------------------------------------------------- held txs (proposal / finalize reuse)

const REAL_TXS = new Map<string, DecodedTx>(REAL_CHAIN.flatMap((fb) => fb.block.txs.map((d) => [d.tx.signature, d] as const)));
const ONE_TX = REAL_CHAIN[0]!.block.txs[0]!;
/** No lookup; the txs of the real chain; or a lookup that answers a wrong tx for every signature. */
const knownLookup = fc.constantFrom<(KnownTxLookup | undefined)[]>(undefined, (sig) => REAL_TXS.get(sig), () => ONE_TX);

// ---------------------------------------------------------------- files

let scratch: string | undefined;
/** A scratch folder for file decoders (removed by `removeScratch`). */
function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'fastpos-fuzz-'));
  return scratch;
}
export function removeScratch(): void {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}
const silent = pino({ level: 'silent' });

/** Damaged JSON documents as file text: JSON-level damage written out, or text-level damage. */
function fileText(validJson: fc.Arbitrary<Json>, validText: fc.Arbitrary<string>): fc.Arbitrary<Case<string>> {
  return fc.oneof(
    mutated(validJson).map((c): Case<string> => ({ value: jsonText(c.value), mutated: c.mutated })),
    mutatedText(validText),
  );
}

// ---------------------------------------------------------------- the targets

const TX_CODES = [ErrorCode.INVALID_TX, ErrorCode.INVALID_AMOUNT, ErrorCode.UNSUPPORTED_TX_KIND, ErrorCode.SENDER_MISMATCH, ErrorCode.INVALID_EVIDENCE];
const BLOCK_CODES = [ErrorCode.INVALID_BLOCK, ErrorCode.INVALID_COMMIT, ...TX_CODES];
const MESSAGE_CODES = [ErrorCode.INVALID_MESSAGE];

function txTarget(kind: (typeof EXECUTABLE)[number]): FuzzTarget<unknown> {
  return target<Case>({
    name: `tx/${kind}`,
    what: `decodeTx: ${kind} txs signed by dev accounts, damaged`,
    arbitrary: mutated(txOf(kind)),
    property: (c) => {
      const r = decode(TX_CODES, () => decodeTx(c.value));
      if (!mustDecodeValid(c, r)) return;
      sameJson('tx', encodeTx(r.value.tx), c.value);
      if (r.value.json !== canonicalJson(c.value)) throw new Error('DecodedTx.json is not the canonical JSON of the input');
      if (r.value.id !== sha256Hex(Buffer.from(r.value.signBytes))) throw new Error('the tx id is not the hash of its signing bytes');
      if (!c.mutated && !verifySignature(r.value.tx.pubKey, r.value.signBytes, r.value.tx.signature)) throw new Error('the signature of a valid tx does not verify on its signing bytes');
    },
  });
}

const envelopeProperty = (known: KnownTxLookup | undefined, c: Case): void => {
  const r = decode(MESSAGE_CODES, () => {
    const e = decodeEnvelope(c.value);
    if (e.type === 'prevote' || e.type === 'precommit') decodeVotePayload(e);
    else if (e.type === 'proposal') decodeProposalPayload(e, known);
    else decodeFinalizePayload(e, known);
    // What the node does next with an envelope that decodes: check its signature over these bytes.
    return { e, bytes: envelopeSignBytes(e) };
  });
  if (!mustDecodeValid(c, r)) return;
  sameJson('envelope', r.value.e, c.value);
  if (!c.mutated) {
    const key = VALIDATORS.find((v) => v.address === r.value.e.validatorId)!;
    if (!verifySignature(key.publicKey, r.value.bytes, r.value.e.signature)) throw new Error('the signature of a valid envelope does not verify on its signing bytes');
  }
};

/** Decodes the envelope around a payload (its outer fields are valid unless damaged), then the payload. */
function payloadTarget<R>(p: {
  name: string;
  what: string;
  valid: fc.Arbitrary<Json>;
  decodePayload: (e: Envelope, known: KnownTxLookup | undefined) => R;
  encodePayload: (r: R) => unknown;
  normalize?: (payload: unknown) => unknown;
}): FuzzTarget<unknown> {
  return target<[Case, KnownTxLookup | undefined]>({
    name: p.name,
    what: p.what,
    arbitrary: fc.tuple(mutatedUnder(p.valid, ['payload']), knownLookup),
    property: ([c, known]) => {
      const r = decode(MESSAGE_CODES, () => {
        const e = decodeEnvelope(c.value);
        const decoded = p.decodePayload(e, known);
        return { e, decoded, bytes: envelopeSignBytes(e) };
      });
      if (!mustDecodeValid(c, r)) return;
      const payload = (c.value as Record<string, unknown>).payload;
      sameJson('payload', p.encodePayload(r.value.decoded), p.normalize === undefined ? payload : p.normalize(payload));
    },
  });
}

function finalizeNormalize(payload: unknown): unknown {
  return isObj(payload) ? { ...payload, block: withBlockDefaults(payload.block) } : payload;
}

function proposalNormalize(payload: unknown): unknown {
  if (!isObj(payload) || !isObj(payload.block)) return payload;
  const b = payload.block;
  return { ...payload, block: { ...b, lastCommit: b.lastCommit === undefined ? null : b.lastCommit, evidence: b.evidence === undefined ? [] : b.evidence } };
}

const stateCase: fc.Arbitrary<Case<[string, string]>> = fc.oneof(
  // a valid entry, its JSON damaged
  fc
    .tuple(stateEntry, fc.oneof({ weight: 1, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) }))
    .map(([[key, text], ms]): Case<[string, string]> => {
      let v = JSON.parse(text) as Json;
      for (const m of ms) v = applyMutation(v, m);
      return { value: [key, ms.length === 0 ? text : jsonText(v)], mutated: ms.length > 0 };
    }),
  // a valid entry, its text damaged
  fc.tuple(stateEntry, fc.array(textMutation, { minLength: 1, maxLength: 2 })).map(([[key, text], ms]): Case<[string, string]> => ({ value: [key, ms.reduce(applyTextMutation, text)], mutated: true })),
  // a value under another key
  fc.tuple(stateKey, stateEntry).map(([key, [, text]]): Case<[string, string]> => ({ value: [key, text], mutated: true })),
  fc.tuple(stateKey, anyJson).map(([key, v]): Case<[string, string]> => ({ value: [key, jsonText(v)], mutated: true })),
);

// config: damage to flags, environment and file
const configCase: fc.Arbitrary<Case<ConfigInput & { explicit: boolean }>> = fc
  .tuple(
    configInput,
    fc.boolean(),
    fc.array(fc.tuple(fc.nat({ max: 5 }), fc.nat(), fc.oneof(weirdString, fc.constantFrom('--', '-', '--config', '--no-metrics', '--port', '--port=', '--no-port', '--data-dir', '--dev-signing', 'true', 'false', '--bogus', '--mempool-max-txs=1e3', '--host=', '-p', 'FASTPOS_PORT', 'FASTPOS_', 'FASTPOS_NOPE'))), { maxLength: 3 }),
    fc.array(textMutation, { maxLength: 2 }),
  )
  .map(([input, explicit, edits, textEdits]) => {
    const argv = [...input.argv];
    const env = { ...input.env };
    for (const [op, n, s] of edits) {
      const envKeys = Object.keys(env);
      if (op === 0) argv.splice(n % (argv.length + 1), 0, s);
      else if (op === 1 && argv.length > 0) argv.splice(n % argv.length, 1);
      else if (op === 2 && argv.length > 0) argv[n % argv.length] = s;
      else if (op === 3) env[s.startsWith('FASTPOS_') ? s : `FASTPOS_${s}`] = s;
      else if (op === 4 && envKeys.length > 0) env[envKeys[n % envKeys.length]!] = s;
      else argv.push(s);
    }
    const file = input.file === undefined ? (textEdits.length > 0 ? textEdits.reduce(applyTextMutation, '') : undefined) : textEdits.reduce(applyTextMutation, input.file);
    return { value: { argv, env, file, explicit: explicit && file !== undefined }, mutated: edits.length > 0 || textEdits.length > 0 };
  });

const CONFIG_DIR = '/fuzz';
const CONFIG_PATH = '/fuzz/config.yaml';

export const TARGETS: readonly FuzzTarget<unknown>[] = [
  ...EXECUTABLE.map(txTarget),

  target<Case>({
    name: 'evidence',
    what: 'decodeEvidence: double signs of the dev validators (votes and proposals), damaged',
    arbitrary: mutated(evidenceWire),
    property: (c) => {
      const r = decode([ErrorCode.INVALID_EVIDENCE], () => decodeEvidence(c.value));
      if (!mustDecodeValid(c, r)) return;
      sameJson('evidence', encodeEvidence(r.value), c.value);
    },
  }),

  target<[Case, KnownTxLookup | undefined]>({
    name: 'envelope',
    what: 'decodeEnvelope, its payload decoder and its signing bytes: signed votes, proposals and finalizes, damaged anywhere',
    arbitrary: fc.tuple(mutated(anyEnvelope), knownLookup),
    property: ([c, known]) => envelopeProperty(known, c),
  }),

  payloadTarget({
    name: 'payload/vote',
    what: 'decodeVotePayload: prevote and precommit payloads, damaged',
    valid: voteEnvelope,
    decodePayload: (e) => decodeVotePayload(e),
    encodePayload: (h) => ({ blockHash: h }),
  }),

  payloadTarget({
    name: 'payload/proposal',
    what: 'decodeProposalPayload: proposals of synthetic and real blocks (fresh and re-proposed), damaged',
    valid: proposalEnvelope,
    decodePayload: (e, known) => decodeProposalPayload(e, known),
    encodePayload: (p) => encodeProposalPayload(p.block, p.blockHash, p.validRound),
    normalize: proposalNormalize,
  }),

  payloadTarget({
    name: 'payload/finalize',
    what: 'decodeFinalizePayload: finalized blocks with their certificates, damaged',
    valid: finalizeEnvelope,
    decodePayload: (e, known) => decodeFinalizePayload(e, known),
    encodePayload: (fb) => encodeFinalizePayload(fb),
    normalize: finalizeNormalize,
  }),

  target<Case>({
    name: 'block',
    what: 'decodeBlock: block bodies (the locked block of the double-sign guard), damaged',
    arbitrary: mutated(blockWire),
    property: (c) => {
      const r = decode(BLOCK_CODES, () => decodeBlock(c.value));
      if (!mustDecodeValid(c, r)) return;
      sameJson('block', encodeBlock(r.value), withBlockDefaults(c.value));
    },
  }),

  target<[Case, KnownTxLookup | undefined]>({
    name: 'finalizedBlock',
    what: 'decodeFinalizedBlock: stored, served and synced blocks with certificates, damaged',
    arbitrary: fc.tuple(mutated(finalizedBlockWire), knownLookup),
    property: ([c, known]) => {
      const r = decode(BLOCK_CODES, () => decodeFinalizedBlock(c.value, known));
      if (!mustDecodeValid(c, r)) return;
      sameJson('finalized block', JSON.parse(finalizedBlockJson(r.value)), withBlockDefaults(c.value));
      sameJson('finalized block', encodeFinalizedBlock(r.value), withBlockDefaults(c.value));
    },
  }),

  target<Case>({
    name: 'header',
    what: 'decodeHeader: block headers, damaged',
    arbitrary: mutated(finalizedBlockWire.map((b) => (b as { header: Json }).header)),
    property: (c) => {
      const r = decode([ErrorCode.INVALID_BLOCK], () => decodeHeader(c.value));
      if (!mustDecodeValid(c, r)) return;
      sameJson('header', r.value, c.value);
    },
  }),

  target<Case>({
    name: 'commit',
    what: 'decodeCommit: commit certificates with real precommit signatures, damaged',
    arbitrary: mutated(commitWire),
    property: (c) => {
      const r = decode([ErrorCode.INVALID_COMMIT], () => decodeCommit(c.value));
      if (!mustDecodeValid(c, r)) return;
      sameJson('commit', r.value, c.value);
    },
  }),

  target<Case>({
    name: 'sync/blocks',
    what: 'decodeSyncBlocks: /sync/blocks answers (arrays of finalized blocks), damaged',
    arbitrary: mutated(syncBlocksWire),
    property: (c) => {
      const r = decode(BLOCK_CODES, () => decodeSyncBlocks(c.value));
      if (!mustDecodeValid(c, r)) return;
      sameJson('sync blocks', r.value.map((fb) => encodeFinalizedBlock(fb)), Array.isArray(c.value) ? c.value.map(withBlockDefaults) : c.value);
    },
  }),

  target<Case>({
    name: 'sync/status',
    what: 'decodeSyncStatus: /sync/status answers, damaged',
    arbitrary: mutated(syncStatusWire),
    property: (c) => {
      const r = decode([ErrorCode.INVALID_MESSAGE], () => decodeSyncStatus(c.value));
      if (!mustDecodeValid(c, r)) return;
      // A peer that does not say where its kept blocks begin keeps them all.
      const wire = c.value as Record<string, unknown>;
      sameJson('sync status', r.value, { ...wire, earliestBlockHeight: wire.earliestBlockHeight ?? 1 });
    },
  }),

  target<Case<[string, string]>>({
    name: 'stateValue',
    what: 'decodeStateValue: stored state entries of every key kind, damaged as JSON and as text, under wrong keys',
    arbitrary: stateCase,
    property: (c) => {
      const [key, text] = c.value;
      const r = decode([ErrorCode.CORRUPT_DATA], () => decodeStateValue(key, text));
      if (!mustDecodeValid(c, r)) return;
      const reencoded = encodeStateValue(key, r.value);
      if (reencoded !== canonicalJson(JSON.parse(text))) throw new Error(`state value re-encodes to other bytes\n  re-encoded: ${reencoded.slice(0, 400)}\n  input:      ${text.slice(0, 400)}`);
    },
  }),

  target<Case>({
    name: 'genesis',
    what: 'decodeGenesis: devnet and random genesis documents, damaged',
    arbitrary: mutated(genesisWire),
    property: (c) => {
      const r = decode([ErrorCode.INVALID_GENESIS], () => decodeGenesis(c.value));
      if (!mustDecodeValid(c, r)) return;
      const wire = encodeGenesis(r.value);
      // Absent parameters and work weights take their defaults; a document that gives them all re-encodes to itself.
      const v = c.value as Record<string, unknown>;
      const params = v.params as Record<string, unknown> | undefined;
      const full = params !== undefined && Object.keys(DEFAULT_PARAMS).every((k) => k in params) && (v.validators as Record<string, unknown>[]).every((x) => 'workWeight' in x);
      if (full) sameJson('genesis', wire, c.value);
      const again = decode([ErrorCode.INVALID_GENESIS], () => decodeGenesis(JSON.parse(canonicalJson(wire))));
      if (!again.ok) throw new Error(`an encoded genesis does not decode: ${again.error.message}`);
      sameJson('genesis (decoded twice)', encodeGenesis(again.value), wire);
    },
  }),

  target<Case<ConfigInput & { explicit: boolean }>>({
    name: 'config',
    what: 'loadConfig: flags, FASTPOS_* variables and config.yaml (rendered by the node or by a YAML library), damaged',
    arbitrary: configCase,
    property: (c) => {
      const { argv, env, file, explicit } = c.value;
      const readFile = (p: string): string | undefined => (file !== undefined && p.endsWith('config.yaml') ? file : undefined);
      const r = decode([ErrorCode.INVALID_CONFIG], () => loadConfig({ argv, env, readFile, cwd: CONFIG_DIR, ...(explicit ? { configFile: CONFIG_PATH } : {}) }));
      if (!mustDecodeValid(c, r)) return;
      // The config written back as config.yaml loads to the same config.
      const rendered = renderConfigYaml(r.value.config);
      const again = decode([ErrorCode.INVALID_CONFIG], () => loadConfig({ argv: [], env: {}, configFile: CONFIG_PATH, readFile: () => rendered, cwd: CONFIG_DIR }));
      if (!again.ok) throw new Error(`the rendered config does not load: ${again.error.message}`);
      sameJson('config', again.value.config, r.value.config);
    },
  }),

  target<Case<string>>({
    name: 'file/keyFile',
    what: 'loadKeyFile: key files as written by `fastpos keys generate`, damaged as JSON and as text, random bytes',
    arbitrary: fileText(keyFileText.map((t) => JSON.parse(t) as Json), keyFileText),
    property: (c) => {
      const path = join(scratchDir(), 'key.json');
      writeFileSync(path, c.value);
      const r = decode([ErrorCode.INVALID_CONFIG], () => loadKeyFile(path));
      if (!mustDecodeValid(c, r)) return;
      sameJson('key file', r.value, keyFileFor(r.value.privateKey));
      const j = JSON.parse(c.value) as Record<string, unknown>;
      if (Object.keys(j).length === 4) sameJson('key file', r.value, j);
    },
  }),

  target<Case<string>>({
    name: 'file/pendingEvidence',
    what: 'loadPendingEvidence: pending_evidence.json, damaged as JSON and as text, random bytes',
    arbitrary: fileText(pendingEvidenceText.map((t) => JSON.parse(t) as Json), pendingEvidenceText),
    property: (c) => {
      const dir = scratchDir();
      writeFileSync(join(dir, EVIDENCE_FILE), c.value);
      const r = decode([], () => loadPendingEvidence(dir, silent));
      if (!r.ok) return;
      let items: unknown[] = [];
      try {
        const j = JSON.parse(c.value) as { evidence?: unknown };
        if (Array.isArray(j?.evidence)) items = j.evidence;
      } catch {
        // not JSON: nothing may load
      }
      const inFile = new Set(items.map((x) => { try { return canonicalJson(x); } catch { return ''; } }));
      for (const e of r.value) if (!inFile.has(canonicalJson(encodeEvidence(e)))) throw new Error('loaded evidence that is not an item of the file');
      if (!c.mutated && r.value.length !== items.length) throw new Error(`a valid file loaded ${r.value.length} of ${items.length} items`);
    },
  }),

  target<Case<string>>({
    name: 'file/signGuard',
    what: 'loadGuardState: priv_validator_state.json with valid checksums over damaged states, damaged text, random bytes',
    arbitrary: fc.oneof(
      mutated(guardState).map((c): Case<string> => ({ value: jsonText({ state: c.value, checksum: guardChecksumSafe(c.value) }), mutated: c.mutated })),
      fileText(guardFileText.map((t) => JSON.parse(t) as Json), guardFileText),
    ),
    property: (c) => {
      const dir = join(scratchDir(), 'guard');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, GUARD_FILE), c.value);
      const r = decode([ErrorCode.CORRUPT_DATA], () => loadGuardState(dir));
      if (!mustDecodeValid(c, r)) return;
      sameJson('guard state', r.value, (JSON.parse(c.value) as { state: unknown }).state);
    },
  }),
];

function guardChecksumSafe(state: unknown): string {
  try {
    return guardChecksum(state);
  } catch {
    return '0'.repeat(64);
  }
}
