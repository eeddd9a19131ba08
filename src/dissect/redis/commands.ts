/**
 * What a command is, from its arguments: its name as users write it (container commands with their
 * subcommand, `CLIENT SETNAME`), its first key (the key specs of the Redis command reference, for
 * the common shapes), how many pub/sub confirmations it expects, and its secrets redacted.
 */

export const REDACTED = '[redacted]';

/** Commands whose first argument is a subcommand (redis.io: "container commands"). */
const CONTAINERS = new Set([
  'ACL',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'CONFIG',
  'DEBUG',
  'FUNCTION',
  'LATENCY',
  'MEMORY',
  'MODULE',
  'OBJECT',
  'PUBSUB',
  'SCRIPT',
  'SENTINEL',
  'SLOWLOG',
  'XGROUP',
  'XINFO',
]);

/** Commands without keys (their first argument is not a key). */
const KEYLESS = new Set([
  'ACL',
  'ASKING',
  'AUTH',
  'BGREWRITEAOF',
  'BGSAVE',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'CONFIG',
  'DBSIZE',
  'DEBUG',
  'DISCARD',
  'ECHO',
  'EXEC',
  'FAILOVER',
  'FLUSHALL',
  'FLUSHDB',
  'FUNCTION',
  'HELLO',
  'INFO',
  'KEYS',
  'LASTSAVE',
  'LATENCY',
  'LOLWUT',
  'MODULE',
  'MONITOR',
  'MULTI',
  'PING',
  'PSYNC',
  'PUBSUB',
  'QUIT',
  'RANDOMKEY',
  'READONLY',
  'READWRITE',
  'REPLCONF',
  'REPLICAOF',
  'RESET',
  'ROLE',
  'SAVE',
  'SCAN',
  'SCRIPT',
  'SELECT',
  'SENTINEL',
  'SHUTDOWN',
  'SLAVEOF',
  'SLOWLOG',
  'SWAPDB',
  'SYNC',
  'TIME',
  'UNWATCH',
  'WAIT',
  'WAITAOF',
]);

/** Pub/sub commands: their path is the first channel or pattern (they have no keys). */
const PUBSUB = new Set([
  'PUBLISH',
  'SPUBLISH',
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SUNSUBSCRIBE',
]);

/** `numkeys` then keys: the index of numkeys (the first key follows it). */
const NUMKEYS_AT: Record<string, number> = {
  EVAL: 2,
  EVALSHA: 2,
  EVAL_RO: 2,
  EVALSHA_RO: 2,
  FCALL: 2,
  FCALL_RO: 2,
  ZUNION: 1,
  ZINTER: 1,
  ZDIFF: 1,
  ZINTERCARD: 1,
  SINTERCARD: 1,
  LMPOP: 1,
  ZMPOP: 1,
  BLMPOP: 2,
  BZMPOP: 2,
};

/** Container commands whose subcommand takes a key right after it. */
const SUBCOMMAND_KEYS: Record<string, ReadonlySet<string>> = {
  OBJECT: new Set(['ENCODING', 'FREQ', 'IDLETIME', 'REFCOUNT']),
  MEMORY: new Set(['USAGE']),
  XINFO: new Set(['STREAM', 'GROUPS', 'CONSUMERS']),
  XGROUP: new Set(['CREATE', 'CREATECONSUMER', 'DELCONSUMER', 'DESTROY', 'SETID']),
};

/** Pub/sub confirmation kinds (spec "Pub/Sub": the first element of the confirmation). */
export type SubscribeKind =
  | 'subscribe'
  | 'psubscribe'
  | 'ssubscribe'
  | 'unsubscribe'
  | 'punsubscribe'
  | 'sunsubscribe';

const SUBSCRIBE_KINDS: Record<string, SubscribeKind> = {
  SUBSCRIBE: 'subscribe',
  PSUBSCRIBE: 'psubscribe',
  SSUBSCRIBE: 'ssubscribe',
  UNSUBSCRIBE: 'unsubscribe',
  PUNSUBSCRIBE: 'punsubscribe',
  SUNSUBSCRIBE: 'sunsubscribe',
};

const CONFIRMATIONS: ReadonlySet<string> = new Set(Object.values(SUBSCRIBE_KINDS));

export function isSubscribeKind(s: string): s is SubscribeKind {
  return CONFIRMATIONS.has(s);
}

export interface Command {
  /** The arguments as sent, command name first; cut per the caps, secrets redacted. */
  args: string[];
  /** How many arguments there were (the array's count). */
  argCount: number;
  /** Some argument was cut or left out. */
  truncated: boolean;
  inline: boolean;
  /** The summary's method: the command in upper case, with its subcommand for containers. */
  name: string;
  /** The first key (the channel for pub/sub commands); '' when none. */
  key: string;
  /** For (P|S)(UN)SUBSCRIBE: the confirmation kind the server answers with. */
  subscribe: SubscribeKind | null;
}

function upper(s: string | undefined): string {
  return (s ?? '').toUpperCase();
}

/** A subcommand is a word (`SETNAME`, `GET`, `NO-EVICT`); anything else is not named. */
function isWord(s: string | undefined): s is string {
  return s !== undefined && /^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(s);
}

/** What the command name alone decides, worked out once per name (see `infoOf`). */
interface NameInfo {
  /** The name upper-cased. */
  first: string;
  container: boolean;
  /** Where the first key is (firstKey's rules). */
  key: KeyRule;
  /** Some argument may be a secret (redact). */
  secret: boolean;
  subscribe: SubscribeKind | null;
}

type KeyRule = 'channel' | 'none' | 'subcommand' | 'numkeys' | 'streams' | 'migrate' | 'bitop' | 'first';

function keyRule(cmd: string): KeyRule {
  if (PUBSUB.has(cmd)) return 'channel';
  if (KEYLESS.has(cmd) && !(cmd in SUBCOMMAND_KEYS)) return 'none';
  if (SUBCOMMAND_KEYS[cmd]) return 'subcommand';
  if (NUMKEYS_AT[cmd] !== undefined) return 'numkeys';
  switch (cmd) {
    case 'XREAD':
    case 'XREADGROUP':
      return 'streams';
    case 'MIGRATE':
      return 'migrate';
    case 'BITOP':
      return 'bitop';
    default:
      return 'first';
  }
}

const SECRET_BEARING = new Set(['AUTH', 'HELLO', 'MIGRATE', 'CONFIG', 'ACL']);

/**
 * Names seen, as sent (a connection repeats a handful of commands, and the fast path hands over the
 * same string object for each). Bounded: past the cap, names are worked out each time.
 */
const MAX_NAMES = 1024;
const names = new Map<string, NameInfo>();

function infoOf(raw: string): NameInfo {
  let info = names.get(raw);
  if (info) return info;
  const first = upper(raw);
  info = {
    first,
    container: CONTAINERS.has(first),
    key: keyRule(first),
    secret: SECRET_BEARING.has(first),
    subscribe: SUBSCRIBE_KINDS[first] ?? null,
  };
  if (names.size < MAX_NAMES) names.set(raw, info);
  return info;
}

/**
 * How many leading arguments `describe` reads for the command named `raw`: the name, a subcommand,
 * the first key (after numkeys at most the fourth argument), or all of them where the key follows
 * a keyword (XREAD's STREAMS, MIGRATE's KEYS). Without detail, only those are decoded.
 */
export function argsNeeded(raw: string): number {
  const rule = infoOf(raw).key;
  return rule === 'streams' || rule === 'migrate' ? Number.POSITIVE_INFINITY : 4;
}

export function describe(args: string[], argCount: number, truncated: boolean, inline: boolean): Command {
  const info = infoOf(args[0] ?? '');
  const first = info.first;
  const container = info.container && isWord(args[1]);
  const name = container ? `${first} ${upper(args[1])}` : first;
  return {
    args: info.secret ? redact(first, args) : args,
    argCount,
    truncated,
    inline,
    name,
    key: firstKey(info.key, first, args),
    subscribe: info.subscribe,
  };
}

function firstKey(rule: KeyRule, cmd: string, args: string[]): string {
  switch (rule) {
    case 'first':
      // Most commands (and module commands such as JSON.GET) take their first key first.
      return args[1] ?? '';
    case 'channel':
      return args[1] ?? '';
    case 'none':
      return '';
    case 'subcommand':
      return SUBCOMMAND_KEYS[cmd]!.has(upper(args[1])) ? (args[2] ?? '') : '';
    case 'numkeys': {
      const numkeysAt = NUMKEYS_AT[cmd]!;
      const n = Number(args[numkeysAt]);
      return Number.isInteger(n) && n > 0 ? (args[numkeysAt + 1] ?? '') : '';
    }
  }
  switch (cmd) {
    case 'XREAD':
    case 'XREADGROUP': {
      // XREAD [COUNT n] [BLOCK ms] STREAMS key... id...
      const at = args.findIndex((a, i) => i > 0 && upper(a) === 'STREAMS');
      return at > 0 ? (args[at + 1] ?? '') : '';
    }
    case 'MIGRATE': {
      // MIGRATE host port key|"" db timeout [...] [KEYS key...]
      if (args[3]) return args[3];
      const at = args.findIndex((a, i) => i > 5 && upper(a) === 'KEYS');
      return at > 0 ? (args[at + 1] ?? '') : '';
    }
    case 'BITOP':
      return args[2] ?? ''; // BITOP op destkey key...
    default:
      return args[1] ?? '';
  }
}

/** The pub/sub channels or patterns a (P|S)(UN)SUBSCRIBE names. */
export function channelCount(c: Command): number {
  return Math.max(0, c.argCount - 1);
}

/**
 * Secrets never leave the dissector: AUTH's password (AUTH [username] password), HELLO's
 * `AUTH username password`, MIGRATE's `AUTH password` / `AUTH2 username password`, CONFIG SET of
 * requirepass / masterauth, and ACL SETUSER's password rules (`>pass`, `<pass`, `#hash`, `!hash`).
 */
function redact(cmd: string, args: string[]): string[] {
  // A copy: the caller's array is its own (the arguments as sent).
  const out = args.slice();
  switch (cmd) {
    case 'AUTH':
      if (out.length === 2) out[1] = REDACTED;
      else if (out.length >= 3) out[2] = REDACTED;
      break;
    case 'HELLO':
      for (let i = 2; i < out.length; i++) {
        if (upper(out[i]) === 'AUTH') {
          if (i + 2 < out.length) out[i + 2] = REDACTED;
          i += 2;
        }
      }
      break;
    case 'MIGRATE':
      for (let i = 6; i < out.length; i++) {
        const w = upper(out[i]);
        if (w === 'AUTH' && i + 1 < out.length) out[i + 1] = REDACTED;
        else if (w === 'AUTH2' && i + 2 < out.length) out[i + 2] = REDACTED;
      }
      break;
    case 'CONFIG':
      if (upper(out[1]) === 'SET') {
        for (let i = 2; i + 1 < out.length; i += 2) {
          const p = (out[i] ?? '').toLowerCase();
          if (p === 'requirepass' || p === 'masterauth' || p === 'masteruser') out[i + 1] = REDACTED;
        }
      }
      break;
    case 'ACL':
      if (upper(out[1]) === 'SETUSER') {
        for (let i = 3; i < out.length; i++) if (/^[<>#!]/.test(out[i] ?? '')) out[i] = REDACTED;
      }
      break;
  }
  return out;
}
