/**
 * Canonical JSON (RFC 8785, JCS) for the values fastpos signs and hashes:
 * objects, arrays, strings, booleans, null and finite numbers. Object keys are
 * sorted by UTF-16 code units (JavaScript's default sort), numbers use the
 * ECMAScript serialization that RFC 8785 prescribes, no whitespace.
 */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/**
 * A value already written as canonical JSON. `canonicalJson` copies its text
 * as is, so that a block's txs, each encoded once when it was admitted, are
 * never encoded again for signing, gossip or storage. Only code that produced
 * the text with this module's rules (or checked it against them) makes one.
 * `JSON.stringify` still gives the right value (through `toJSON`), just slowly.
 */
export class RawJson {
  constructor(readonly json: string) {}
  toJSON(): unknown {
    return JSON.parse(this.json);
  }
}

export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

/**
 * Nesting that `canonicalJson` follows by recursion; deeper parts are written
 * by an explicit stack (`encodeDeep`), so that no value, however deep, can
 * exhaust the call stack. Protocol objects nest a few levels; decoders bound
 * what they accept far below this (see `jsonDepthExceeds`).
 */
const MAX_RECURSION = 200;

function encode(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('canonical JSON: bigint must be encoded as a decimal string first');
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof RawJson) return value.json;
      if (depth >= MAX_RECURSION) return encodeDeep(value);
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += encode(value[i], depth + 1);
        }
        return out + ']';
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        if (!first) out += ',';
        first = false;
        out += JSON.stringify(k) + ':' + encode(v, depth + 1);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonical JSON: cannot encode ${typeof value}`);
  }
}

/** The same encoding as `encode`, without recursion: a stack of values still to write and of literal text. */
function encodeDeep(root: object): string {
  const out: string[] = [];
  const todo: ({ readonly value: unknown } | string)[] = [{ value: root }];
  while (todo.length > 0) {
    const item = todo.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const value = item.value;
    if (typeof value !== 'object' || value === null || value instanceof RawJson) {
      out.push(encode(value, 0));
      continue;
    }
    // Pushed in reverse, so that they are written in order.
    if (Array.isArray(value)) {
      todo.push(']');
      for (let i = value.length - 1; i >= 0; i--) {
        todo.push({ value: value[i] });
        if (i > 0) todo.push(',');
      }
      out.push('[');
      continue;
    }
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined);
    todo.push('}');
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      todo.push({ value: obj[k] });
      todo.push((i > 0 ? ',' : '') + JSON.stringify(k) + ':');
    }
    out.push('{');
  }
  return out.join('');
}

/**
 * Whether a JSON value nests more than `max` levels (a scalar is 0 levels, an
 * array or object one more than its deepest member). Walks without recursion
 * and stops at the first member too deep, so it is safe on any input.
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null || value instanceof RawJson) return false;
  const todo: [unknown, number][] = [[value, 1]];
  while (todo.length > 0) {
    const [v, depth] = todo.pop()!;
    if (depth > max) return true;
    const members = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const m of members) if (typeof m === 'object' && m !== null && !(m instanceof RawJson)) todo.push([m, depth + 1]);
  }
  return false;
}
