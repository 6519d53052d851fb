/**
 * Strict numbers in query strings and path parameters. Ajv's type coercion
 * reads a number the way `Number()` does, so `?from=0x10` was 16 and `01`,
 * `1.0`, `1e0`, `+1` and ` 1` were 1. Here a number field of a query or path
 * schema takes only its canonical decimal text: digits, no leading zero
 * (except "0" itself), no sign (a `-` only where the field allows negative
 * values, never "-0"), no exponent, no hex, no spaces, and for `integer`
 * fields no fraction (a `number` field may have one, without trailing zeros).
 * An integer must also be a safe integer, a number finite. Anything else is a
 * schema error naming the field (`400 INVALID_REQUEST`), checked before Ajv
 * coerces the text.
 * @module
 */
import type { ErrorObject, ValidateFunction } from 'ajv';

/** A number field of a query or path schema and what its text may look like. */
export interface NumberField {
  readonly name: string;
  /** `integer` (no fraction) rather than `number`. */
  readonly integer: boolean;
  /** Whether the schema lets the value be negative (then a leading `-` is allowed). */
  readonly negative: boolean;
}

/** A validation function as Fastify takes it: a boolean, and the errors of the last call. */
export type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function typesOf(s: Record<string, unknown>): string[] {
  const t = s.type;
  if (typeof t === 'string') return [t];
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
}

/** Whether a property schema's bounds admit a value below zero (no bound: they do). */
function allowsNegative(s: Record<string, unknown>): boolean {
  const min = s.minimum;
  const exclusive = s.exclusiveMinimum;
  if (typeof min === 'number' && min >= 0) return false;
  if (typeof exclusive === 'number' && exclusive >= 0) return false;
  return true;
}

/** The number fields (`integer` or `number`) among the top-level properties of an object schema. */
export function numberFields(schema: unknown): NumberField[] {
  if (!isRecord(schema) || !isRecord(schema.properties)) return [];
  const out: NumberField[] = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (!isRecord(prop)) continue;
    const types = typesOf(prop);
    const integer = types.includes('integer');
    if (!integer && !types.includes('number')) continue;
    out.push({ name, integer: integer && !types.includes('number'), negative: allowsNegative(prop) });
  }
  return out;
}

const UNSIGNED_INTEGER = /^(?:0|[1-9][0-9]*)$/;
const SIGNED_INTEGER = /^(?:0|-?[1-9][0-9]*)$/;
const UNSIGNED_DECIMAL = /^(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?$/;
const SIGNED_DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?$/;

/**
 * Why `text` is not an acceptable value of `field` (a message in Ajv's style,
 * without the field's name), or null when it is.
 */
export function numberTextProblem(text: string, field: Pick<NumberField, 'integer' | 'negative'>): string | null {
  const what = field.integer ? 'an integer' : 'a number';
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  const form = field.integer
    ? field.negative ? SIGNED_INTEGER : UNSIGNED_INTEGER
    : field.negative ? SIGNED_DECIMAL : UNSIGNED_DECIMAL;
  // The decimal form would take "-0": zero has no sign.
  if (!form.test(text) || text === '-0') {
    const rules = `digits only${field.negative ? ' (a leading - for a negative value)' : ', no sign'}, no leading zeros, no exponent, hex, spaces${field.integer ? ' or fraction' : ' or trailing zeros in a fraction'}`;
    return `must be ${what} in canonical decimal (${rules}), got ${shown}`;
  }
  const n = Number(text);
  if (field.integer ? !Number.isSafeInteger(n) : !Number.isFinite(n)) {
    const bound = `${Number.MAX_SAFE_INTEGER}${field.negative ? ' in absolute value' : ''}`;
    return field.integer ? `must be an integer of at most ${bound}, got ${shown}` : `must be a finite number, got ${shown}`;
  }
  return null;
}

/**
 * Wraps a coercing Ajv validator of a query string or path parameters: each
 * number field given as text must be canonical decimal (`numberTextProblem`)
 * before `validate` coerces it; after coercion, no number may be non-finite.
 * Values that are not text (an array from a repeated query key) are left to
 * `validate`, which refuses them.
 */
export function strictNumbers(validate: ValidateFunction, schema: unknown): Validator {
  const fields = numberFields(schema);
  const fail = (field: string, message: string): false => {
    check.errors = [{ instancePath: `/${field}`, schemaPath: `#/properties/${field}/type`, keyword: 'type', params: {}, message }];
    return false;
  };
  const check: Validator = (data: unknown): boolean => {
    if (isRecord(data)) {
      for (const f of fields) {
        if (!Object.prototype.hasOwnProperty.call(data, f.name)) continue;
        const v = data[f.name];
        if (typeof v !== 'string') continue;
        const problem = numberTextProblem(v, f);
        if (problem !== null) return fail(f.name, problem);
      }
    }
    if (!validate(data)) {
      check.errors = validate.errors ?? null;
      return false;
    }
    // Defaults and anything a schema reaches other than by its top-level properties: still never a non-finite number.
    if (isRecord(data)) {
      for (const [k, v] of Object.entries(data)) {
        if (typeof v === 'number' && !Number.isFinite(v)) return fail(k, 'must be a finite number');
      }
    }
    check.errors = null;
    return true;
  };
  check.errors = null;
  return check;
}
