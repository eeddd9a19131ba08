/**
 * k8spacket's node-graph filters (CONTRACTS.md; k8spacket's repository Query): `namespace`
 * keeps a connection when the source's or the destination's namespace matches; `include` keeps it
 * when the source or destination IP or name matches; `exclude` drops it when any of them does.
 * Patterns are unanchored regular expressions; an empty one filters nothing. Names are matched as
 * the graph shows them (`pod.web-1`, `svc.web`, `N/A`), the address as the node's subtitle.
 *
 * Patterns follow Go's RE2 syntax as k8spacket's did, through the query language's translation
 * (src/query/regex.ts: a leading `(?i)` becomes a flag; backreferences, lookaround and nested
 * unbounded repetition are refused, so a pattern cannot stall the hub). A bad pattern is an error
 * value naming the parameter: k8spacket's `regexp.MustCompile` panicked and killed the request.
 */
import { translateRegex } from '../../query/regex.js';

/** Longest pattern accepted (a dashboard textbox, not a program). */
export const MAX_PATTERN_LENGTH = 1024;

export interface GraphFilters {
  namespace: RegExp | null;
  include: RegExp | null;
  exclude: RegExp | null;
}

export const NO_FILTERS: GraphFilters = Object.freeze({ namespace: null, include: null, exclude: null });

/** A parameter that could not be used: which one and why. */
export interface FilterError {
  parameter: string;
  message: string;
}

/** One pattern, or the reason it is refused. */
export function compilePattern(parameter: string, pattern: string | undefined): RegExp | null | FilterError {
  if (pattern === undefined || pattern === '') return null;
  if (pattern.length > MAX_PATTERN_LENGTH)
    return {
      parameter,
      message: `\`${parameter}\` is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are accepted`,
    };
  const t = translateRegex(pattern);
  if ('error' in t)
    return {
      parameter,
      message: `\`${parameter}\` is not a valid regular expression (${JSON.stringify(pattern.slice(0, 100))}): ${t.error}`,
    };
  return new RegExp(t.source, t.flags);
}

export function isFilterError(v: unknown): v is FilterError {
  return typeof v === 'object' && v !== null && 'parameter' in v && 'message' in v;
}

/** The three filters of a request, or the first bad one. */
export function compileFilters(q: {
  namespace?: string | undefined;
  include?: string | undefined;
  exclude?: string | undefined;
}): GraphFilters | FilterError {
  const namespace = compilePattern('namespace', q.namespace);
  if (isFilterError(namespace)) return namespace;
  const include = compilePattern('include', q.include);
  if (isFilterError(include)) return include;
  const exclude = compilePattern('exclude', q.exclude);
  if (isFilterError(exclude)) return exclude;
  return { namespace, include, exclude };
}

/** What the filters look at on one connection. */
export interface FilterSubject {
  src: string;
  srcName: string;
  srcNamespace: string;
  dst: string;
  dstName: string;
  dstNamespace: string;
}

export function admits(f: GraphFilters, s: FilterSubject): boolean {
  if (f.namespace && !(f.namespace.test(s.srcNamespace) || f.namespace.test(s.dstNamespace))) return false;
  if (f.include && !anyMatch(f.include, s)) return false;
  if (f.exclude && anyMatch(f.exclude, s)) return false;
  return true;
}

function anyMatch(re: RegExp, s: FilterSubject): boolean {
  return re.test(s.src) || re.test(s.srcName) || re.test(s.dst) || re.test(s.dstName);
}
