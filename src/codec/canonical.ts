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
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += canonicalJson(value[i]);
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
        out += JSON.stringify(k) + ':' + canonicalJson(v);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`canonical JSON: cannot encode ${typeof value}`);
  }
}
