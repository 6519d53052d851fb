/**
 * The CLI's own environment variables — `FASTPOS_NODE` (the node the query
 * and tx commands talk to) and `FASTPOS_VERBOSE` (stack traces on errors) —
 * read once at start and removed from `process.env`: every other `FASTPOS_*`
 * variable names a config key, and the config loader refuses names it does
 * not know.
 * @module
 */

export const DEFAULT_NODE_URL = 'http://127.0.0.1:26657';

const cliEnv: { node: string | undefined; verbose: boolean } = { node: undefined, verbose: false };

/** Reads and removes `FASTPOS_NODE` and `FASTPOS_VERBOSE` from `process.env`. */
export function captureCliEnv(): void {
  const node = process.env.FASTPOS_NODE;
  const verbose = process.env.FASTPOS_VERBOSE;
  delete process.env.FASTPOS_NODE;
  delete process.env.FASTPOS_VERBOSE;
  cliEnv.node = node === undefined || node === '' ? undefined : node;
  cliEnv.verbose = verbose !== undefined && verbose !== '' && verbose !== '0' && verbose !== 'false';
}

/** The node URL: `--node`, else `FASTPOS_NODE`, else the local default; without a trailing slash. */
export function nodeUrl(flag: string | boolean | undefined): string {
  const url = typeof flag === 'string' && flag !== '' ? flag : (cliEnv.node ?? DEFAULT_NODE_URL);
  return url.replace(/\/+$/, '');
}

export function isVerbose(): boolean {
  return cliEnv.verbose;
}

export function setVerbose(on: boolean): void {
  cliEnv.verbose = cliEnv.verbose || on;
}
