/**
 * `fastpos tx <kind>`: builds, signs and submits a tx of any kind through the
 * typed client (idempotent retries); with `--wait`, waits for finality and
 * verifies the certificate of the block the tx landed in. Payload flags are
 * the payload's fields in kebab case (`validatorId` → `--validator-id`). Bad
 * flags end with a message naming them (exit 2); a tx that failed, was
 * dropped, or whose block does not verify, with exit 1.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ClientError, FastposClient, type SendResult } from '../client/index.js';
import { MAX_UPGRADE_HEIGHT, UPGRADE_NAME_RE, decodeEvidence } from '../codec/tx.js';
import { devAccount } from '../crypto/keys.js';
import { isFastposError } from '../errors.js';
import { loadKeyFile } from '../node/keyFile.js';
import { TX_KINDS, type TxKind } from '../types/index.js';
import type { UsageErrorFactory } from './testnet.js';

type FieldType = 'address' | 'pubKey' | 'hex64' | 'amount' | 'bps' | 'workWeight' | 'epoch' | 'jailBlocks' | 'bool' | 'proofRef' | 'reference' | 'evidence' | 'oracles' | 'upgradeName' | 'upgradeHeight';

interface Field {
  /** The payload field. */
  readonly field: string;
  readonly type: FieldType;
  /** Only in one form of validator_slash. */
  readonly optional?: boolean;
}

const f = (field: string, type: FieldType, optional = false): Field => ({ field, type, optional });

/** Every kind's payload fields, in the order of docs/api.md's table. */
const KIND_FIELDS: Record<TxKind, readonly Field[]> = {
  transfer: [f('to', 'address'), f('amount', 'amount')],
  validator_bond: [f('pubKey', 'pubKey'), f('amount', 'amount')],
  validator_unbond: [f('validatorId', 'address'), f('amount', 'amount')],
  delegation_delegate: [f('validatorId', 'address'), f('amount', 'amount')],
  delegation_undelegate: [f('validatorId', 'address'), f('amount', 'amount')],
  validator_slash: [f('validatorId', 'address', true), f('fractionBps', 'bps', true), f('evidence', 'evidence', true)],
  validator_jail: [f('validatorId', 'address'), f('jailBlocks', 'jailBlocks')],
  validator_unjail: [f('validatorId', 'address')],
  validator_set_work_weight: [f('validatorId', 'address'), f('workWeight', 'workWeight')],
  product_attest: [f('validatorId', 'address'), f('epoch', 'epoch'), f('score', 'workWeight'), f('proofRef', 'proofRef')],
  product_challenge: [f('proofId', 'hex64')],
  product_resolve_challenge: [f('challengeId', 'hex64'), f('upheld', 'bool')],
  product_settle: [f('validatorId', 'address'), f('amount', 'amount'), f('reference', 'reference')],
  product_set_oracles: [f('oracles', 'oracles')],
  upgrade_schedule: [f('name', 'upgradeName'), f('height', 'upgradeHeight')],
};

const PLACEHOLDER: Record<FieldType, string> = {
  address: 'ADDR',
  pubKey: 'HEX64',
  hex64: 'HEX64',
  amount: 'N',
  bps: '1-10000',
  workWeight: '0-1000000',
  epoch: 'N',
  jailBlocks: 'N',
  bool: 'true|false',
  proofRef: 'REF',
  reference: 'REF',
  evidence: 'FILE',
  oracles: 'ADDR:STAKE,...',
  upgradeName: 'NAME',
  upgradeHeight: 'H|0',
};

/** `validatorId` → `validator-id`. */
export const flagOf = (field: string): string => field.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function kindLine(kind: TxKind): string {
  if (kind === 'validator_slash') return '--validator-id ADDR --fraction-bps 1-10000  |  --evidence FILE (JSON {"a", "b"})';
  return KIND_FIELDS[kind].map((x) => `--${flagOf(x.field)} ${PLACEHOLDER[x.type]}`).join(' ');
}

export const TX_USAGE = [
  '  fastpos tx <kind> <payload flags> (--key-file FILE | --dev-account I) [--fee N] [--nonce N]',
  '             [--node URL] [--wait] [--timeout-ms MS] [--trust-set EPOCH:SETHASH]',
  ...TX_KINDS.map((k) => `    ${k.padEnd(26)} ${kindLine(k)}`),
].join('\n');

const COMMON = {
  fee: { type: 'string' },
  nonce: { type: 'string' },
  'key-file': { type: 'string' },
  'dev-account': { type: 'string' },
  node: { type: 'string' },
  wait: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  'trust-set': { type: 'string' },
} as const;

const AMOUNT_RE = /^[1-9][0-9]{0,38}$/;

function payloadValue(x: Field, raw: string, usageError: UsageErrorFactory): unknown {
  const flag = `--${flagOf(x.field)}`;
  const int = (min: number, max: number): number => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(raw) || Number(raw) < min || Number(raw) > max) throw usageError(`${flag} must be an integer from ${min} to ${max}, got "${raw}"`);
    return Number(raw);
  };
  switch (x.type) {
    case 'address':
      if (!/^[0-9a-f]{40}$/.test(raw)) throw usageError(`${flag} must be an address: 40 lowercase hex characters, got "${raw}"`);
      return raw;
    case 'pubKey':
    case 'hex64':
      if (!/^[0-9a-f]{64}$/.test(raw)) throw usageError(`${flag} must be 64 lowercase hex characters, got "${raw}"`);
      return raw;
    case 'amount':
      if (!AMOUNT_RE.test(raw)) throw usageError(`${flag} must be a positive integer (at most 39 digits, no leading zero), got "${raw}"`);
      return BigInt(raw);
    case 'bps':
      return int(1, 10_000);
    case 'workWeight':
      return int(0, 1_000_000);
    case 'epoch':
      return int(0, 1_000_000_000_000);
    case 'jailBlocks':
      return int(1, 1_000_000_000_000);
    case 'bool':
      if (raw !== 'true' && raw !== 'false') throw usageError(`${flag} must be true or false, got "${raw}"`);
      return raw === 'true';
    case 'proofRef':
      if (!/^[\x21-\x7e]{1,256}$/.test(raw)) throw usageError(`${flag} must be 1 to 256 printable ASCII characters`);
      return raw;
    case 'reference':
      if (!/^[\x21-\x7e]{1,128}$/.test(raw)) throw usageError(`${flag} must be 1 to 128 printable ASCII characters`);
      return raw;
    case 'oracles': {
      // ADDR:STAKE pairs, comma-separated; an empty value is the empty set.
      if (raw === '') return [];
      return raw.split(',').map((pair, i) => {
        const m = /^([0-9a-f]{40}):([1-9][0-9]{0,38})$/.exec(pair);
        if (m === null) throw usageError(`${flag} must be ADDR:STAKE pairs separated by commas (address 40 lowercase hex, stake > 0); pair ${i + 1} is "${pair}"`);
        return { address: m[1]!, stake: BigInt(m[2]!) };
      });
    }
    case 'upgradeName':
      if (!UPGRADE_NAME_RE.test(raw)) throw usageError(`${flag} must be 1 to 64 of lowercase letters, digits and "-", starting with a letter or digit, got "${raw}"`);
      return raw;
    case 'upgradeHeight':
      return int(0, MAX_UPGRADE_HEIGHT);
    case 'evidence': {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(raw, 'utf8'));
      } catch (e) {
        throw usageError(`${flag}: cannot read JSON evidence from ${raw}: ${(e as Error).message}`);
      }
      try {
        return decodeEvidence(json, 'evidence');
      } catch (e) {
        throw usageError(`${flag}: ${(e as Error).message}`);
      }
    }
  }
}

/** The payload of `kind` from its flags; every missing or malformed flag is named. */
export function payloadFromFlags(kind: TxKind, values: Record<string, unknown>, usageError: UsageErrorFactory): Record<string, unknown> {
  const fields = KIND_FIELDS[kind];
  const given = fields.filter((x) => values[flagOf(x.field)] !== undefined);
  if (kind === 'validator_slash') {
    const evidence = given.some((x) => x.field === 'evidence');
    if (evidence && given.length > 1) throw usageError('validator_slash takes either --evidence FILE or --validator-id with --fraction-bps, not both');
    const needed = evidence ? ['evidence'] : ['validatorId', 'fractionBps'];
    const missing = needed.filter((n) => !given.some((x) => x.field === n));
    if (missing.length > 0) throw usageError(`validator_slash needs ${missing.map((m) => `--${flagOf(m)}`).join(' and ')} (or --evidence FILE)`);
  } else {
    const missing = fields.filter((x) => !x.optional && values[flagOf(x.field)] === undefined);
    if (missing.length > 0) throw usageError(`${kind} needs ${missing.map((x) => `--${flagOf(x.field)}`).join(', ')}`);
  }
  const payload: Record<string, unknown> = {};
  for (const x of given) payload[x.field] = payloadValue(x, values[flagOf(x.field)] as string, usageError);
  return payload;
}

function uintFlag(v: string | undefined, name: string, usageError: UsageErrorFactory, def?: number): number | undefined {
  if (v === undefined) return def;
  if (!/^(0|[1-9][0-9]{0,14})$/.test(v)) throw usageError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

function parseTrustSet(v: string | undefined, usageError: UsageErrorFactory): { epoch: number; setHash: string } | undefined {
  if (v === undefined) return undefined;
  const m = /^(0|[1-9][0-9]{0,14}):([0-9a-f]{64})$/.exec(v);
  if (m === null) throw usageError(`--trust-set must be EPOCH:SETHASH (an epoch number and 64 lowercase hex), got "${v}"`);
  return { epoch: Number(m[1]), setHash: m[2]! };
}

export async function cmdTx(args: string[], usageError: UsageErrorFactory): Promise<void> {
  const [given, ...rest] = args;
  // upgrade-schedule is upgrade_schedule.
  const kind = given?.replace(/-/g, '_');
  if (kind === undefined || !(TX_KINDS as readonly string[]).includes(kind)) {
    throw usageError(`${kind === undefined ? 'tx needs a kind' : `unknown tx kind "${kind}"`}: one of ${TX_KINDS.join(', ')}`);
  }
  const k = kind as TxKind;
  const options: Record<string, { type: 'string' | 'boolean' }> = { ...COMMON };
  for (const x of KIND_FIELDS[k]) options[flagOf(x.field)] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    throw usageError(`tx ${k}: ${(e as Error).message}`);
  }
  const payload = payloadFromFlags(k, values, usageError);
  const fee = values.fee as string | undefined;
  if (fee !== undefined && !/^(0|[1-9][0-9]{0,38})$/.test(fee)) throw usageError(`--fee must be a non-negative integer, got "${fee}"`);
  const nonce = uintFlag(values.nonce as string | undefined, 'nonce', usageError);
  const timeoutMs = uintFlag(values['timeout-ms'] as string | undefined, 'timeout-ms', usageError, 30_000)!;
  const trustedSet = parseTrustSet(values['trust-set'] as string | undefined, usageError);
  const keyFile = values['key-file'] as string | undefined;
  const dev = values['dev-account'] as string | undefined;
  if ((keyFile === undefined) === (dev === undefined)) throw usageError('give exactly one of --key-file FILE or --dev-account I');
  const seed = keyFile !== undefined ? loadKeyFile(keyFile).privateKey : devAccount(uintFlag(dev, 'dev-account', usageError)!).privateKey;
  const client = new FastposClient((values.node as string | undefined) ?? process.env.FASTPOS_NODE ?? 'http://127.0.0.1:26657', trustedSet === undefined ? {} : { trustedSet });
  let res: SendResult;
  try {
    res = await client.send(seed, k, payload as never, {
      ...(nonce === undefined ? {} : { nonce }),
      ...(fee === undefined ? {} : { fee: BigInt(fee) }),
      ...(values.wait === true ? { wait: { timeoutMs } } : {}),
    });
  } catch (e) {
    // A payload the node would refuse at decoding: the flags were wrong.
    if (isFastposError(e) && ['INVALID_TX', 'INVALID_AMOUNT', 'INVALID_EVIDENCE'].includes(e.code)) throw usageError(`tx ${k}: ${e.message}`);
    if (e instanceof ClientError) {
      process.stderr.write(`fastpos: ${e.code}: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
  const c = res.confirmation;
  if (c === undefined) {
    process.stdout.write(JSON.stringify({ id: res.id, status: res.submitted.status, attempts: res.submitted.attempts }, null, 2) + '\n');
    return;
  }
  const certificate = { verified: true, height: c.height, epoch: c.epoch, blockHash: c.blockHash, signedPower: c.signedPower.toString(), totalPower: c.totalPower.toString(), setHash: c.setHash };
  process.stdout.write(JSON.stringify({ ...c.status, attempts: res.submitted.attempts, certificate }, null, 2) + '\n');
  if (!c.status.success) process.exitCode = 1;
}
