/**
 * A protobuf message decoded with its type (from user-supplied .proto files) into plain JSON with the
 * field names as written in the .proto: 64-bit integers as decimal strings, bytes as base64, enum
 * values by name (an unknown number stays a number), the set member of each oneof named by a virtual
 * property (`oneofName: 'field'`), fields absent from the wire left out (proto3 defaults are not
 * shown). Unknown fields — numbers the type does not declare, e.g. from a newer sender — are kept,
 * decoded schema-less, under `$unknown` in the message that holds them (`$` cannot begin a field
 * name). Output is bounded: strings at MAX_STRING characters, arrays and maps at MAX_ITEMS entries.
 */
import protobuf from 'protobufjs';
import { decodeProtobuf } from './decode.js';

/** Longest string (text, base64 bytes, 64-bit integer) kept; longer ones are cut and end with '…'. */
export const MAX_STRING = 1024;
/** Most elements kept of a repeated field, and entries of a map. */
export const MAX_ITEMS = 256;

export interface TypedResult {
  /** The message as JSON, or null when it does not decode as its type. */
  json: Record<string, unknown> | null;
  /** Why it does not decode (the type's name, then protobufjs's reason). */
  error: string | null;
  /** True when a string, array or map was cut to the bounds. */
  cut: boolean;
}

const CONVERSION: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  oneofs: true,
  // NaN and ±Infinity as strings: JSON.stringify would turn them into null.
  json: true,
};

/** The message's full name without protobufjs's leading dot (`demo.HelloRequest`). */
export function typeName(t: protobuf.ReflectionObject): string {
  return t.fullName.startsWith('.') ? t.fullName.slice(1) : t.fullName;
}

export function decodeTyped(type: protobuf.Type, bytes: Uint8Array): TypedResult {
  let json: Record<string, unknown>;
  try {
    const reader = protobuf.Reader.create(bytes);
    // protobufjs keeps the raw bytes of undeclared fields on `$unknowns` only when asked to.
    reader.discardUnknown = false;
    const message = type.decode(reader);
    json = type.toObject(message, CONVERSION);
    attachUnknown(type, message, json);
  } catch (err) {
    // protobufjs throws on a truncated field, a wrong length, invalid UTF-8 in a proto3 string, or
    // past its recursion limit (100 nested messages): all say the bytes are not of this type.
    return { json: null, error: `${typeName(type)}: ${(err as Error).message}`, cut: false };
  }
  const state = { cut: false };
  return { json: bound(json, state) as Record<string, unknown>, error: null, cut: state.cut };
}

type Obj = Record<string, unknown>;

const LONG_KEYS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** Walks the decoded message and its JSON side by side, adding `$unknown` where the wire had extras. */
function attachUnknown(type: protobuf.Type, message: unknown, json: Obj): void {
  const raw = (message as { $unknowns?: Uint8Array[] }).$unknowns;
  if (raw?.length) {
    // Each chunk is one whole field, tag included, so together they parse as a message.
    const r = decodeProtobuf(Buffer.concat(raw));
    json.$unknown = r.error ? [...r.fields, { error: r.error }] : r.fields;
  }
  for (const field of type.fieldsArray) {
    const sub = field.resolvedType;
    // google.protobuf.Any is rewritten by toObject ({'@type', ...}); its shape no longer matches.
    if (!(sub instanceof protobuf.Type) || sub.fullName === '.google.protobuf.Any') continue;
    const value = (message as Obj)[field.name];
    const out = json[field.name];
    if (value === null || value === undefined || out === null || typeof out !== 'object') continue;
    if (field.map) {
      // 64-bit keys are hashed in the message and decimal in the JSON, as toObject converts them.
      const keyType = (field as unknown as { keyType: string }).keyType;
      const unsigned = keyType === 'uint64' || keyType === 'fixed64';
      for (const key of Object.keys(value)) {
        const jsonKey = LONG_KEYS.has(keyType) ? String(protobuf.util.longFromKey(key, unsigned)) : key;
        const o = (out as Obj)[jsonKey];
        if (o && typeof o === 'object') attachUnknown(sub, (value as Obj)[key], o as Obj);
      }
    } else if (field.repeated) {
      const values = value as unknown[];
      const outs = out as unknown[];
      for (let i = 0; i < values.length && i < outs.length; i++)
        if (outs[i] && typeof outs[i] === 'object') attachUnknown(sub, values[i], outs[i] as Obj);
    } else attachUnknown(sub, value, out as Obj);
  }
}

function bound(v: unknown, state: { cut: boolean }): unknown {
  if (typeof v === 'string') {
    if (v.length <= MAX_STRING) return v;
    state.cut = true;
    return `${v.slice(0, MAX_STRING)}…`;
  }
  if (Array.isArray(v)) {
    if (v.length > MAX_ITEMS) state.cut = true;
    return v.slice(0, MAX_ITEMS).map((x) => bound(x, state));
  }
  if (v !== null && typeof v === 'object') {
    const out: Obj = {};
    let n = 0;
    for (const [k, x] of Object.entries(v)) {
      if (++n > MAX_ITEMS) {
        state.cut = true;
        break;
      }
      // A map<string, ...> key may be "__proto__": define it, never set the prototype.
      Object.defineProperty(out, k, {
        value: bound(x, state),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}
