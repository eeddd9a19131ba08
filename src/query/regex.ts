/**
 * Regular expressions of the query language: JavaScript's engine (with the `u` flag, so `.` is a
 * code point as in RE2) on the subset CEL's `matches()` allows (RE2, cel-spec "Regular
 * expressions"): no backreferences, no lookaround. A leading RE2 flag group `(?i)`, `(?s)`,
 * `(?m)` becomes the JavaScript flag, and `(?P<name>` the JavaScript named group.
 *
 * A backtracking engine can take exponential time on nested unbounded repetition (`(a+)+$` on
 * "aaaa…b"); such patterns are refused at check time, so a filter cannot stall the hub (CONTRACTS.md:
 * "an invalid regular expression in a filter killed the request"). The predicate and the SQL
 * `regexp()` function share `compiledRegex`, so both run the very same RegExp.
 */

import { QueryError } from './errors.js';

/** The pattern turned into JavaScript source and flags, or why it is refused. */
export function translateRegex(pattern: string): { source: string; flags: string } | { error: string } {
  let body = pattern;
  let flags = '';
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(body);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === 'i' || f === 'm' || f === 's') {
        if (!flags.includes(f)) flags += f;
      } else return { error: `flag '${f}' in (?${lead[1]}) is not supported (only i, m and s)` };
    }
    body = body.slice(lead[0].length);
  }
  body = body.replace(/\(\?P</g, '(?<');
  const refused = refuse(body);
  if (refused) return { error: refused };
  try {
    new RegExp(body, `${flags}u`);
  } catch (e) {
    return { error: (e as Error).message.replace(/^Invalid regular expression: (\/.*\/[a-z]*: )?/s, '') };
  }
  return { source: body, flags: `${flags}u` };
}

/**
 * Backreferences and lookaround (not RE2), and an unbounded quantifier over a group that itself
 * holds one (the classic catastrophic-backtracking shape).
 */
function refuse(src: string): string | undefined {
  const frames: boolean[] = [false];
  let i = 0;
  let inClass = false;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') {
      const e = src[i + 1] ?? '';
      if (!inClass && ((e >= '1' && e <= '9') || e === 'k'))
        return 'backreferences (\\1, \\k<name>) are not supported (RE2 syntax, as in CEL)';
      i += 2;
      if (!inClass) i = quantified(src, i, frames, false);
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        i = quantified(src, i + 1, frames, false);
      } else i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      i++;
      if (src[i] === '^') i++;
      if (src[i] === ']') i++;
      continue;
    }
    if (c === '(') {
      if (/^\(\?(?:=|!|<=|<!)/.test(src.slice(i, i + 4)))
        return 'lookahead and lookbehind are not supported (RE2 syntax, as in CEL)';
      frames.push(false);
      i++;
      continue;
    }
    if (c === ')') {
      const inner = frames.length > 1 ? frames.pop()! : false;
      i = quantified(src, i + 1, frames, inner);
      if (i < 0) return 'nested unbounded repetition such as (a+)+ can take exponential time; rewrite it';
      continue;
    }
    i = quantified(src, i + 1, frames, false);
  }
  return undefined;
}

/**
 * After an atom ending before `i`: reads its quantifier, if any, and records whether the enclosing
 * group now holds unbounded repetition. Returns the index after the quantifier, or -1 when an
 * unbounded quantifier applies to a group that already repeats without bound.
 */
function quantified(src: string, i: number, frames: boolean[], atomUnbounded: boolean): number {
  let unbounded = false;
  let j = i;
  const c = src[j];
  if (c === '*' || c === '+') {
    unbounded = true;
    j++;
  } else if (c === '?') {
    j++;
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(j));
    if (m) {
      unbounded = m[2] !== undefined && m[3] === '';
      j += m[0].length;
    }
  }
  if (j > i && (src[j] === '?' || src[j] === '+')) j++;
  if (unbounded && atomUnbounded) return -1;
  const top = frames.length - 1;
  frames[top] = frames[top]! || unbounded || atomUnbounded;
  return j;
}

/** The pattern matching the whole value (Kubeshark's `response.status == r"4.*"` means 4xx). */
export function anchored(pattern: string): string {
  const lead = /^\(\?[a-zA-Z]+\)/.exec(pattern);
  const flags = lead ? lead[0] : '';
  return `${flags}^(?:${pattern.slice(flags.length)})$`;
}

/** Compiled patterns kept for the SQL function (bounded; evictions counted). */
export const REGEX_CACHE_SIZE = 256;
const cache = new Map<string, RegExp>();
export const regexCacheStats = { hits: 0, misses: 0, evicted: 0 };

/** The RegExp for a pattern the checker accepted; throws QueryError for one it would refuse. */
export function compiledRegex(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) {
    regexCacheStats.hits++;
    return hit;
  }
  regexCacheStats.misses++;
  const t = translateRegex(pattern);
  // Only SQL written elsewhere can get here with a bad pattern (the checker refuses them): still
  // a coded error, which SQLite passes up to the statement's caller.
  if ('error' in t)
    throw new QueryError('query.regex', `invalid regular expression /${pattern}/: ${t.error}`, {
      start: 0,
      end: 0,
    });
  const re = new RegExp(t.source, t.flags);
  if (cache.size >= REGEX_CACHE_SIZE) {
    cache.delete(cache.keys().next().value as string);
    regexCacheStats.evicted++;
  }
  cache.set(pattern, re);
  return re;
}

/** The text a regular expression sees: strings as they are, numbers in JavaScript's decimal form. */
export function regexSubject(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}
