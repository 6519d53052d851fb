/** Runs one fuzz target with fast-check and reports what happened, in a form that says how to replay a failure. */
import fc from 'fast-check';
import { jsonText } from './json.js';
import { outcomes, type FuzzTarget } from './targets.js';

export interface TargetResult {
  readonly name: string;
  readonly runs: number;
  /** Decoder calls that returned a value (the rest refused their input with a typed error). */
  readonly decoded: number;
  readonly refused: number;
  readonly ms: number;
  readonly failed: boolean;
  readonly knownIssue: string | undefined;
  readonly seed: number;
  /** fast-check's path to the (shrunk) counterexample: with the seed, replays it. */
  readonly path: string | undefined;
  readonly counterexample: string | undefined;
  readonly error: string | undefined;
}

export interface RunOptions {
  readonly seed: number;
  readonly runs: number;
  readonly path?: string | undefined;
  /** Stop at the first failure without shrinking it. */
  readonly noShrink?: boolean | undefined;
}

/** A short printable form of any value (deep values included: never recurses). */
export function preview(v: unknown, max = 1500): string {
  let s: string;
  try {
    s = jsonText(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

export function runTarget(t: FuzzTarget<unknown>, o: RunOptions): TargetResult {
  const started = performance.now();
  outcomes.decoded = 0;
  outcomes.refused = 0;
  const details = fc.check(
    fc.property(t.arbitrary, (input) => {
      t.property(input);
    }),
    { seed: o.seed, numRuns: o.runs, ...(o.path === undefined ? {} : { path: o.path }), ...(o.noShrink === true ? { endOnFailure: true } : {}) },
  );
  const ms = performance.now() - started;
  const err = details.errorInstance;
  return {
    name: t.name,
    runs: details.numRuns,
    decoded: outcomes.decoded,
    refused: outcomes.refused,
    ms,
    failed: details.failed,
    knownIssue: t.knownIssue,
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    counterexample: details.counterexample === null ? undefined : preview(details.counterexample[0]),
    error: err === null || err === undefined ? undefined : err instanceof Error ? `${err.message}${causeStack(err)}` : String(err),
  };
}

function causeStack(e: Error): string {
  const c = e.cause;
  if (!(c instanceof Error) || c.stack === undefined) return '';
  return '\n  cause: ' + c.stack.split('\n').slice(0, 8).join('\n    ');
}

/** A failure, with the command that replays it. */
export function describeFailure(r: TargetResult): string {
  return [
    `${r.name}: FAILED after ${r.runs} runs${r.knownIssue === undefined ? '' : ' (known issue)'}`,
    `  ${r.error ?? 'property failed'}`,
    `  counterexample: ${r.counterexample ?? '(none)'}`,
    `  replay: npm run fuzz -- --target ${r.name} --seed ${r.seed}${r.path === undefined ? '' : ` --path ${r.path}`}`,
  ].join('\n');
}
