/**
 * What values mean at run time, in JavaScript: the definitions the predicate runs and constant
 * folding uses, and that sql.ts reproduces in SQLite (its comments point back here). An entry is
 * read as its JSON text would be (what the store holds): `undefined`, functions and non-finite
 * numbers are missing, like the `null` JSON.stringify writes for them.
 *
 * - Classes: missing (absent or null), number, string, boolean, structured (object or array).
 * - `==` holds between two present scalars of one class that are equal; structured values equal
 *   nothing. `!=` holds between two present values that are not `==`. Ordering holds between two
 *   numbers or two strings, strings in code point order (which is UTF-8 byte order, SQLite's
 *   BINARY collation; JavaScript's `<` compares UTF-16 code units and differs above U+FFFF).
 */
import type { CompareOp } from './ast.js';

export const MISSING = 0;
export const NUMBER = 1;
export const STRING = 2;
export const BOOLEAN = 3;
export const STRUCTURED = 4;
export type ValueClass = 0 | 1 | 2 | 3 | 4;

export function classOf(v: unknown): ValueClass {
  switch (typeof v) {
    case 'string':
      return STRING;
    case 'number':
      return Number.isFinite(v) ? NUMBER : MISSING;
    case 'boolean':
      return BOOLEAN;
    case 'object':
      return v === null ? MISSING : STRUCTURED;
    default:
      return MISSING;
  }
}

/** Plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Code point order of two strings (ICU's UTF-16 fix-up: code units from U+E000 up must sort below
 * surrogates, which encode U+10000 and above).
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

export function equal(a: unknown, b: unknown): boolean {
  const c = classOf(a);
  return c !== MISSING && c !== STRUCTURED && c === classOf(b) && a === b;
}

/** `a op b` under the rules above. */
export function compare(op: CompareOp, a: unknown, b: unknown): boolean {
  if (op === '==') return equal(a, b);
  const ca = classOf(a);
  const cb = classOf(b);
  if (op === '!=') return ca !== MISSING && cb !== MISSING && !equal(a, b);
  if (ca !== cb) return false;
  let d: number;
  if (ca === NUMBER) d = (a as number) - (b as number);
  else if (ca === STRING) d = compareText(a as string, b as string);
  else return false;
  switch (op) {
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    default:
      return d >= 0;
  }
}

/** Lower case of ASCII letters only, as SQLite's built-in lower(): header names are ASCII tokens. */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** asciiLower(key) === lower, without allocating (the hot path of header lookups). */
export function keyMatches(key: string, lower: string): boolean {
  if (key.length !== lower.length) return false;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The first own key of `o` (in JSON's order) matching `lower` without ASCII case whose value JSON keeps. */
export function findKey(o: Record<string, unknown>, lower: string): string | undefined {
  for (const k in o) if (keyMatches(k, lower) && Object.hasOwn(o, k) && o[k] !== undefined) return k;
  return undefined;
}

/**
 * The value at a resolved path: names apply to plain objects (own keys only, so `constructor`
 * or `__proto__` are never found), indexes to arrays. At segment `ci` the key is matched without
 * ASCII case, the first such key in the object's order (JSON's order, which json_each follows).
 */
export function valueAt(root: unknown, path: readonly (string | number)[], ci: number): unknown {
  let cur: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return undefined;
      cur = cur[seg];
    } else {
      if (!isObject(cur)) return undefined;
      if (i === ci) {
        const k = findKey(cur, seg);
        cur = k === undefined ? undefined : cur[k];
      } else {
        cur = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
      }
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}
