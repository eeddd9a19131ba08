/**
 * The checker: resolves names against the field schema (fields.ts), types every operand, folds
 * constants (`now() - duration("5m")`, units), and lowers the syntax tree to a small plan of
 * atoms that the predicate (predicate.ts) and the SQL compiler (sql.ts) both translate. Keeping
 * one lowering is what makes their semantics one: each atom's meaning is defined in values.ts.
 *
 * Errors are QueryErrors pointing at the offending text; nothing is silently false at check time
 * (DESIGN.md: "a field that does not exist is an error that names the closest field").
 */

import { PROTOCOLS } from '../dissect/entry.js';
import type { CompareOp, Expr, MatchOp, Path, Span } from './ast.js';
import { pathText } from './ast.js';
import { QueryError } from './errors.js';
import {
  ALIASES,
  type FieldInfo,
  type FieldType,
  fieldInfo,
  type GuardDef,
  knownNames,
  LISTS,
  type ListDef,
  PROTOCOL_ALIASES,
  ROOTS,
} from './fields.js';
import { anchored, translateRegex } from './regex.js';
import { closest } from './suggest.js';
import { parseDuration, parseTimestamp } from './time.js';
import { asciiLower, compare } from './values.js';

/** Where a value lives in the entry's JSON, and how to read it. */
export interface FieldRef {
  /** Names and array indexes from the entry's root. */
  readonly path: readonly (string | number)[];
  /** Index of the segment whose key matches without ASCII case (header names), else -1. */
  readonly ci: number;
  /** Numbers read are multiplied by this (1: as stored). */
  readonly scale: number;
  /** A known scalar field the store may keep in a column of its own (SqlTarget.column). */
  readonly column: boolean;
}

export type Scalar = string | number | boolean | null;
export type Operand =
  | { readonly k: 'field'; readonly ref: FieldRef }
  | { readonly k: 'const'; readonly value: Scalar };

/** The value of `ref` is a string among `values`. */
export interface Guard {
  readonly ref: FieldRef;
  readonly values: readonly string[];
}

export type Plan =
  | { readonly k: 'const'; readonly value: boolean }
  | { readonly k: 'and' | 'or'; readonly items: readonly Plan[] }
  | { readonly k: 'not'; readonly item: Plan }
  /** `a op b` (values.ts `compare`); `b` is never the null constant (that is missing/exists). */
  | { readonly k: 'cmp'; readonly op: CompareOp; readonly a: FieldRef; readonly b: Operand }
  /** Absent or null. */
  | { readonly k: 'missing'; readonly ref: FieldRef }
  /** Present and not null. */
  | { readonly k: 'exists'; readonly ref: FieldRef }
  /** The boolean true. */
  | { readonly k: 'true'; readonly ref: FieldRef }
  | {
      readonly k: 'text';
      readonly op: 'contains' | 'prefix' | 'suffix';
      readonly ref: FieldRef;
      readonly text: string;
    }
  /** A string, or a number's decimal text, in which `pattern` (regex.ts) finds a match. */
  | { readonly k: 'regex'; readonly ref: FieldRef; readonly pattern: string }
  /**
   * `el` is an element of the array at `coll` (`==`; the null constant matches null elements), or
   * a key of the object there (`ci`: without ASCII case); with `key`, `el` is compared with that
   * field of each element that is an object.
   */
  | {
      readonly k: 'member';
      readonly coll: FieldRef;
      readonly el: Operand;
      readonly ci: boolean;
      readonly key?: string;
    }
  /** `then` where the guard holds, else the constant `otherwise` (the field reads as absent). */
  | { readonly k: 'when'; readonly guard: Guard; readonly then: Plan; readonly otherwise: boolean };

export interface CheckOptions {
  /** now(), µs since the epoch. */
  readonly nowUs: number;
}

// ---- typed operands ----

type ConstType = 'string' | 'number' | 'boolean' | 'null' | 'timestamp' | 'duration';

interface FieldVal {
  readonly k: 'field';
  readonly ref: FieldRef;
  readonly guard: Guard | null;
  readonly type: FieldType;
  readonly info: FieldInfo | undefined;
  readonly ciKeys: boolean;
  readonly label: string;
  readonly span: Span;
}
interface ConstVal {
  readonly k: 'const';
  /** timestamps in µs; durations in ns until converted to a field's unit. */
  readonly value: Scalar;
  readonly type: ConstType;
  readonly span: Span;
}
interface RegexVal {
  readonly k: 'regex';
  readonly pattern: string;
  readonly span: Span;
}
interface ListVal {
  readonly k: 'list';
  readonly items: readonly ConstVal[];
  readonly span: Span;
}
interface DerivedVal {
  readonly k: 'derived';
  readonly name: string;
  readonly def: ListDef;
  readonly span: Span;
}
type Val = FieldVal | ConstVal | RegexVal | ListVal | DerivedVal;

const COLUMN_TYPES = new Set<FieldType>(['string', 'number', 'timestamp', 'duration', 'string|number']);
const NS_PER: Record<string, number> = { µs: 1e3, ms: 1e6 };

function typeErr(message: string, span: Span, hint?: string): QueryError {
  return new QueryError('query.type', message, span, hint);
}

const ARTICLES: Record<FieldType | ConstType, string> = {
  string: 'a string',
  number: 'a number',
  timestamp: 'a timestamp',
  duration: 'a duration',
  'string|number': 'a string or a number',
  boolean: 'a boolean',
  object: 'an object',
  list: 'a list',
  any: 'a value',
  null: 'null',
};
function article(t: FieldType | ConstType): string {
  return ARTICLES[t];
}

function ref(path: readonly (string | number)[], opts: Partial<FieldRef> = {}): FieldRef {
  return { path, ci: opts.ci ?? -1, scale: opts.scale ?? 1, column: opts.column ?? false };
}

function guardOf(def: GuardDef | undefined): Guard | null {
  if (!def) return null;
  return { ref: ref(def.path, { column: true }), values: def.values };
}

const PROTOCOL_REF = ref(['protocol'], { column: true });

function protocolName(word: string): string | undefined {
  if ((PROTOCOLS as readonly string[]).includes(word)) return word;
  return PROTOCOL_ALIASES[word];
}

class Checker {
  constructor(private readonly opts: CheckOptions) {}

  // ---- names ----

  private resolve(p: Path): FieldVal | DerivedVal | { k: 'protocol'; name: string; span: Span } {
    const segs = p.segments;
    const label = pathText(p);
    let names = 0;
    while (names < segs.length && segs[names]!.kind === 'name') names++;
    let base: readonly string[] | undefined;
    let info: FieldInfo | undefined;
    let guard: Guard | null = null;
    let scale = 1;
    let used = 0;
    for (let k = names; k >= 1 && !base; k--) {
      const dotted = segs
        .slice(0, k)
        .map((s) => s.value)
        .join('.');
      const alias = ALIASES.get(dotted);
      if (alias) {
        base = alias.to;
        info = alias.info;
        guard = guardOf(alias.guard);
        scale = alias.scale ?? 1;
        used = k;
        break;
      }
      const list = LISTS.get(dotted);
      if (list) {
        if (k < segs.length)
          throw new QueryError(
            'query.unknown-field',
            `'${dotted}' is a list; it has no field '${segs[k]!.raw}'`,
            segs[k]!.span,
            `test it with in: "x" in ${dotted}`,
          );
        return { k: 'derived', name: dotted, def: list, span: p.span };
      }
    }
    if (!base) {
      const first = String(segs[0]!.value);
      if (!ROOTS.has(first)) {
        const proto = segs.length === 1 ? protocolName(first) : undefined;
        if (proto) return { k: 'protocol', name: proto, span: p.span };
        throw this.unknown(label, first, p.span);
      }
      base = [first];
      info = fieldInfo(base);
      used = 1;
    }
    const path: (string | number)[] = [...base];
    let open = info?.type === 'any' || info?.open === true;
    let ci = -1;
    let ciKeys = info?.caseInsensitiveKeys === true;
    for (let i = used; i < segs.length; i++) {
      const seg = segs[i]!;
      if (open) {
        if (ciKeys && ci < 0 && typeof seg.value === 'string') {
          ci = path.length;
          path.push(asciiLower(seg.value));
        } else path.push(seg.value);
        const known = path.every((s) => typeof s === 'string') ? fieldInfo(path as string[]) : undefined;
        ciKeys = known?.caseInsensitiveKeys === true && ci < 0;
        info = known;
        continue;
      }
      if (info?.type === 'object' && typeof seg.value === 'string') {
        const child = fieldInfo([...(path as string[]), seg.value]);
        if (!child) {
          // Suggest from the whole dotted rest (`dst.pod.nmae` is one edit from `dst.pod.name`).
          let last = i;
          while (last + 1 < segs.length && segs[last + 1]!.kind === 'name') last++;
          const prefix = `${path.join('.')}.`;
          const typed =
            prefix +
            segs
              .slice(i, last + 1)
              .map((x) => x.raw)
              .join('.');
          const candidates = knownNames().filter((n) => n.startsWith(prefix));
          const guess = closest(typed, candidates);
          throw new QueryError(
            'query.unknown-field',
            `unknown field '${typed}'${guess ? `; did you mean '${guess}'?` : ''}`,
            { start: p.span.start, end: segs[last]!.span.end },
            guess
              ? undefined
              : `${path.join('.')} has ${candidates.map((c) => c.slice(prefix.length)).join(', ')}`,
          );
        }
        path.push(seg.value);
        info = child;
        open = child.open === true || child.type === 'any';
        ciKeys = child.caseInsensitiveKeys === true;
        continue;
      }
      const what = info ? article(info.type) : 'a value';
      throw new QueryError(
        'query.unknown-field',
        `'${path.join('.')}' is ${what}; it has no ${seg.kind === 'index' ? 'index' : 'field'} ${seg.kind === 'name' ? `'${seg.raw}'` : `[${seg.raw}]`}`,
        seg.span,
      );
    }
    const atOpen = path.length > 1 && (path[0] === 'request' || path[0] === 'response');
    // Below request/response the schema only documents: protocol detail is typed at run time.
    const type: FieldType = atOpen ? 'any' : (info?.type ?? 'any');
    const column = !atOpen && ci < 0 && COLUMN_TYPES.has(type) && path.every((s) => typeof s === 'string');
    return {
      k: 'field',
      ref: ref(path, { ci, scale, column }),
      guard,
      type,
      info,
      ciKeys,
      label,
      span: p.span,
    };
  }

  /** Unknown root: the closest whole name, else the closest root name. */
  private unknown(label: string, first: string, span: Span): QueryError {
    const names = knownNames();
    const guess = closest(label, names) ?? closest(first, names);
    return new QueryError(
      'query.unknown-field',
      `unknown field '${label}'${guess ? `; did you mean '${guess}'?` : ''}`,
      span,
      guess ? undefined : 'the fields are listed in docs/query.md ("Fields")',
    );
  }

  // ---- values ----

  private value(e: Expr): Val {
    switch (e.type) {
      case 'Group':
        return this.value(e.expr);
      case 'Literal':
        return {
          k: 'const',
          value: e.value,
          type: e.value === null ? 'null' : (typeof e.value as 'string' | 'number' | 'boolean'),
          span: e.span,
        };
      case 'Regex': {
        const t = translateRegex(e.pattern);
        if ('error' in t)
          throw new QueryError('query.regex', `invalid regular expression: ${t.error}`, e.span);
        return { k: 'regex', pattern: e.pattern, span: e.span };
      }
      case 'Path': {
        const r = this.resolve(e);
        if (r.k === 'protocol')
          throw typeErr(
            `'${pathText(e)}' is a protocol condition, not a value`,
            e.span,
            `write protocol == "${r.name}" to compare the protocol`,
          );
        return r;
      }
      case 'List': {
        const items = e.items.map((it) => {
          const v = this.value(it);
          if (v.k !== 'const' || v.type === 'duration')
            throw typeErr('list items must be strings, numbers, booleans, null or timestamps', it.span);
          return v;
        });
        return { k: 'list', items, span: e.span };
      }
      case 'Call':
        return this.call(e.name, e.args, e.span);
      case 'Negate': {
        const v = this.value(e.operand);
        if (v.k === 'const' && (v.type === 'number' || v.type === 'duration'))
          return { ...v, value: -(v.value as number) + 0, span: e.span };
        throw typeErr('- applies to numbers and durations only', e.span);
      }
      case 'Arith':
        return this.arith(e.op, e.left, e.right, e.span);
      default:
        throw typeErr('a condition cannot be used as a value here', e.span);
    }
  }

  private call(name: 'timestamp' | 'duration' | 'now', args: readonly Expr[], span: Span): ConstVal {
    if (name === 'now') return { k: 'const', value: this.opts.nowUs, type: 'timestamp', span };
    const arg = args[0]!;
    if (arg.type !== 'Literal' || typeof arg.value !== 'string')
      throw typeErr(
        `${name}() takes a string literal`,
        arg.span,
        `${name}("${name === 'timestamp' ? '2026-01-02T03:04:05Z' : '1.5s'}")`,
      );
    if (name === 'timestamp') {
      const t = parseTimestamp(arg.value);
      if (typeof t !== 'number')
        throw new QueryError('query.timestamp', `invalid timestamp: ${t.error}`, arg.span);
      return { k: 'const', value: t, type: 'timestamp', span };
    }
    const d = parseDuration(arg.value);
    if (typeof d !== 'number')
      throw new QueryError('query.duration', `invalid duration: ${d.error}`, arg.span);
    return { k: 'const', value: d, type: 'duration', span };
  }

  private arith(op: '+' | '-', le: Expr, re: Expr, span: Span): ConstVal {
    if (op === '-' && le.type === 'Path' && re.type === 'Path' && le.span.end + 1 === re.span.start)
      throw new QueryError(
        'query.syntax',
        `'${pathText(le)}-${pathText(re)}' reads as a subtraction`,
        span,
        hyphenHint(le, re),
      );
    const l = this.value(le);
    const r = this.value(re);
    if (l.k !== 'const' || r.k !== 'const')
      throw typeErr(
        `${op} applies to constants, not to fields`,
        span,
        'arithmetic applies to numbers, timestamp(), duration() and now()',
      );
    const a = l.value as number;
    const b = r.value as number;
    const sign = op === '+' ? 1 : -1;
    const out = (value: number, type: ConstType): ConstVal => ({ k: 'const', value, type, span });
    const t = `${l.type} ${r.type}`;
    switch (t) {
      case 'number number':
        return out(a + sign * b, 'number');
      case 'duration duration':
        return out(a + sign * b, 'duration');
      case 'timestamp duration':
        return out(a + sign * Math.round(b / 1000), 'timestamp');
      case 'timestamp number':
        return out(a + sign * b, 'timestamp');
      case 'duration timestamp':
      case 'number timestamp':
        if (op === '+') return out(b + (l.type === 'duration' ? Math.round(a / 1000) : a), 'timestamp');
        break;
      case 'timestamp timestamp':
        if (op === '-') return out((a - b) * 1000, 'duration');
        break;
    }
    throw typeErr(
      `cannot ${op === '+' ? 'add' : 'subtract'} ${article(r.type)} ${op === '+' ? 'to' : 'from'} ${article(l.type)}`,
      span,
    );
  }

  /** A constant as the field it meets reads it (durations in the field's unit), or a type error. */
  private fit(f: FieldVal, c: ConstVal, op: string): Scalar {
    if (c.type === 'null') return null;
    const bad = (hint?: string) =>
      typeErr(`cannot compare '${f.label}' (${article(f.type)}) with ${article(c.type)}`, c.span, hint);
    switch (f.type) {
      case 'any':
        if (c.type === 'duration')
          throw typeErr(
            `'${f.label}' has no unit to read a duration in`,
            c.span,
            'compare durations with elapsedMs (ms) or elapsed_time (µs)',
          );
        return c.value;
      case 'string':
        if (c.type !== 'string')
          throw bad(c.type === 'number' ? `quote it: ${f.label} ${op} "${c.value}"` : undefined);
        if (
          f.info?.values &&
          (op === '==' || op === '!=' || op === 'in') &&
          !f.info.values.includes(c.value as string)
        ) {
          const guess = closest(c.value as string, f.info.values);
          throw new QueryError(
            'query.value',
            `'${f.label}' is never ${JSON.stringify(c.value)}${guess ? `; did you mean ${JSON.stringify(guess)}?` : ''}`,
            c.span,
            `${f.label} is one of ${f.info.values.join(', ')}`,
          );
        }
        return c.value;
      case 'number':
        if (c.type !== 'number') {
          const n = c.type === 'string' && /^-?\d+(\.\d+)?$/.test(c.value as string);
          throw bad(n ? `write the number without quotes: ${f.label} ${op} ${c.value}` : undefined);
        }
        return c.value;
      case 'timestamp':
        if (c.type === 'number' || c.type === 'timestamp') return c.value;
        throw bad(
          c.type === 'duration'
            ? `a duration is not a point in time; write now() - duration(...)`
            : c.type === 'string'
              ? `write timestamp(${JSON.stringify(c.value)})`
              : undefined,
        );
      case 'duration':
        if (c.type === 'number') return c.value;
        if (c.type === 'duration') return (c.value as number) / NS_PER[f.info?.unit ?? 'ms']!;
        throw bad(c.type === 'string' ? `write duration(${JSON.stringify(c.value)})` : undefined);
      case 'string|number':
        if (c.type === 'string' || c.type === 'number') return c.value;
        throw bad();
      case 'boolean':
        if (c.type === 'boolean') return c.value;
        throw bad();
      default:
        throw typeErr(
          `'${f.label}' is ${article(f.type)}; compare one of its fields`,
          f.span,
          f.type === 'object' ? `for example ${f.label}.name` : undefined,
        );
    }
  }

  // ---- conditions ----

  cond(e: Expr): Plan {
    switch (e.type) {
      case 'MatchAll':
        return { k: 'const', value: true };
      case 'Group':
        return this.cond(e.expr);
      case 'Logical':
        return logical(e.op, this.cond(e.left), this.cond(e.right));
      case 'Not': {
        const item = this.cond(e.operand);
        if (item.k === 'const') return { k: 'const', value: !item.value };
        return { k: 'not', item };
      }
      case 'Literal':
        if (typeof e.value === 'boolean') return { k: 'const', value: e.value };
        throw typeErr(`${e.raw} is not a condition`, e.span, 'compare it with a field: status == 500');
      case 'Path':
        return this.bare(e);
      case 'Compare':
        return this.compare(e.op, this.value(e.left), this.value(e.right), e.span);
      case 'Match':
        return this.match(e.op, this.value(e.subject), this.value(e.pattern), e.span);
      case 'Exists':
        return this.exists(e.subject);
      case 'In':
        return this.in(this.value(e.element), this.value(e.collection), e.span);
      default:
        // A hyphenated name (`x-id`) reads as a subtraction: say so rather than "not a condition".
        if (e.type === 'Arith') this.value(e);
        throw typeErr('this is a value, not a condition', e.span, 'compare it: status >= 500');
    }
  }

  private bare(p: Path): Plan {
    const r = this.resolve(p);
    if (r.k === 'protocol') return { k: 'cmp', op: '==', a: PROTOCOL_REF, b: { k: 'const', value: r.name } };
    if (r.k === 'field' && (r.type === 'any' || r.type === 'boolean'))
      return withGuard(r, { k: 'true', ref: r.ref }, false);
    const label = pathText(p);
    throw typeErr(
      `'${label}' is ${r.k === 'derived' ? 'a list' : article(r.type)}, not a condition`,
      p.span,
      r.k === 'derived' ? `test it with in: "x" in ${label}` : `compare it or test it: ${label} exists`,
    );
  }

  private compare(op: CompareOp, l: Val, r: Val, span: Span): Plan {
    if (r.k === 'regex' || l.k === 'regex') {
      const [subject, re] = r.k === 'regex' ? [l, r] : [r, l as RegexVal];
      if (op !== '==' && op !== '!=')
        throw typeErr(`a regular expression can only be compared with == or !=`, re.span);
      if (subject.k === 'regex') throw typeErr('cannot compare two regular expressions', span);
      return this.regexMatch(subject, anchored(re.pattern), op === '!=', span);
    }
    for (const v of [l, r])
      if (v.k === 'list' || v.k === 'derived')
        throw typeErr(
          'a list can only be tested with in',
          v.span,
          v.k === 'derived' ? `"x" in ${v.name}` : undefined,
        );
    const lv = l as FieldVal | ConstVal;
    const rv = r as FieldVal | ConstVal;
    if (lv.k === 'const' && rv.k === 'const')
      return { k: 'const', value: this.foldCompare(op, lv, rv, span) };
    if (lv.k === 'const' || rv.k === 'const') {
      const [f, c, o] =
        lv.k === 'field' ? [lv, rv as ConstVal, op] : [rv as FieldVal, lv as ConstVal, flip(op)];
      if (c.type === 'null') {
        if (o !== '==' && o !== '!=')
          throw typeErr('null can only be compared with == or !=', c.span, `${f.label} exists`);
        return o === '=='
          ? withGuard(f, { k: 'missing', ref: f.ref }, true)
          : withGuard(f, { k: 'exists', ref: f.ref }, false);
      }
      if (o !== '==' && o !== '!=' && c.type === 'boolean') throw typeErr('booleans are not ordered', c.span);
      const value = this.fit(f, c, o);
      return withGuard(f, { k: 'cmp', op: o, a: f.ref, b: { k: 'const', value } }, false);
    }
    const a = lv as FieldVal;
    const b = rv as FieldVal;
    const kinds = (t: FieldType) =>
      t === 'any'
        ? 'snbo'
        : t === 'string'
          ? 's'
          : t === 'string|number'
            ? 'sn'
            : t === 'boolean'
              ? 'b'
              : t === 'object'
                ? 'o'
                : 'n';
    const ka = kinds(a.type);
    const kb = kinds(b.type);
    if (![...ka].some((c) => c !== 'o' && kb.includes(c)))
      throw typeErr(
        `cannot compare '${a.label}' (${article(a.type)}) with '${b.label}' (${article(b.type)})`,
        span,
      );
    return withGuard(
      a,
      withGuard(b, { k: 'cmp', op, a: a.ref, b: { k: 'field', ref: b.ref } }, false),
      false,
    );
  }

  private foldCompare(op: CompareOp, l: ConstVal, r: ConstVal, span: Span): boolean {
    const time = (t: ConstType) => (t === 'timestamp' || t === 'number' ? 'n' : t);
    if (l.type !== 'null' && r.type !== 'null' && time(l.type) !== time(r.type))
      throw typeErr(`cannot compare ${article(l.type)} with ${article(r.type)}`, span);
    if ((l.type === 'null' || r.type === 'null') && op !== '==' && op !== '!=')
      throw typeErr('null can only be compared with == or !=', span);
    if (l.type === 'null' || r.type === 'null') return (l.value === r.value) === (op === '==');
    return compare(op, l.value, r.value);
  }

  private regexMatch(subject: Val, pattern: string, negate: boolean, span: Span): Plan {
    if (subject.k === 'const') {
      if (subject.type !== 'string' && subject.type !== 'number')
        throw typeErr('a regular expression matches strings and numbers only', subject.span);
      const t = translateRegex(pattern);
      if ('error' in t) throw new QueryError('query.regex', `invalid regular expression: ${t.error}`, span);
      return { k: 'const', value: new RegExp(t.source, t.flags).test(String(subject.value)) !== negate };
    }
    if (subject.k !== 'field') throw typeErr('a regular expression matches a field', subject.span);
    if (subject.type === 'boolean' || subject.type === 'object')
      throw typeErr(
        `'${subject.label}' is ${article(subject.type)}; regular expressions match text`,
        subject.span,
      );
    const t = translateRegex(pattern);
    if ('error' in t) throw new QueryError('query.regex', `invalid regular expression: ${t.error}`, span);
    const atom: Plan = { k: 'regex', ref: subject.ref, pattern };
    if (!negate) return withGuard(subject, atom, false);
    return withGuard(
      subject,
      {
        k: 'and',
        items: [
          { k: 'exists', ref: subject.ref },
          { k: 'not', item: atom },
        ],
      },
      false,
    );
  }

  private match(op: MatchOp, subject: Val, pattern: Val, span: Span): Plan {
    if (op === 'matches') {
      let source: string;
      if (pattern.k === 'regex') source = pattern.pattern;
      else if (pattern.k === 'const' && pattern.type === 'string') {
        source = pattern.value as string;
        const t = translateRegex(source);
        if ('error' in t)
          throw new QueryError('query.regex', `invalid regular expression: ${t.error}`, pattern.span);
      } else throw typeErr('matches takes a regular expression: a string or r"..."', pattern.span);
      return this.regexMatch(subject, source, false, span);
    }
    if (pattern.k === 'regex')
      throw typeErr(
        `${op} takes a string, not a regular expression`,
        pattern.span,
        'use matches for a pattern',
      );
    if (pattern.k !== 'const' || pattern.type !== 'string')
      throw typeErr(`${op} takes a string literal`, pattern.span);
    const text = pattern.value as string;
    if (subject.k === 'const') {
      if (subject.type !== 'string') throw typeErr(`${op} applies to strings`, subject.span);
      const s = subject.value as string;
      return {
        k: 'const',
        value:
          op === 'contains' ? s.includes(text) : op === 'startsWith' ? s.startsWith(text) : s.endsWith(text),
      };
    }
    if (subject.k !== 'field')
      throw typeErr(
        `${op} applies to a text field`,
        subject.span,
        subject.k === 'derived' ? `to test membership write "x" in ${subject.name}` : undefined,
      );
    if (!(subject.type === 'string' || subject.type === 'string|number' || subject.type === 'any'))
      throw typeErr(
        `${op} applies to text; '${subject.label}' is ${article(subject.type)}`,
        subject.span,
        subject.type === 'number'
          ? `compare numbers with == < >, or match their digits: ${subject.label} == r"..."`
          : undefined,
      );
    const kind = op === 'contains' ? 'contains' : op === 'startsWith' ? 'prefix' : 'suffix';
    return withGuard(subject, { k: 'text', op: kind, ref: subject.ref, text }, false);
  }

  private exists(e: Expr): Plan {
    const inner = e.type === 'Group' ? e.expr : e;
    if (inner.type === 'Arith') this.value(inner);
    if (inner.type !== 'Path') throw typeErr('exists applies to a field', e.span);
    const r = this.resolve(inner);
    if (r.k === 'protocol')
      throw typeErr(`'${pathText(inner)}' is a protocol condition; use it alone`, e.span);
    if (r.k === 'derived') {
      if (r.def.kind === 'project') throw typeErr(`'${r.name}' is a list; test it with in`, e.span);
      return {
        k: 'or',
        items: r.def.members.map((m) =>
          maybeWhen(guardOf(m.guard), { k: 'exists', ref: memberRef(m.to) }, false),
        ),
      };
    }
    return withGuard(r, { k: 'exists', ref: r.ref }, false);
  }

  private in(el: Val, coll: Val, span: Span): Plan {
    if (el.k === 'regex' || el.k === 'list' || el.k === 'derived')
      throw typeErr('the left side of in must be a value or a field', el.span);
    if (coll.k === 'list') {
      if (el.k === 'const')
        return { k: 'const', value: coll.items.some((it) => this.foldCompare('==', el, it, span)) };
      return logical('or', ...coll.items.map((it) => this.compare('==', el, it, it.span)));
    }
    if (coll.k === 'derived') {
      if (el.k === 'const' && el.type === 'null') throw typeErr(`null is never in ${coll.name}`, el.span);
      const def = coll.def;
      if (def.kind === 'union') {
        return logical(
          'or',
          ...def.members.map((m) => {
            const f = memberField(m.to, guardOf(m.guard), coll.span);
            return this.compare('==', el, f, span);
          }),
        );
      }
      const operand = this.operand(el);
      return maybeWhen(
        guardOf(def.guard),
        withGuard(
          el,
          { k: 'member', coll: memberRef(def.array), el: operand, ci: false, key: def.key },
          false,
        ),
        false,
      );
    }
    if (coll.k !== 'field') throw typeErr('the right side of in must be a field or a list [...]', coll.span);
    if (coll.type !== 'any' && coll.type !== 'object')
      throw typeErr(
        `in tests elements of a list or keys of an object; '${coll.label}' is ${article(coll.type)}`,
        coll.span,
        coll.type === 'string' && el.k === 'const' && el.type === 'string'
          ? `for a substring write ${coll.label}.contains(${JSON.stringify(el.value)})`
          : undefined,
      );
    if (el.k === 'const' && el.type === 'duration') throw typeErr('a duration has no unit here', el.span);
    const operand = this.operand(el);
    return withGuard(
      coll,
      withGuard(el, { k: 'member', coll: coll.ref, el: operand, ci: coll.ciKeys }, false),
      false,
    );
  }

  private operand(v: FieldVal | ConstVal): Operand {
    return v.k === 'field' ? { k: 'field', ref: v.ref } : { k: 'const', value: v.value };
  }
}

/** `request.headers.content-type` read as a subtraction: suggest the bracket form. */
function hyphenHint(left: Path, right: Path): string {
  const last = left.segments[left.segments.length - 1]!;
  const head =
    left.segments.length > 1
      ? pathText({ ...left, segments: left.segments.slice(0, -1) })
      : 'request.headers';
  return `a name with a hyphen needs brackets: ${head}["${last.raw}-${pathText(right)}"]`;
}

function flip(op: CompareOp): CompareOp {
  switch (op) {
    case '<':
      return '>';
    case '<=':
      return '>=';
    case '>':
      return '<';
    case '>=':
      return '<=';
    default:
      return op;
  }
}

function memberRef(path: readonly string[]): FieldRef {
  const info = fieldInfo(path);
  return ref(path, { column: info !== undefined && COLUMN_TYPES.has(info.type) });
}

function memberField(path: readonly string[], guard: Guard | null, span: Span): FieldVal {
  const info = fieldInfo(path);
  return {
    k: 'field',
    ref: memberRef(path),
    guard,
    type: info?.type ?? 'any',
    info,
    ciKeys: false,
    label: path.join('.'),
    span,
  };
}

function maybeWhen(guard: Guard | null, then: Plan, otherwise: boolean): Plan {
  if (!guard) return then;
  if (then.k === 'const') return then.value === otherwise ? then : { k: 'when', guard, then, otherwise };
  return { k: 'when', guard, then, otherwise };
}

function withGuard(v: Val, then: Plan, otherwise: boolean): Plan {
  return v.k === 'field' ? maybeWhen(v.guard, then, otherwise) : then;
}

/** and/or with nested ones of the same kind flattened and constants folded. */
function logical(op: 'and' | 'or', ...parts: Plan[]): Plan {
  const items: Plan[] = [];
  const absorbing = op === 'or';
  for (const p of parts) {
    if (p.k === 'const') {
      if (p.value === absorbing) return p;
      continue;
    }
    if (p.k === op) items.push(...p.items);
    else items.push(p);
  }
  if (items.length === 0) return { k: 'const', value: !absorbing };
  if (items.length === 1) return items[0]!;
  return { k: op, items };
}

/** Checks `ast` and lowers it; throws QueryError. */
export function plan(ast: Expr, opts: CheckOptions): Plan {
  return new Checker(opts).cond(ast);
}
