/**
 * The benchmark's command line: its options with their defaults, the usage
 * text (the synopsis that opens bench.ts), and the parse that answers a wrong
 * command line (an unknown option, a missing value, a stray argument, an
 * unknown scenario) or `--help` with the usage and exit code 2.
 * @module
 */
import { parseArgs } from 'node:util';

/** The synopsis of `npm run bench`, printed by `--help` and for a wrong command line. */
export const USAGE = `  npm run bench -- [--senders 400] [--txs-per-sender 50] [--concurrency 64]
                   [--backend sqlite|snapshot] [--workers 2] [--keep]
                   [--nodes 4] [--rate TX_PER_S] [--admission-only]
                   [--warmup-txs 10000] [--batch 1]
  npm run bench -- --scenario overload [--run-time-s 30] [--mempool-max-bytes 4194304]
                   [--senders 2000] [--txs-per-sender 100] [--batch 50] [--concurrency 64]
                   [--retries 10] [--nodes 4] [--rate TX_PER_S] [--backend sqlite|snapshot]
  npm run bench -- --scenario product-reads [--proofs 100000] [--settlements 100000]
                   [--challenges 10000] [--read-requests 500] [--backend sqlite|snapshot]
  npm run bench -- --scenario sync [--backend sqlite|snapshot] [--parts snapshot,blocks,restart]
                   [--accounts 100000] [--small-accounts 10000] [--snapshot-at 100]
                   [--short-blocks 200] [--long-blocks 2000 (snapshot backend: 1000)] [--json]
  npm run bench -- --scenario disk [--backend sqlite|snapshot] [--rate 200] [--prune-keep-blocks 200]
                   [--blocks 20000] [--run-time-s 360] [--sample-every 1000]
                   [--compare-blocks 5000] [--compare-time-s 120]
  npm run bench -- --scenario scale [--node-counts 1,4,7,10] [--accounts 1000000] [transfers options]
  npm run bench -- --scenario chain [--blocks 100000] [--window 50] [--txs-per-block 100]
                   [--accounts 1000000] [--seed 1] [--keep]
`;

export const SCENARIOS = ['transfers', 'overload', 'scale', 'chain', 'product-reads', 'sync', 'disk'] as const;

const OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  senders: { type: 'string', default: '400' },
  'txs-per-sender': { type: 'string', default: '50' },
  concurrency: { type: 'string', default: '64' },
  backend: { type: 'string', default: 'sqlite' },
  /** Signature worker threads per node (default: 2 for one node; 1 per node for several, whose processes already share the cores). */
  workers: { type: 'string', default: '' },
  'time-limit-s': { type: 'string', default: '120' },
  keep: { type: 'boolean', default: false },
  /** Offered load in tx/s over all nodes (0: as fast as the connections allow). */
  rate: { type: 'string', default: '0' },
  /** Validator processes (1 = a single node holding the only validator key). */
  nodes: { type: 'string', default: '1' },
  /** Extra node flags for the child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it. */
  'node-args': { type: 'string', default: '' },
  /** Extra `fastpos start` flags for every node, e.g. "--min-block-interval-ms 200". */
  'start-args': { type: 'string', default: '' },
  /** Pause block production on every node first: measures admission (HTTP, decoding, signature checks, gossip) alone. */
  'admission-only': { type: 'boolean', default: false },
  /** Log level of the node (its JSON logs go to this process's stdout). */
  'log-level': { type: 'string', default: 'warn' },
  /**
   * Transfers submitted and finalized before the measured run (from senders of
   * their own), so that the figures are those of warm processes: the first tens
   * of seconds of a fresh node go partly to compiling its hot code. 0 = none.
   */
  'warmup-txs': { type: 'string', default: '10000' },
  /** Txs per request: 1 = one `POST /tx` per tx; N > 1 = `POST /txs` batches of N, over ceil(1600 / N) connections unless `--concurrency` is given. */
  batch: { type: 'string', default: '1' },
  /** One of SCENARIOS; `transfers` (throughput and finality) by default. */
  scenario: { type: 'string', default: 'transfers' },
  /** product-reads: records in the store, and measured requests per read. */
  proofs: { type: 'string', default: '100000' },
  settlements: { type: 'string', default: '100000' },
  challenges: { type: 'string', default: '10000' },
  'read-requests': { type: 'string', default: '500' },
  /** sync: which parts, the big and small states' accounts, the snapshot height, the short and long chains, JSON output. */
  parts: { type: 'string', default: 'snapshot,blocks,restart' },
  /** sync: accounts of the big state (default 100000); transfers: extra funded accounts in the genesis (default 0). */
  accounts: { type: 'string', default: '' },
  'small-accounts': { type: 'string', default: '10000' },
  'snapshot-at': { type: 'string', default: '100' },
  'short-blocks': { type: 'string', default: '200' },
  /** Default: 2000 on SQLite, 1000 on the snapshot backend (which rewrites its whole state file at every block). */
  'long-blocks': { type: 'string', default: '' },
  json: { type: 'boolean', default: false },
  /** disk: pruneKeepBlocks of the pruned run, its blocks and time limit, the sampling step, and the unpruned run's blocks and time (0 = none). */
  'prune-keep-blocks': { type: 'string', default: '200' },
  blocks: { type: 'string', default: '20000' },
  /** disk: the pruned run's time limit (default 360); overload: the loaded run's length (default 30). */
  'run-time-s': { type: 'string', default: '360' },
  'sample-every': { type: 'string', default: '1000' },
  'compare-blocks': { type: 'string', default: '5000' },
  'compare-time-s': { type: 'string', default: '120' },
  /** transfers: also write the run's figures as JSON to this file (read by `--scenario scale`). */
  'summary-json': { type: 'string', default: '' },
  /** scale: which validator counts, the state's accounts, txs per row; chain: block size, measured window. */
  'node-counts': { type: 'string', default: '1,4,7,10' },
  'txs-per-block': { type: 'string', default: '100' },
  window: { type: 'string', default: '50' },
  seed: { type: 'string', default: '1' },
  /** overload: every node's mempoolMaxBytes, and how often one tx refused with MEMPOOL_FULL is sent again. */
  'mempool-max-bytes': { type: 'string', default: '4194304' },
  retries: { type: 'string', default: '10' },
} as const;

export type BenchArgs = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** The parsed command line, and which options it gave explicitly (a scenario may have defaults of its own). */
export interface ParsedArgs {
  readonly args: BenchArgs;
  readonly given: (name: keyof typeof OPTIONS) => boolean;
}

/** A command line the benchmark cannot run: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Parses `argv` (without node and the script); throws UsageError for a wrong command line. `--help` is returned as is. */
export function parseBenchArgs(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, tokens: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const names = new Set(parsed.tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : [])));
  const { values } = parsed;
  if (values.help !== true && !(SCENARIOS as readonly string[]).includes(String(values.scenario))) {
    throw new UsageError(`unknown --scenario ${String(values.scenario)} (${SCENARIOS.join(', ')})`);
  }
  return { args: values, given: (name) => names.has(name) };
}

/**
 * The parsed command line, or, for `--help` or a wrong command line, the
 * usage on stdout (help) or stderr (with the reason) and exit code 2.
 */
export function benchArgsOrExit(argv: readonly string[]): ParsedArgs {
  try {
    const p = parseBenchArgs(argv);
    if (p.args.help === true) {
      process.stdout.write(`usage:\n${USAGE}`);
      process.exit(2);
    }
    return p;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\nusage:\n${USAGE}`);
    process.exit(2);
  }
}

/** A positive integer option's value, or a UsageError naming the option. */
export function positiveInt(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${String(value)}`);
  return n;
}

/** A non-negative integer option's value, or a UsageError naming the option. */
export function nonNegativeInt(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${String(value)}`);
  return n;
}
