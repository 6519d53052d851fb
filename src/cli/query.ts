/**
 * The query commands: `fastpos status|account|block|tx-status|validators|
 * delegations|evidence`, against a running node (`--node URL`, else
 * `FASTPOS_NODE`, else http://127.0.0.1:26657). Readable text by default;
 * `--json` prints the node's JSON answer as it came (pretty-printed), for
 * scripts.
 * @module
 */
import { ApiError, FastposClient } from '../client/index.js';
import { decodeTx } from '../codec/tx.js';
import { addressArg, hex64Arg, parseFlags, UsageError, type FlagOptions } from './args.js';
import { nodeUrl } from './env.js';
import { withNode } from './errors.js';
import { amount, keyValues, table, time } from './format.js';
import {
  ACCOUNT_HELP,
  BLOCK_HELP,
  DELEGATIONS_HELP,
  EVIDENCE_HELP,
  STATUS_HELP,
  TX_STATUS_HELP,
  VALIDATORS_HELP,
} from './help.js';

type Json = Record<string, unknown>;

const QUERY_OPTIONS = { node: { type: 'string' }, json: { type: 'boolean' } } as const;

interface Query {
  readonly help: string;
  readonly options?: FlagOptions;
  /** How many positionals: [min, max]. */
  readonly args: readonly [number, number];
  readonly argNames: string;
  /** The node's JSON answer. */
  fetch(client: FastposClient, positionals: string[], values: Record<string, string | boolean | undefined>, url: string): Promise<unknown>;
  /** The readable text of the answer. */
  render(answer: unknown): string;
}

const s = (v: unknown): string => (v === undefined || v === null ? '-' : String(v));
const yes = (v: unknown): string => (v === true ? 'yes' : v === false ? 'no' : s(v));

function txId(wire: unknown): string {
  try {
    return decodeTx(wire).id;
  } catch {
    return '?';
  }
}

function payloadSummary(tx: Json): string {
  const p = (tx.payload ?? {}) as Json;
  return Object.entries(p)
    .map(([k, v]) => `${k}=${k === 'amount' || k === 'stake' ? amount(v) : typeof v === 'object' ? JSON.stringify(v) : s(v)}`)
    .join(' ');
}

const QUERIES: Record<string, Query> = {
  status: {
    help: STATUS_HELP,
    args: [0, 0],
    argNames: '',
    fetch: (c) => c.status(),
    render(a) {
      const st = a as Json;
      const consensus = st.consensus as Json | undefined;
      const mempool = st.mempool as Json | undefined;
      const peers = Array.isArray(st.peers) ? st.peers : [];
      return keyValues([
        ['chain', st.chainId],
        ['genesis hash', st.genesisHash],
        ['node id', st.nodeId],
        ['latest height', st.latestHeight],
        ['latest hash', st.latestHash],
        ['latest time', time(st.latestTime)],
        ['epoch', st.epoch],
        ['consensus', consensus === undefined ? '-' : `height ${s(consensus.height)}, round ${s(consensus.round)}, ${s(consensus.step)}`],
        ['producing', yes(st.producing)],
        ['paused', yes(st.paused)],
        ['syncing', yes(st.syncing)],
        ['peers', peers.length === 0 ? 'none' : `${peers.length}: ${peers.map((p) => (typeof p === 'string' ? p : s((p as Json).url ?? JSON.stringify(p)))).join(', ')}`],
        ['mempool', mempool === undefined ? '-' : `${s(mempool.txs)} txs, ${amount(mempool.bytes)} bytes`],
        ['min fee', amount(st.minFee)],
        ['backend', st.backend],
      ]);
    },
  },
  account: {
    help: ACCOUNT_HELP,
    args: [1, 1],
    argNames: 'ADDR',
    fetch: (c, [addr]) => c.account(addressArg(addr!, 'ADDR')),
    render(a) {
      const acc = a as Json;
      return keyValues([
        ['address', acc.address],
        ['balance', amount(acc.balance)],
        ['nonce', acc.nonce],
        ['pending nonce', acc.pendingNonce],
      ]);
    },
  },
  block: {
    help: BLOCK_HELP,
    args: [0, 1],
    argNames: '[HEIGHT|latest]',
    fetch(c, [h]) {
      if (h === undefined || h === 'latest') return c.block('latest');
      if (!/^[1-9][0-9]{0,15}$/.test(h)) throw new UsageError(`HEIGHT must be a block height (a positive integer) or "latest", got "${h}"`, BLOCK_HELP);
      return c.block(Number(h));
    },
    render(a) {
      const b = a as Json;
      const header = (b.header ?? {}) as Json;
      const commit = (b.commit ?? {}) as Json;
      const sigs = Array.isArray(commit.signatures) ? (commit.signatures as Json[]) : [];
      const txs = Array.isArray(b.txs) ? (b.txs as Json[]) : [];
      const results = Array.isArray(b.results) ? (b.results as Json[]) : [];
      const evidence = Array.isArray(b.evidence) ? b.evidence : [];
      let out = keyValues([
        ['height', header.height],
        ['hash', b.hash],
        ['time', time(header.timestamp)],
        ['proposer', header.proposer],
        ['round', header.round],
        ['prev hash', header.prevHash],
        ['state root', header.stateRoot],
        ['txs', txs.length],
        ['evidence', evidence.length],
        ['signed by', sigs.length === 0 ? '-' : sigs.map((x) => s(x.validatorId)).join(', ')],
      ]);
      if (txs.length > 0) {
        out +=
          '\n' +
          table(
            ['#', 'tx id', 'kind', 'from', 'nonce', 'result', 'payload'],
            txs.map((tx, i) => {
              const r = results[i];
              return [i, txId(tx), tx.kind, tx.from, tx.nonce, r === undefined ? '-' : r.success === true ? 'ok' : `failed ${s(r.error)}`, payloadSummary(tx)];
            }),
          );
      }
      return out;
    },
  },
  'tx-status': {
    help: TX_STATUS_HELP,
    args: [1, 1],
    argNames: 'TXID',
    fetch: (c, [id]) => c.getTx(hex64Arg(id!, 'TXID')),
    render(a) {
      const t = a as Json;
      const tx = (t.tx ?? {}) as Json;
      const rows: [string, unknown][] = [
        ['id', t.id],
        ['status', t.status],
      ];
      if (t.status === 'finalized') {
        rows.push(['height', t.height], ['index', t.index], ['block hash', t.blockHash], ['result', t.success === true ? 'success' : `failed: ${s(t.error)}${t.message === undefined ? '' : ` (${s(t.message)})`}`]);
      }
      if (t.status === 'dropped') rows.push(['reason', `${s(t.error)}${t.message === undefined ? '' : ` (${s(t.message)})`}`]);
      rows.push(['kind', tx.kind], ['from', tx.from], ['nonce', tx.nonce], ['fee', amount(tx.fee)], ['payload', payloadSummary(tx)]);
      return keyValues(rows);
    },
  },
  validators: {
    help: VALIDATORS_HELP,
    args: [0, 0],
    argNames: '',
    fetch: (c) => c.validators(),
    render(a) {
      const vs = (Array.isArray(a) ? a : []) as Json[];
      if (vs.length === 0) return 'no validators\n';
      return table(
        ['id', 'power', 'stake', 'delegated', 'work weight', 'status', 'in set', 'jailed until'],
        vs.map((v) => [v.id, amount(v.votingPower), amount(v.stake), amount(v.delegated), v.workWeight, v.status, yes(v.inSet), v.jailedUntil === 0 ? '-' : v.jailedUntil]),
        [1, 2, 3, 4],
      );
    },
  },
  delegations: {
    help: DELEGATIONS_HELP,
    args: [1, 1],
    argNames: 'ADDR',
    fetch: (c, [addr], _v, url) => getJson(url, `/delegations?delegator=${addressArg(addr!, 'ADDR')}`),
    render(a) {
      const d = a as Json;
      const dels = (Array.isArray(d.delegations) ? d.delegations : []) as Json[];
      const unb = (Array.isArray(d.unbonding) ? d.unbonding : []) as Json[];
      let out = `delegator ${s(d.delegator)}\n\n`;
      out += dels.length === 0 ? 'no delegations\n' : table(['validator', 'amount', 'shares'], dels.map((x) => [x.validatorId, amount(x.amount), amount(x.shares)]), [1, 2]);
      if (unb.length > 0) out += '\nunbonding:\n' + table(['validator', 'amount', 'created at', 'paid at'], unb.map((x) => [x.validatorId, amount(x.amount), x.creationHeight, x.completionHeight]), [1, 2, 3]);
      return out;
    },
  },
  evidence: {
    help: EVIDENCE_HELP,
    options: { 'admin-token': { type: 'string' }, limit: { type: 'string' } },
    args: [0, 0],
    argNames: '',
    fetch(c, _p, values, url) {
      const token = (values['admin-token'] as string | undefined) ?? process.env.FASTPOS_ADMIN_TOKEN;
      if (token === undefined || token === '') throw new UsageError('evidence is an admin route: give the node\'s admin token with --admin-token T or FASTPOS_ADMIN_TOKEN', EVIDENCE_HELP);
      const limit = values.limit as string | undefined;
      if (limit !== undefined && !/^[1-9][0-9]{0,3}$/.test(limit)) throw new UsageError(`--limit must be a positive integer, got "${limit}"`, EVIDENCE_HELP);
      return new FastposClient(url, { adminToken: token }).admin('GET', `/evidence${limit === undefined ? '' : `?limit=${limit}`}`);
    },
    render(a) {
      const e = a as Json;
      const part = (name: string, list: unknown): string => {
        const l = (list ?? {}) as Json;
        const items = (Array.isArray(l.items) ? l.items : []) as Json[];
        const head = `${name}: ${s(l.total)}\n`;
        return items.length === 0 ? head : head + table(['evidence id', 'type', 'height', 'round', 'validator'], items.map((x) => [x.evidenceId, x.type, x.height, x.round, x.validatorId]));
      };
      return part('seen', e.seen) + '\n' + part('pending', e.pending);
    },
  },
};

/** Aliases: `tx-lookup` is `tx-status`. */
const ALIASES: Record<string, string> = { 'tx-lookup': 'tx-status' };

export const QUERY_COMMANDS: readonly string[] = [...Object.keys(QUERIES), ...Object.keys(ALIASES)];

export function queryHelp(cmd: string): string | undefined {
  return QUERIES[ALIASES[cmd] ?? cmd]?.help;
}

/** A GET of a route the typed client has no method for; errors as the client's. */
async function getJson(url: string, path: string): Promise<unknown> {
  const res = await fetch(url + path, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? text.slice(0, 200));
  }
  return json;
}

export async function cmdQuery(cmd: string, args: string[]): Promise<void> {
  const q = QUERIES[ALIASES[cmd] ?? cmd]!;
  const { values, positionals } = parseFlags(args, { ...QUERY_OPTIONS, ...q.options }, q.help, { positionals: true });
  const [min, max] = q.args;
  if (positionals.length < min) throw new UsageError(`${cmd} needs ${q.argNames}`, q.help);
  if (positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}"`, q.help);
  const url = nodeUrl(values.node);
  const client = new FastposClient(url);
  const answer = await withNode(url, () => q.fetch(client, positionals, values, url));
  process.stdout.write(values.json === true ? JSON.stringify(answer, null, 2) + '\n' : q.render(answer));
}
