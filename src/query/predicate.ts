/**
 * The plan as a JavaScript predicate over live entries: one closure per node, built once per
 * query, so an evaluation is property reads and comparisons (bench/query.mjs measures it). The
 * meaning of every atom is values.ts's; sql.ts says the same in SQLite.
 */
import type { Entry } from '../dissect/entry.js';
import type { FieldRef, Guard, Operand, Plan } from './plan.js';
import { compiledRegex, regexSubject } from './regex.js';
import {
  asciiLower,
  classOf,
  compare,
  compareText,
  equal,
  findKey,
  isObject,
  MISSING,
  valueAt,
} from './values.js';

type Get = (e: unknown) => unknown;
type Test = (e: unknown) => boolean;

function getter(ref: FieldRef): Get {
  const { path, ci, scale } = ref;
  let get: Get;
  if (ci < 0 && path.length === 1) {
    const a = path[0] as string;
    get = (e) => {
      const o = e as Record<string, unknown>;
      return Object.hasOwn(o, a) ? o[a] : undefined;
    };
  } else if (ci < 0 && path.length === 2 && typeof path[0] === 'string' && typeof path[1] === 'string') {
    const a = path[0];
    const b = path[1];
    get = (e) => {
      const o = e as Record<string, unknown>;
      const x = Object.hasOwn(o, a) ? o[a] : undefined;
      return isObject(x) && Object.hasOwn(x, b) ? x[b] : undefined;
    };
  } else {
    get = (e) => valueAt(e, path, ci);
  }
  if (scale === 1) return get;
  // Scaling a finite number can overflow: clamp to the finite doubles (sql.ts does the same).
  return (e) => {
    const v = get(e);
    if (typeof v !== 'number' || !Number.isFinite(v)) return v;
    const p = v * scale;
    return Math.min(Number.MAX_VALUE, Math.max(-Number.MAX_VALUE, p));
  };
}

function operandGetter(o: Operand): Get {
  if (o.k === 'field') return getter(o.ref);
  const v = o.value;
  return () => v;
}

function guardTest(g: Guard): Test {
  const get = getter(g.ref);
  const values = g.values;
  return (e) => {
    const v = get(e);
    return typeof v === 'string' && values.includes(v);
  };
}

function cmpConst(op: Plan & { k: 'cmp' }, get: Get, c: string | number | boolean): Test {
  if (op.op === '==') return (e) => get(e) === c;
  if (op.op === '!=') {
    return (e) => {
      const v = get(e);
      return classOf(v) !== MISSING && v !== c;
    };
  }
  if (typeof c === 'number') {
    switch (op.op) {
      case '<':
        return (e) => {
          const v = get(e);
          return typeof v === 'number' && v < c && v > Number.NEGATIVE_INFINITY;
        };
      case '<=':
        return (e) => {
          const v = get(e);
          return typeof v === 'number' && v <= c && v > Number.NEGATIVE_INFINITY;
        };
      case '>':
        return (e) => {
          const v = get(e);
          return typeof v === 'number' && v > c && v < Number.POSITIVE_INFINITY;
        };
      default:
        return (e) => {
          const v = get(e);
          return typeof v === 'number' && v >= c && v < Number.POSITIVE_INFINITY;
        };
    }
  }
  if (typeof c === 'string') {
    const o = op.op;
    return (e) => {
      const v = get(e);
      if (typeof v !== 'string') return false;
      const d = compareText(v, c);
      return o === '<' ? d < 0 : o === '<=' ? d <= 0 : o === '>' ? d > 0 : d >= 0;
    };
  }
  return () => false;
}

function member(p: Plan & { k: 'member' }): Test {
  const coll = getter(p.coll);
  const el = operandGetter(p.el);
  const isNullConst = p.el.k === 'const' && p.el.value === null;
  const { ci, key } = p;
  const matches = (x: unknown, item: unknown): boolean =>
    isNullConst ? classOf(item) === MISSING : equal(item, x);
  return (e) => {
    const c = coll(e);
    const x = el(e);
    if (!isNullConst && classOf(x) === MISSING) return false;
    if (Array.isArray(c)) {
      if (key === undefined) {
        for (const item of c) if (matches(x, item)) return true;
        return false;
      }
      for (const item of c) {
        if (isObject(item) && Object.hasOwn(item, key) && item[key] !== undefined && equal(item[key], x))
          return true;
      }
      return false;
    }
    if (isObject(c) && key === undefined && typeof x === 'string') {
      if (!ci) return Object.hasOwn(c, x) && c[x] !== undefined;
      return findKey(c, asciiLower(x)) !== undefined;
    }
    return false;
  };
}

function compile(p: Plan): Test {
  switch (p.k) {
    case 'const': {
      const v = p.value;
      return () => v;
    }
    case 'and': {
      const items = p.items.map(compile);
      if (items.length === 2) {
        const [a, b] = items as [Test, Test];
        return (e) => a(e) && b(e);
      }
      return (e) => {
        for (const t of items) if (!t(e)) return false;
        return true;
      };
    }
    case 'or': {
      const items = p.items.map(compile);
      if (items.length === 2) {
        const [a, b] = items as [Test, Test];
        return (e) => a(e) || b(e);
      }
      return (e) => {
        for (const t of items) if (t(e)) return true;
        return false;
      };
    }
    case 'not': {
      const t = compile(p.item);
      return (e) => !t(e);
    }
    case 'cmp': {
      const get = getter(p.a);
      if (p.b.k === 'const' && p.b.value !== null) return cmpConst(p, get, p.b.value);
      const other = operandGetter(p.b);
      const op = p.op;
      return (e) => compare(op, get(e), other(e));
    }
    case 'missing': {
      const get = getter(p.ref);
      return (e) => classOf(get(e)) === MISSING;
    }
    case 'exists': {
      const get = getter(p.ref);
      return (e) => classOf(get(e)) !== MISSING;
    }
    case 'true': {
      const get = getter(p.ref);
      return (e) => get(e) === true;
    }
    case 'text': {
      const get = getter(p.ref);
      const s = p.text;
      if (p.op === 'contains')
        return (e) => {
          const v = get(e);
          return typeof v === 'string' && v.includes(s);
        };
      if (p.op === 'prefix')
        return (e) => {
          const v = get(e);
          return typeof v === 'string' && v.startsWith(s);
        };
      return (e) => {
        const v = get(e);
        return typeof v === 'string' && v.endsWith(s);
      };
    }
    case 'regex': {
      const get = getter(p.ref);
      const re = compiledRegex(p.pattern);
      return (e) => {
        const s = regexSubject(get(e));
        return s !== undefined && re.test(s);
      };
    }
    case 'member':
      return member(p);
    case 'when': {
      const g = guardTest(p.guard);
      const then = compile(p.then);
      const otherwise = p.otherwise;
      return (e) => (g(e) ? then(e) : otherwise);
    }
  }
}

/** The predicate of a checked plan. Entries are read as their JSON form would be (values.ts). */
export function predicateOf(p: Plan): (e: Entry) => boolean {
  return compile(p) as (e: Entry) => boolean;
}
