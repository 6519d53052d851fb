/**
 * How the CLI reports a failure: one line on stderr saying what happened and
 * how to fix it, never a stack trace unless `--verbose` (or
 * `FASTPOS_VERBOSE=1`). Exit codes: 2 for a wrong command line or config
 * (the command's usage follows the line), 1 for anything else.
 * @module
 */
import { ApiError, ClientError } from '../client/index.js';
import { isFastposError } from '../errors.js';
import { CliError, HelpRequested, UsageError } from './args.js';
import { isVerbose } from './env.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** Whether `e` (or an error it wraps) is "no answer from the node": refused, reset, unknown host, timed out. */
export function isUnreachable(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 5; cur = cur.cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (cur.name === 'TimeoutError' || cur.name === 'AbortError') return true;
    if (cur.name === 'TypeError' && cur.message === 'fetch failed') return true;
  }
  return false;
}

/** The one-line error for a node that does not answer. */
export function unreachableError(url: string, extraHint = ''): CliError {
  return new CliError(`cannot reach ${url}`, `is the node running? (--node or FASTPOS_NODE)${extraHint}`);
}

/** Runs `fn` against the node at `url`; a network failure becomes "cannot reach URL: is the node running?". */
export async function withNode<T>(url: string, fn: () => Promise<T>, extraHint = ''): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ApiError || e instanceof UsageError || e instanceof CliError) throw e;
    if (isUnreachable(e)) throw unreachableError(url, extraHint);
    throw e;
  }
}

function stackOf(e: unknown): string {
  return e instanceof Error && e.stack !== undefined ? `\n${e.stack}` : '';
}

/**
 * Writes the error (or the help text) and returns the exit code. `usage` is
 * shown after a usage error that carries none of its own.
 */
export function reportError(e: unknown, usage: string): number {
  const verbose = isVerbose();
  const write = (line: string, exit: number, withStack = verbose): number => {
    process.stderr.write(`fastpos: ${line}${withStack ? stackOf(e) : ''}\n`);
    return exit;
  };
  if (e instanceof HelpRequested) {
    process.stdout.write(e.text.replace(/\n*$/, '\n'));
    return 0;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`fastpos: ${e.message}\n\n${(e.usage ?? usage).replace(/\n*$/, '\n')}`);
    return 2;
  }
  if (e instanceof CliError) return write(e.hint === undefined || e.hint === '' ? e.message : `${e.message}: ${e.hint}`, e.exitCode);
  if (isFastposError(e)) return write(`${e.code}: ${e.message}`, e.code === 'INVALID_CONFIG' || e.code === 'INVALID_GENESIS' ? 2 : 1);
  if (e instanceof ApiError) return write(`node answered ${e.status} ${e.message}`, 1);
  if (e instanceof ClientError) {
    if (isUnreachable(e)) return write(`${e.code}: cannot reach the node (${e.message}): is the node running? (--node or FASTPOS_NODE)`, 1);
    return write(`${e.code}: ${e.message}`, 1);
  }
  const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  return verbose ? write(message, 1, true) : write(`${message} (run with --verbose for details)`, 1, false);
}
