/**
 * What every `fastpos` command shares for its arguments: `--help`/`-h` with the
 * command's own text, strict flags with a "did you mean" for a mistyped one,
 * and the two error kinds the entry point turns into one line each —
 * {@link UsageError} (exit 2: the command line is wrong; the command's usage
 * follows) and {@link CliError} (exit 1: something outside failed; a hint says
 * what to do).
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest, distance } from 'fastest-levenshtein';

/** The command line is wrong: one line, then the command's usage (exit 2). */
export class UsageError extends Error {
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Something outside the command line failed: one line and how to fix it (exit 1, or `exitCode`). */
export class CliError extends Error {
  constructor(message: string, readonly hint?: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** `--help` or `-h` was given: the entry point prints `text` to stdout and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/** True when the arguments ask for help (anywhere before a `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** "did you mean --x?" for a word close enough to one of `known` (edit distance ≤ 2, or a prefix). */
export function didYouMean(word: string, known: readonly string[], prefix = ''): string {
  if (known.length === 0) return '';
  const prefixed = known.filter((k) => k.startsWith(word) && word.length >= 2);
  if (prefixed.length === 1) return ` (did you mean ${prefix}${prefixed[0]}?)`;
  const best = closest(word, [...known]);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 4)) ? ` (did you mean ${prefix}${best}?)` : '';
}

/**
 * Strict `parseArgs` with the command's help: `--help`/`-h` throws
 * {@link HelpRequested}; an unknown flag, a missing value or a stray argument
 * throws {@link UsageError} naming it, with a did-you-mean among the
 * command's flags, and carrying `usage`.
 */
export function parseFlags<const O extends FlagOptions>(
  args: string[],
  options: O,
  usage: string,
  opts: { positionals?: boolean } = {},
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  if (wantsHelp(args)) throw new HelpRequested(usage);
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals: opts.positionals ?? false });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(explainParseError(e as Error & { code?: string }, args, Object.keys(options)), usage);
  }
}

/**
 * One line for an error of `node:util` `parseArgs` (unknown flag with a
 * did-you-mean among `known`, missing value, stray argument).
 */
export function explainParseError(e: Error & { code?: string }, args: readonly string[], known: readonly string[]): string {
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(e.message)?.[1] ?? args.find((a) => a.startsWith('-') && !known.includes(a.replace(/^-+/, '').split('=')[0]!)) ?? '';
    const name = flag.replace(/^-+/, '').split('=')[0]!;
    return `unknown flag ${flag}${didYouMean(name, known, '--')}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const word = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    return `unexpected argument "${word}"${didYouMean(word, known, '--')}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /Option '(?:-\w, )?(--[\w-]+)/.exec(e.message)?.[1];
    if (flag !== undefined && /argument missing/.test(e.message)) return `${flag} needs a value`;
    if (flag !== undefined) return `${flag} does not take a value`;
  }
  return e.message.split('\n')[0]!;
}

/**
 * An address typed on the command line: 40 hex digits, with or without `0x`,
 * in any case. Returned as the wire format wants it: lowercase, no prefix.
 */
export function addressArg(value: string, flag: string): string {
  const v = value.trim();
  const hex = /^0x/i.test(v) ? v.slice(2) : v;
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new UsageError(`${flag} must be an address: 40 hex digits, with or without 0x, got "${value}"`);
  return hex.toLowerCase();
}

/** A 64-hex-digit value (tx id, block hash, public key), with or without `0x`, in any case; returned lowercase. */
export function hex64Arg(value: string, flag: string): string {
  const v = value.trim();
  const hex = /^0x/i.test(v) ? v.slice(2) : v;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new UsageError(`${flag} must be 64 hex digits, with or without 0x, got "${value}"`);
  return hex.toLowerCase();
}
