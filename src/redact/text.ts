/**
 * Redaction inside text: URLs and query strings, JSON (as text, so a body cut at 64 KiB is still
 * redacted and its formatting kept), already-parsed JSON values, GraphQL argument literals and
 * multipart form fields. Every function returns its input itself (the same string or object) when
 * nothing in it was secret, so callers can tell "unchanged" by identity and copy nothing.
 */
import type { CompiledRules, NameMatcher } from './rules.js';

/** Deepest JSON nesting walked; deeper values are replaced whole (bounded recursion). */
export const MAX_JSON_DEPTH = 64;

/** Rewrites the value of a parameter before its name is checked (GraphQL GET's `query`, `variables`). */
export type ParamHook = (name: string, value: string) => string | null;

function decodeComponent(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * `a=1&password=2` with secret parameters' values replaced (WHATWG URL application/x-www-form-
 * urlencoded: `&`-separated, names percent-decoded and `+` as space). A parameter without `=` has
 * no value to hide.
 */
export function redactParams(params: string, rules: CompiledRules, hook?: ParamHook): string {
  if (!params.includes('=')) return params;
  const parts = params.split('&');
  let changed = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = decodeComponent(part.slice(0, eq));
    if (rules.param.matches(name)) {
      parts[i] = `${part.slice(0, eq + 1)}${rules.replacement}`;
      changed = true;
    } else if (hook) {
      const value = part.slice(eq + 1);
      const next = hook(name, value);
      if (next !== null && next !== value) {
        parts[i] = `${part.slice(0, eq + 1)}${next}`;
        changed = true;
      }
    }
  }
  return changed ? parts.join('&') : params;
}

// RFC 3986 §3.2.1: userinfo `user:password@` (deprecated, still sent by proxies' absolute-form targets).
const USERINFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/;

/**
 * A URL or request-target with the password of its userinfo, its secret query parameters and secret
 * fragment parameters (OAuth 2.0 implicit grant, RFC 6749 §4.2.2: `#access_token=...`) replaced.
 */
export function redactUrl(url: string, rules: CompiledRules, hook?: ParamHook): string {
  const q = url.indexOf('?');
  const h = url.indexOf('#');
  const at = url.indexOf('@');
  if (q < 0 && h < 0 && at < 0) return url;
  let out = url;
  if (at >= 0) {
    const m = USERINFO.exec(out);
    if (m) out = `${m[1]}${rules.replacement}@${out.slice(m[0].length)}`;
  }
  const qi = out.indexOf('?');
  const hi = out.indexOf('#');
  if (qi >= 0 && (hi < 0 || qi < hi)) {
    const end = hi < 0 ? out.length : hi;
    const query = out.slice(qi + 1, end);
    const red = redactParams(query, rules, hook);
    if (red !== query) out = `${out.slice(0, qi + 1)}${red}${out.slice(end)}`;
  }
  const hj = out.indexOf('#');
  if (hj >= 0) {
    const frag = out.slice(hj + 1);
    const red = redactParams(frag, rules);
    if (red !== frag) out = `${out.slice(0, hj + 1)}${red}`;
  }
  return out === url ? url : out;
}

/** Index just past the JSON string starting at `i` (a `"`), or the text's end when it is cut. */
function stringEnd(text: string, i: number): number {
  const n = text.length;
  let j = i + 1;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c === 0x5c) j += 2;
    else if (c === 0x22) return j + 1;
    else j++;
  }
  return n;
}

function skipSpace(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the JSON value starting at `i` (any type; to the text's end when cut). */
function valueEnd(text: string, i: number): number {
  const n = text.length;
  const c = text.charCodeAt(i);
  if (c === 0x22) return stringEnd(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    let j = i;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d === 0x22) {
        j = stringEnd(text, j);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return n;
  }
  let j = i;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    j++;
  }
  return j;
}

function keyText(literal: string): string {
  if (!literal.includes('\\')) return literal.slice(1, literal.endsWith('"') ? -1 : undefined);
  try {
    return JSON.parse(literal) as string;
  } catch {
    return literal.slice(1);
  }
}

/** Rewrites a string value (its JSON literal, quotes included) under `key`; null keeps it. */
export type StringHook = (key: string, literal: string) => string | null;

/**
 * JSON text with the value of every secret key replaced by the replacement (as a JSON string), at any
 * depth, whatever the value's type. A single forward scan over the text, not a parse: formatting is
 * kept, and text cut short (a body over the capture's cap) is handled up to where it stops — a value
 * cut in the middle is replaced to the end. Text that is not JSON comes back unchanged or with
 * `"key": value` pairs replaced where they look like JSON.
 */
export function redactJsonText(
  text: string,
  key: NameMatcher,
  replacementJson: string,
  hook?: StringHook,
): string {
  if (!text.includes('"')) return text;
  const n = text.length;
  // One entry per open container: true for an object.
  const stack: boolean[] = [];
  let expectKey = false;
  const out: string[] = [];
  let copied = 0;
  let i = 0;
  const replace = (from: number, to: number, with_: string): void => {
    out.push(text.slice(copied, from), with_);
    copied = to;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(text, i);
      if (!expectKey) {
        i = end;
        continue;
      }
      expectKey = false;
      const name = keyText(text.slice(i, end));
      let j = skipSpace(text, end);
      if (text.charCodeAt(j) !== 0x3a) {
        i = j;
        continue;
      }
      j = skipSpace(text, j + 1);
      if (j >= n) break;
      if (key.matches(name)) {
        const v = valueEnd(text, j);
        replace(j, v, replacementJson);
        i = v;
        continue;
      }
      if (hook && text.charCodeAt(j) === 0x22) {
        const v = stringEnd(text, j);
        const next = hook(name, text.slice(j, v));
        if (next !== null) replace(j, v, next);
        i = v;
        continue;
      }
      i = j;
      continue;
    }
    if (c === 0x7b) {
      stack.push(true);
      expectKey = true;
    } else if (c === 0x5b) {
      stack.push(false);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) expectKey = stack[stack.length - 1] === true;
    i++;
  }
  if (out.length === 0) return text;
  out.push(text.slice(copied));
  return out.join('');
}

/**
 * A parsed JSON value with every secret key's value replaced, at any depth; the value itself when
 * nothing was (copy on write: only the objects on the way to a secret are copied).
 */
export function redactJsonValue(value: unknown, rules: CompiledRules, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_JSON_DEPTH) return rules.replacement;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const r = redactJsonValue(v, rules, depth + 1);
      if (r !== v) {
        copy ??= value.slice();
        copy[i] = r;
      }
    }
    return copy ?? value;
  }
  const obj = value as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const r = rules.key.matches(k) ? rules.replacement : redactJsonValue(v, rules, depth + 1);
    if (r !== v) {
      copy ??= { ...obj };
      copy[k] = r;
    }
  }
  return copy ?? value;
}

// GraphQL (October 2021) §2.6 Arguments and §2.9.7 Input Object Values: `name: "value"`, block
// strings `"""..."""`, numbers. Variables (`$var`) and enums carry nothing to hide.
const GRAPHQL_ARGUMENT =
  /([_A-Za-z][_0-9A-Za-z]*)(\s*:\s*)("""[\s\S]*?(?:"""|$)|"(?:[^"\\\n]|\\.)*"?|-?\d[\d.eE+-]*)/g;

/** A GraphQL document with the literal values of secret arguments and input fields replaced. */
export function redactGraphqlLiterals(document: string, rules: CompiledRules): string {
  if (!document.includes(':')) return document;
  let changed = false;
  const out = document.replace(GRAPHQL_ARGUMENT, (all, name: string, colon: string) => {
    if (!rules.key.matches(name)) return all;
    changed = true;
    return `${name}${colon}${rules.replacementJson}`;
  });
  return changed ? out : document;
}

const GRAPHQL_VARIABLE_ARGUMENT = /([_A-Za-z][_0-9A-Za-z]*)\s*:\s*\$([_A-Za-z][_0-9A-Za-z]*)/g;

/**
 * The variables a GraphQL document passes to secret arguments or input fields (`login(password:
 * $pw)` -> `pw`): their values are secrets whatever the variables are called.
 */
export function graphqlSecretVariables(document: string, rules: CompiledRules): Set<string> {
  const out = new Set<string>();
  if (!document.includes('$')) return out;
  for (const m of document.matchAll(GRAPHQL_VARIABLE_ARGUMENT)) if (rules.key.matches(m[1]!)) out.add(m[2]!);
  return out;
}

/** GraphQL variables with secret keys, and the variables `secretVariables` names, replaced. */
export function redactGraphqlVariables(
  variables: unknown,
  secretVariables: ReadonlySet<string>,
  rules: CompiledRules,
): unknown {
  let out = redactJsonValue(variables, rules);
  if (secretVariables.size === 0 || typeof out !== 'object' || out === null || Array.isArray(out)) return out;
  const vars = out as Record<string, unknown>;
  for (const name of secretVariables) {
    if (!(name in vars) || vars[name] === rules.replacement) continue;
    if (out === variables) out = { ...vars };
    (out as Record<string, unknown>)[name] = rules.replacement;
  }
  return out;
}

// RFC 7578 §4.2: each part's Content-Disposition names its field; its value runs to the next boundary.
const MULTIPART_FIELD = /(\bname="([^"]*)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)([\s\S]*?)(?=\r?\n--|$)/g;

/** A multipart/form-data body with the values of secret fields replaced. */
export function redactMultipart(body: string, rules: CompiledRules): string {
  let changed = false;
  const out = body.replace(MULTIPART_FIELD, (all, head: string, name: string, value: string) => {
    if (!value || !rules.param.matches(name)) return all;
    changed = true;
    return `${head}${rules.replacement}`;
  });
  return changed ? out : body;
}
