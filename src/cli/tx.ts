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
import { FastposClient, buildSignedTx, type SignedTx } from '../client/index.js';
import { MAX_UPGRADE_HEIGHT, UPGRADE_NAME_RE, decodeEvidence } from '../codec/tx.js';
import { devAccount } from '../crypto/keys.js';
import { isFastposError } from '../errors.js';
import { loadKeyFile } from '../node/keyFile.js';
import { TX_KINDS, type TxKind } from '../types/index.js';
import { addressArg, didYouMean, hex64Arg, HelpRequested, parseFlags, UsageError } from './args.js';
import { nodeUrl } from './env.js';
import { withNode } from './errors.js';
import { cmdQuery } from './query.js';
import { waitWithProgress } from './txWait.js';

/** Builds the error the CLI turns into "message + usage, exit 2". */
export type UsageErrorFactory = (message: string) => Error;

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

/** What each kind does, for its help. */
const KIND_TEXT: Record<TxKind, string> = {
  transfer: 'Sends an amount from the signer to another account.',
  validator_bond: 'Bonds self stake for the consensus key --pub-key: creates the validator (operated by the signer) or tops it up.',
  validator_unbond: "Unbonds self stake of the signer's validator; it is paid out after the unbonding period.",
  delegation_delegate: 'Delegates an amount of the signer to a validator.',
  delegation_undelegate: 'Undelegates an amount from a validator; it is paid out after the unbonding period.',
  validator_slash: 'Slashes a validator: by governance (--validator-id, --fraction-bps) or by double-sign evidence (--evidence FILE, anyone may send it).',
  validator_jail: 'Governance: jails a validator for a number of blocks.',
  validator_unjail: "Unjails the signer's validator once its jail time is over.",
  validator_set_work_weight: "Governance: sets a validator's work weight (basis points of the neutral weight).",
  product_attest: "An oracle attests a validator's work score for an epoch, with a reference to its proof.",
  product_challenge: 'Challenges a work proof by its id.',
  product_resolve_challenge: 'Governance: resolves a challenge (upheld or not).',
  product_settle: 'Pays a validator for work, with a reference unique per payer.',
  product_set_oracles: 'Governance: sets the oracle set (ADDR:STAKE pairs; empty for none).',
  upgrade_schedule: 'Governance: schedules a named rule change at a height (0 cancels it).',
};

const COMMON_FLAGS = `  --key-file FILE       the signer's key file
  --dev-account I       or one of the public dev accounts (devnet only)
  --fee N               the fee (default: the chain's minimum fee)
  --nonce N             the nonce (default: the account's pending nonce, read from the node)
  --node URL            the node (default FASTPOS_NODE, else http://127.0.0.1:26657)
  --dry-run             print the signed tx (the JSON POST /tx takes) and do not send it
  --chain-id ID         with --dry-run, --nonce and --fee: sign without asking the node
  --wait                wait for finality (progress on stderr) and verify the block's certificate
  --timeout-ms MS       how long --wait waits (default 30000)
  --trust-set E:HASH    the validator set (epoch:set hash) the certificate check starts from
  --verbose             show the stack trace of an error`;

export const TX_HELP = `Usage: fastpos tx <kind> <payload flags> (--key-file FILE | --dev-account I) [flags]
       fastpos tx show TXID        (the same as fastpos tx-status TXID)

Signs a tx of any kind and submits it to the node; prints its id and status as JSON.
With --wait it waits until the tx is finalized and checks the certificate of its
block; with --dry-run it prints the signed tx instead of sending it. Addresses and
ids take 40 (64) hex digits, with or without 0x, in any case. Kinds may be written
with - or _ (validator-bond). fastpos tx <kind> --help for one kind.

Kinds and their payload flags:
${TX_KINDS.map((k) => `  ${k.padEnd(26)} ${kindLine(k)}`).join('\n')}

Flags:
${COMMON_FLAGS}

Examples:
  fastpos tx transfer --dev-account 0 --to 0x5a3c…(40 hex) --amount 1000 --wait
  fastpos tx delegation_delegate --key-file me.json --validator-id 9250…(40 hex) --amount 500
  fastpos tx transfer --dev-account 0 --to 5a3c… --amount 1 --dry-run > tx.json`;

function kindHelp(kind: TxKind): string {
  const sample = kind === 'transfer' ? ' --to 0x' + 'ab'.repeat(20) + ' --amount 1000' : '';
  return `Usage: fastpos tx ${kind} ${kindLine(kind)} (--key-file FILE | --dev-account I) [flags]

${KIND_TEXT[kind]}

Flags:
${COMMON_FLAGS}

Examples:
  fastpos tx ${kind}${sample === '' ? ' ' + kindLine(kind).split('  |  ')[0] : sample} --key-file me.json --wait
  fastpos tx ${kind}${sample === '' ? ' …' : sample} --dev-account 0 --dry-run`;
}

const COMMON = {
  'dry-run': { type: 'boolean' },
  'chain-id': { type: 'string' },
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

/** Runs a check of args.ts, turning its UsageError into the caller's usage error. */
function asUsage<T>(fn: () => T, usageError: UsageErrorFactory): T {
  try {
    return fn();
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

function payloadValue(x: Field, raw: string, usageError: UsageErrorFactory): unknown {
  const flag = `--${flagOf(x.field)}`;
  const int = (min: number, max: number): number => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(raw) || Number(raw) < min || Number(raw) > max) throw usageError(`${flag} must be an integer from ${min} to ${max}, got "${raw}"`);
    return Number(raw);
  };
  switch (x.type) {
    case 'address':
      return asUsage(() => addressArg(raw, flag), usageError);
    case 'pubKey':
    case 'hex64':
      return asUsage(() => hex64Arg(raw, flag), usageError);
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
        const m = /^(?:0[xX])?([0-9a-fA-F]{40}):([1-9][0-9]{0,38})$/.exec(pair);
        if (m === null) throw usageError(`${flag} must be ADDR:STAKE pairs separated by commas (address 40 hex digits, with or without 0x; stake > 0); pair ${i + 1} is "${pair}"`);
        return { address: m[1]!.toLowerCase(), stake: BigInt(m[2]!) };
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
  const m = /^(0|[1-9][0-9]{0,14}):(?:0[xX])?([0-9a-fA-F]{64})$/.exec(v);
  if (m === null) throw usageError(`--trust-set must be EPOCH:SETHASH (an epoch number and 64 hex digits), got "${v}"`);
  return { epoch: Number(m[1]), setHash: m[2]!.toLowerCase() };
}


/** The kind named on the command line (`validator-bond` is `validator_bond`), with a did-you-mean for a typo. */
function kindOf(given: string): TxKind {
  const kind = given.replace(/-/g, '_');
  if ((TX_KINDS as readonly string[]).includes(kind)) return kind as TxKind;
  throw new UsageError(`unknown tx kind "${given}"${didYouMean(kind, TX_KINDS)}; the kinds: ${TX_KINDS.join(', ')}`, TX_HELP);
}

export async function cmdTx(args: string[]): Promise<void> {
  const [given, ...rest] = args;
  if (given === undefined) throw new UsageError('tx needs a kind (or show TXID)', TX_HELP);
  if (given === '--help' || given === '-h') throw new HelpRequested(TX_HELP);
  if (given === 'show') return cmdQuery('tx-status', rest);
  const k = kindOf(given);
  const help = kindHelp(k);
  const usageError: UsageErrorFactory = (message) => new UsageError(`tx ${k}: ${message}`, help);
  const options: Record<string, { type: 'string' | 'boolean' }> = { ...COMMON };
  for (const x of KIND_FIELDS[k]) options[flagOf(x.field)] = { type: 'string' };
  const { values } = parseFlags(rest, options, help);
  const payload = payloadFromFlags(k, values, usageError);
  const fee = values.fee as string | undefined;
  if (fee !== undefined && !/^(0|[1-9][0-9]{0,38})$/.test(fee)) throw usageError(`--fee must be a non-negative integer, got "${fee}"`);
  const nonce = uintFlag(values.nonce as string | undefined, 'nonce', usageError);
  const timeoutMs = uintFlag(values['timeout-ms'] as string | undefined, 'timeout-ms', usageError, 30_000)!;
  const trustedSet = parseTrustSet(values['trust-set'] as string | undefined, usageError);
  const chainId = values['chain-id'] as string | undefined;
  const dryRun = values['dry-run'] === true;
  if (chainId !== undefined && !dryRun) throw usageError('--chain-id is for --dry-run (a tx sent to a node takes the node\'s chain id)');
  if (dryRun && values.wait === true) throw usageError('--dry-run sends nothing, so there is nothing to --wait for');
  const keyFile = values['key-file'] as string | undefined;
  const dev = values['dev-account'] as string | undefined;
  if ((keyFile === undefined) === (dev === undefined)) throw usageError('give exactly one of --key-file FILE or --dev-account I');
  const seed = keyFile !== undefined ? loadKeyFile(keyFile).privateKey : devAccount(uintFlag(dev, 'dev-account', usageError)!).privateKey;
  const url = nodeUrl(values.node);
  const client = new FastposClient(url, trustedSet === undefined ? {} : { trustedSet });
  let signed: SignedTx;
  try {
    if (dryRun && nonce !== undefined && fee !== undefined && chainId !== undefined) {
      signed = buildSignedTx(seed, { chainId, kind: k, payload: payload as never, nonce, fee: BigInt(fee) });
    } else {
      const offline = dryRun ? '; or sign offline: --dry-run with --nonce N, --fee N and --chain-id ID' : '';
      signed = await withNode(url, () => client.buildTx(seed, k, payload as never, { ...(nonce === undefined ? {} : { nonce }), ...(fee === undefined ? {} : { fee: BigInt(fee) }) }), offline);
    }
  } catch (e) {
    // A payload the node would refuse at decoding: the flags were wrong.
    if (isFastposError(e) && ['INVALID_TX', 'INVALID_AMOUNT', 'INVALID_EVIDENCE'].includes(e.code)) throw usageError(e.message);
    throw e;
  }
  if (dryRun) {
    process.stdout.write(JSON.stringify(signed.tx, null, 2) + '\n');
    return;
  }
  const submitted = await withNode(url, () => client.submitWithRetry(signed.tx));
  if (values.wait !== true) {
    process.stdout.write(JSON.stringify({ id: signed.id, status: submitted.status, attempts: submitted.attempts }, null, 2) + '\n');
    return;
  }
  const c = await withNode(url, () => waitWithProgress({ client, id: signed.id, timeoutMs }));
  const certificate = { verified: true, height: c.height, epoch: c.epoch, blockHash: c.blockHash, signedPower: c.signedPower.toString(), totalPower: c.totalPower.toString(), setHash: c.setHash };
  process.stdout.write(JSON.stringify({ ...c.status, attempts: submitted.attempts, certificate }, null, 2) + '\n');
  if (!c.status.success) process.exitCode = 1;
}
