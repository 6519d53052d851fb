/**
 * The node's logger: JSON lines (one object per line, for log collectors and
 * scripts) or pretty, colored text for a person at a terminal (`logFormat`:
 * `auto` picks pretty when standard output is a terminal, JSON otherwise).
 * The pretty form is written synchronously in the same thread, so a line is
 * out before the process exits and lines keep their order with other output.
 * @module
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'auto' | 'pretty' | 'json';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Where lines go (default standard output). */
  readonly destination?: NodeJS.WritableStream;
  /** Whether the destination is a terminal (default: process.stdout.isTTY). */
  readonly isTTY?: boolean;
  /** Colors in the pretty form (default: when the destination is a terminal). */
  readonly colorize?: boolean;
}

/** Whether `format` means pretty text for this destination. */
export function usesPretty(format: LogFormat, isTTY: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

/**
 * Fields shown inline after the message in the pretty form, in this order
 * (the rest are left out of the line there, and kept in full in JSON).
 */
const INLINE = ['height', 'txs', 'round', 'power', 'ms', 'hash', 'peer', 'nodeId', 'validator', 'validatorId', 'reason', 'jailedUntil', 'fractionBps', 'burned', 'ours', 'theirs', 'step', 'online', 'peers', 'url', 'err'] as const;

/** One pretty line: the message followed by its main fields as key=value. */
export function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  const msg = String(log[messageKey] ?? '');
  const parts: string[] = [];
  let stack = '';
  for (const k of INLINE) {
    const v = log[k];
    if (v === undefined || v === null) continue;
    if (k === 'err' && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') {
      // An error object: its message inline; on error and fatal lines its stack below.
      const e = v as { message: string; stack?: unknown };
      parts.push(`err=${e.message}`);
      if (typeof log.level === 'number' && log.level >= 50 && typeof e.stack === 'string') stack = `\n${e.stack}`;
      continue;
    }
    parts.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return (parts.length === 0 ? msg : `${msg}  ${parts.join(' ')}`) + stack;
}

export function createLogger(opts: LoggerOptions): Logger {
  const base = { level: opts.level, base: { service: 'fastpos' } };
  const isTTY = opts.isTTY ?? process.stdout.isTTY === true;
  if (!usesPretty(opts.format, isTTY)) {
    return opts.destination === undefined ? pino(base) : pino(base, opts.destination as DestinationStream);
  }
  const stream = pretty({
    colorize: opts.colorize ?? isTTY,
    sync: true,
    translateTime: 'HH:MM:ss.l',
    ignore: `pid,hostname,service,${INLINE.join(',')}`,
    messageFormat: (log, messageKey) => prettyMessage(log, messageKey),
    singleLine: true,
    ...(opts.destination === undefined ? {} : { destination: opts.destination }),
  });
  return pino(base, stream);
}
