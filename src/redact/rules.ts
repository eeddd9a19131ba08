/**
 * What counts as a secret: header names, query-string parameters, JSON keys, and words that make any
 * name secret wherever it appears. Rules are plain data (the CLI builds them from flags); each rule
 * set is compiled once, on first use, into name matchers with a bounded cache.
 *
 * Names are compared by their letters and digits only, case-insensitively: `X-Api-Key`, `x_api_key`
 * and `XApiKey` are one name. A word matches a whole word of a name (split at punctuation and at
 * camelCase humps): `token` makes `access_token`, `X-Auth-Token` and `csrfToken` secret but not
 * `max_tokens` or `tokenizer`. A word given as several (`api key`) matches them adjacent or run
 * together (`api_key`, `apiKey`, `APIKEY`).
 */
import { nameWords, normalName } from './names.js';

export interface RedactionRules {
  /** Header (and trailer) names whose values are replaced: HTTP/1.x, HTTP/2, gRPC metadata. */
  readonly headers: readonly string[];
  /** Query-string, fragment and form-body parameters whose values are replaced. */
  readonly queryParams: readonly string[];
  /** JSON object keys whose values (of any type) are replaced, at any depth. */
  readonly jsonKeys: readonly string[];
  /** Words that make any header, parameter or key secret (see the file comment). */
  readonly words: readonly string[];
  /** What a secret value becomes. */
  readonly replacement: string;
}

/**
 * The defaults (docs/redaction.md): credentials HTTP defines (RFC 9110 §11.6.2 Authorization, §11.7.2
 * Proxy-Authorization; RFC 6265 Cookie and Set-Cookie), API keys and tokens however they are named,
 * passwords and secrets, the parameters that carry them in URLs (Google's `key`, Firebase's `auth`,
 * Azure SAS `sig`, S3 presigned `X-Amz-Signature`, `jwt`).
 */
export const DEFAULT_RULES: RedactionRules = Object.freeze({
  headers: Object.freeze(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']),
  queryParams: Object.freeze([
    'key',
    'auth',
    'sig',
    'signature',
    'x-amz-signature',
    'x-goog-signature',
    'jwt',
  ]),
  jsonKeys: Object.freeze(['authorization', 'cookie', 'set-cookie', 'jwt']),
  words: Object.freeze([
    'password',
    'passwd',
    'pwd',
    'passphrase',
    'secret',
    'token',
    'apikey',
    'api key',
    'private key',
    'credential',
    'credentials',
    'otp',
  ]),
  replacement: '[REDACTED]',
});

/** Additions to a rule set, as the CLI's flags give them. */
export interface RedactionExtras {
  headers?: readonly string[];
  queryParams?: readonly string[];
  jsonKeys?: readonly string[];
  words?: readonly string[];
  replacement?: string;
}

/**
 * `base` with `extra`'s names added (and its replacement, if given). Throws a RangeError naming the
 * list and the name when a name has no letter or digit (it could never match).
 */
export function extendRules(extra: RedactionExtras, base: RedactionRules = DEFAULT_RULES): RedactionRules {
  const merge = (list: 'headers' | 'queryParams' | 'jsonKeys' | 'words'): readonly string[] => {
    const added = extra[list] ?? [];
    for (const n of added) checkName(list, n);
    return Object.freeze([...new Set([...base[list], ...added])]);
  };
  const replacement = extra.replacement ?? base.replacement;
  if (typeof replacement !== 'string') throw new RangeError('redaction: the replacement must be a string');
  return Object.freeze({
    headers: merge('headers'),
    queryParams: merge('queryParams'),
    jsonKeys: merge('jsonKeys'),
    words: merge('words'),
    replacement,
  });
}

function checkName(list: string, name: unknown): void {
  if (typeof name !== 'string' || normalName(name) === '')
    throw new RangeError(
      `redaction: ${list} entry ${JSON.stringify(name)} has no letter or digit, so it could never match`,
    );
}

/** Most distinct names remembered per matcher; past it the memory is cleared and counted. */
export const NAME_CACHE_MAX = 4096;

/** Decides, with a bounded memory of answers, whether a name is secret under one list plus the words. */
export class NameMatcher {
  private readonly cache = new Map<string, boolean>();
  /** Times the cache was full and cleared. */
  cleared = 0;

  constructor(
    private readonly exact: ReadonlySet<string>,
    private readonly words: ReadonlySet<string>,
    private readonly longestWord: number,
  ) {}

  matches(name: string): boolean {
    const known = this.cache.get(name);
    if (known !== undefined) return known;
    const answer = this.decide(name);
    if (this.cache.size >= NAME_CACHE_MAX) {
      this.cache.clear();
      this.cleared++;
    }
    this.cache.set(name, answer);
    return answer;
  }

  private decide(name: string): boolean {
    if (this.exact.has(normalName(name))) return true;
    if (this.words.size === 0) return false;
    const w = nameWords(name);
    // Any run of adjacent words whose concatenation is a word of the rules: `api`+`key` = `apikey`.
    for (let i = 0; i < w.length; i++) {
      let run = '';
      for (let j = i; j < w.length; j++) {
        run += w[j];
        if (run.length > this.longestWord) break;
        if (this.words.has(run)) return true;
      }
    }
    return false;
  }
}

/** A rule set ready to use. */
export interface CompiledRules {
  readonly header: NameMatcher;
  readonly param: NameMatcher;
  readonly key: NameMatcher;
  readonly replacement: string;
  /** The replacement as a JSON string literal. */
  readonly replacementJson: string;
}

const compiledCache = new WeakMap<RedactionRules, CompiledRules>();

/** The compiled form of `rules`, built once per rule object (rules are not to be changed after use). */
export function compileRules(rules: RedactionRules): CompiledRules {
  const known = compiledCache.get(rules);
  if (known) return known;
  const words = new Set<string>();
  for (const w of rules.words) {
    const joined = nameWords(w).join('');
    if (joined) words.add(joined);
  }
  let longest = 0;
  for (const w of words) longest = Math.max(longest, w.length);
  const set = (names: readonly string[]): Set<string> => new Set(names.map(normalName).filter(Boolean));
  const compiled: CompiledRules = {
    header: new NameMatcher(set(rules.headers), words, longest),
    param: new NameMatcher(set(rules.queryParams), words, longest),
    key: new NameMatcher(set(rules.jsonKeys), words, longest),
    replacement: rules.replacement,
    replacementJson: JSON.stringify(rules.replacement),
  };
  compiledCache.set(rules, compiled);
  return compiled;
}

/** How often each of a rule set's name caches filled up and was cleared (bounded-memory counters). */
export function redactionCounters(rules: RedactionRules = DEFAULT_RULES): {
  headerCacheCleared: number;
  paramCacheCleared: number;
  keyCacheCleared: number;
} {
  const c = compileRules(rules);
  return {
    headerCacheCleared: c.header.cleared,
    paramCacheCleared: c.param.cleared,
    keyCacheCleared: c.key.cleared,
  };
}
