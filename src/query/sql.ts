/**
 * The plan as a SQLite condition over stored entries, meaning exactly what the predicate means
 * (values.ts; the property test in test/query/agreement.test.ts holds the two together on random
 * entries and queries). Known scalar fields may live in columns of their own (SqlTarget.column);
 * everything else is read from the entry's JSON text with json_extract / json_type / json_each.
 *
 * How the JavaScript rules become SQL:
 * - Type before value: every comparison first tests the class (typeof() of a column, json_type()
 *   of a JSON path), so `status >= 500` is false for the text 'OK', `dst.port == "80"` never
 *   matches 80, and json_extract's 1/0 for true/false is never taken for a number.
 * - No NULL escapes an atom: each atom is 0 or 1, so NOT and OR keep two-valued logic.
 * - Text is compared as stored (BINARY: UTF-8 bytes, i.e. code points); `contains` is instr(),
 *   case-sensitive (never LIKE); `startsWith` a range on the text (an index can serve it);
 *   `endsWith` compares bytes (substr() on text stops at a NUL character, blobs do not).
 * - Regular expressions call `regexp(pattern, value)`, the JavaScript function
 *   registerSqlFunctions() adds, with the very RegExp the predicate uses.
 * Columns must keep the JSON type of their value (no type affinity: declare them without a type
 * or as ANY): INTEGER/REAL for numbers, TEXT for strings, NULL for null or absent.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { FieldRef, Guard, Operand, Plan } from './plan.js';
import { compiledRegex, regexSubject } from './regex.js';
import { asciiLower } from './values.js';

export interface SqlTarget {
  /** SQL expression for a field path (['status'], ['src','name']...) stored in its own column, else null. */
  column(path: readonly string[]): string | null;
  /** SQL expression whose value is the entry's JSON text (as `--format jsonl` prints an entry), for json_extract on every other path. */
  json: string;
}

type Param = string | number | null;

/** A piece of SQL and its parameters, in order. */
class Frag {
  constructor(
    readonly sql: string,
    readonly params: readonly Param[],
  ) {}
}

function param(v: Param): Frag {
  return new Frag('?', [v]);
}
function raw(sql: string): Frag {
  return new Frag(sql, []);
}
/** Template joining SQL text and fragments, keeping the parameters in the order of the `?`s. */
function q(strings: TemplateStringsArray, ...parts: Frag[]): Frag {
  let sql = strings[0]!;
  const params: Param[] = [];
  for (let i = 0; i < parts.length; i++) {
    sql += parts[i]!.sql + strings[i + 1]!;
    params.push(...parts[i]!.params);
  }
  return new Frag(sql, params);
}
function join(parts: readonly Frag[], sep: string): Frag {
  return new Frag(
    parts.map((p) => p.sql).join(sep),
    parts.flatMap((p) => p.params),
  );
}

const FALSE = raw('0');
const TRUE = raw('1');

/** SQLite JSON path of names and indexes; a name is JSON-quoted (SQLite ≥ 3.45 reads the escapes). */
function jsonPath(path: readonly (string | number)[]): string {
  let out = '$';
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : `.${JSON.stringify(s)}`;
  return out;
}

/** A number times the field's scale, clamped to the finite doubles as predicate.ts does. */
function scaled(x: Frag, scale: number): Frag {
  if (scale === 1) return x;
  return q`max(min(${x} * ${param(scale)}, ${param(Number.MAX_VALUE)}), ${param(-Number.MAX_VALUE)})`;
}

/** A JSON class as values.ts numbers them, from a json_type() / json_each.type value. */
function classOfType(t: Frag): Frag {
  return q`(CASE ${t} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'true' THEN 3 WHEN 'false' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 4 ELSE 0 END)`;
}

/** How to read one field in SQL. */
interface Access {
  /** The value as SQLite holds it (json_extract: true/false as 1/0, objects as JSON text). */
  readonly v: Frag;
  /** The value with the field's scale applied to numbers. */
  readonly val: Frag;
  /** The scaled number; only where `isNum` holds. */
  readonly num: Frag;
  readonly isNull: Frag;
  readonly isText: Frag;
  readonly isNum: Frag;
  readonly isTrue: Frag;
  readonly isFalse: Frag;
  /** A string or a number (what a regular expression reads). */
  readonly isTextual: Frag;
  /** 0 missing, 1 number, 2 string, 3 boolean, 4 structured. */
  readonly cls: Frag;
  /** The JSON path expression, for json_each (null for a column). */
  readonly path: Frag | null;
}

class Compiler {
  constructor(private readonly target: SqlTarget) {}

  private access(ref: FieldRef): Access {
    const scale = ref.scale;
    if (ref.column) {
      const col = this.target.column(ref.path as readonly string[]);
      if (col !== null) {
        const c = raw(col);
        const t = q`typeof(${c})`;
        const isNum = q`${t} IN ('integer','real')`;
        const num = scaled(c, scale);
        return {
          v: c,
          val: scale === 1 ? c : q`(CASE WHEN ${isNum} THEN ${num} ELSE ${c} END)`,
          num,
          isNull: q`${c} IS NULL`,
          isText: q`${t} = 'text'`,
          isNum,
          // Columns hold strings and numbers only (SqlTarget): never a boolean.
          isTrue: FALSE,
          isFalse: FALSE,
          isTextual: q`${t} IN ('text','integer','real')`,
          cls: q`(CASE ${t} WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 ELSE 0 END)`,
          path: null,
        };
      }
    }
    const json = raw(this.target.json);
    let path: Frag;
    if (ref.ci < 0) path = param(jsonPath(ref.path));
    else {
      // The first key, in the object's order, equal to the wanted one without ASCII case; its
      // exact path (json_each's fullkey) continues with the rest of the path.
      const base = jsonPath(ref.path.slice(0, ref.ci));
      const key = ref.path[ref.ci] as string;
      const rest = jsonPath(ref.path.slice(ref.ci + 1)).slice(1);
      path = q`((SELECT fullkey FROM json_each(${json}, ${param(base)}) WHERE typeof(key) = 'text' AND lower(key) = ${param(key)} ORDER BY id LIMIT 1) || ${param(rest)})`;
    }
    const v = q`json_extract(${json}, ${path})`;
    const type = q`json_type(${json}, ${path})`;
    const t = q`coalesce(${type}, 'null')`;
    const isNum = q`${t} IN ('integer','real')`;
    // JSON integers beyond 2^53 are exact in SQLite but doubles in JavaScript: compare as REAL.
    const num = scaled(q`CAST(${v} AS REAL)`, scale);
    return {
      v,
      val: q`(CASE WHEN ${isNum} THEN ${num} ELSE ${v} END)`,
      num,
      isNull: q`${v} IS NULL`,
      isText: q`${t} = 'text'`,
      isNum,
      isTrue: q`${t} = 'true'`,
      isFalse: q`${t} = 'false'`,
      isTextual: q`${t} IN ('text','integer','real')`,
      cls: classOfType(type),
      path,
    };
  }

  compile(p: Plan): Frag {
    switch (p.k) {
      case 'const':
        return p.value ? TRUE : FALSE;
      case 'and':
      case 'or':
        return q`(${join(
          p.items.map((i) => this.compile(i)),
          p.k === 'and' ? ' AND ' : ' OR ',
        )})`;
      case 'not':
        return q`(NOT ${this.compile(p.item)})`;
      case 'cmp':
        return p.b.k === 'const'
          ? this.cmpConst(p.op, this.access(p.a), p.b.value)
          : this.cmpFields(p.op, p.a, p.b);
      case 'missing':
        return this.access(p.ref).isNull;
      case 'exists':
        return q`(NOT ${this.access(p.ref).isNull})`;
      case 'true':
        return this.access(p.ref).isTrue;
      case 'text':
        return this.text(p.op, this.access(p.ref), p.text);
      case 'regex': {
        const a = this.access(p.ref);
        return q`(${a.isTextual} AND regexp(${param(p.pattern)}, ${a.val}))`;
      }
      case 'member':
        return this.member(p);
      case 'when': {
        const g = this.guard(p.guard);
        const then = this.compile(p.then);
        return p.otherwise ? q`((NOT ${g}) OR ${then})` : q`(${g} AND ${then})`;
      }
    }
  }

  private guard(g: Guard): Frag {
    const a = this.access(g.ref);
    return q`(${a.isText} AND ${a.v} IN (${join(g.values.map(param), ', ')}))`;
  }

  private cmpConst(op: string, a: Access, c: string | number | boolean | null): Frag {
    if (op === '!=') return q`((NOT ${a.isNull}) AND (NOT ${this.cmpConst('==', a, c)}))`;
    const sqlOp = raw(op === '==' ? '=' : op);
    if (typeof c === 'string') return q`(${a.isText} AND ${a.v} ${sqlOp} ${param(c)})`;
    if (typeof c === 'number') return q`(${a.isNum} AND ${a.num} ${sqlOp} ${param(c)})`;
    if (typeof c === 'boolean' && op === '==') return c ? a.isTrue : a.isFalse;
    return FALSE;
  }

  private cmpFields(op: string, ra: FieldRef, rb: Operand & { k: 'field' }): Frag {
    const a = this.access(ra);
    const b = this.access(rb.ref);
    const eq = q`(${a.cls} IN (1,2,3) AND ${a.cls} = ${b.cls} AND ${a.val} = ${b.val})`;
    if (op === '==') return eq;
    if (op === '!=') return q`(${a.cls} <> 0 AND ${b.cls} <> 0 AND (NOT ${eq}))`;
    return q`(${a.cls} IN (1,2) AND ${a.cls} = ${b.cls} AND ${a.val} ${raw(op)} ${b.val})`;
  }

  private text(op: 'contains' | 'prefix' | 'suffix', a: Access, s: string): Frag {
    if (s === '') return a.isText;
    if (op === 'contains') return q`(${a.isText} AND instr(${a.v}, ${param(s)}) > 0)`;
    if (op === 'suffix') {
      const bytes = Buffer.byteLength(s, 'utf8');
      // substr() of an empty blob is NULL, hence the coalesce.
      return q`(${a.isText} AND coalesce(substr(CAST(${a.v} AS BLOB), ${param(-bytes)}), X'') = CAST(${param(s)} AS BLOB))`;
    }
    const upper = successor(s);
    return upper === undefined
      ? q`(${a.isText} AND ${a.v} >= ${param(s)})`
      : q`(${a.isText} AND ${a.v} >= ${param(s)} AND ${a.v} < ${param(upper)})`;
  }

  private member(p: Plan & { k: 'member' }): Frag {
    const coll = this.access(p.coll);
    // A column holds a scalar: no elements, no keys.
    if (!coll.path) return FALSE;
    const json = raw(this.target.json);
    const each = q`json_each(${json}, ${coll.path})`;
    const elType = p.key === undefined ? raw('type') : q`json_type(value, ${param(jsonPath([p.key]))})`;
    const elValue = p.key === undefined ? raw('value') : q`json_extract(value, ${param(jsonPath([p.key]))})`;
    // With a key, only object elements are read: json_type(value, ...) on a string element would
    // be an error ("malformed JSON"), and CASE (unlike AND) fixes the order of evaluation.
    const onElement = (test: Frag): Frag =>
      p.key === undefined
        ? q`EXISTS (SELECT 1 FROM ${each} WHERE ${test})`
        : q`EXISTS (SELECT 1 FROM ${each} WHERE CASE WHEN type = 'object' THEN ${test} ELSE 0 END)`;
    let inArray: Frag;
    let inObject: Frag = FALSE;
    if (p.el.k === 'const') {
      const c = p.el.value;
      let test: Frag;
      if (typeof c === 'string') test = q`${elType} = 'text' AND ${elValue} = ${param(c)}`;
      else if (typeof c === 'number')
        test = q`${elType} IN ('integer','real') AND CAST(${elValue} AS REAL) = ${param(c)}`;
      else if (c === null) test = q`${elType} = 'null'`;
      else test = q`${elType} = ${raw(c ? "'true'" : "'false'")}`;
      inArray = onElement(test);
      if (typeof c === 'string' && p.key === undefined)
        inObject = p.ci
          ? q`EXISTS (SELECT 1 FROM ${each} WHERE lower(key) = ${param(asciiLower(c))})`
          : q`EXISTS (SELECT 1 FROM ${each} WHERE key = ${param(c)})`;
    } else {
      const e = this.access(p.el.ref);
      const test = q`${classOfType(elType)} = ${e.cls} AND (CASE WHEN ${elType} IN ('integer','real') THEN CAST(${elValue} AS REAL) ELSE ${elValue} END) = ${e.val}`;
      inArray = q`(${e.cls} IN (1,2,3) AND ${onElement(test)})`;
      if (p.key === undefined)
        inObject = p.ci
          ? q`(${e.cls} = 2 AND EXISTS (SELECT 1 FROM ${each} WHERE lower(key) = lower(${e.v})))`
          : q`(${e.cls} = 2 AND EXISTS (SELECT 1 FROM ${each} WHERE key = ${e.v}))`;
    }
    return q`(CASE json_type(${json}, ${coll.path}) WHEN 'array' THEN ${inArray} WHEN 'object' THEN ${inObject} ELSE 0 END)`;
  }
}

/**
 * The least string above every string starting with `s`: `s` with its last code point raised by
 * one (trailing U+10FFFF dropped first; the surrogate block skipped). Undefined when there is none.
 */
function successor(s: string): string | undefined {
  const cps = [...s].map((c) => c.codePointAt(0)!);
  while (cps.length > 0 && cps[cps.length - 1] === 0x10ffff) cps.pop();
  if (cps.length === 0) return undefined;
  let last = cps.pop()! + 1;
  if (last === 0xd800) last = 0xe000;
  cps.push(last);
  return String.fromCodePoint(...cps);
}

export function sqlOf(p: Plan, target: SqlTarget): { sql: string; params: Param[] } {
  const f = new Compiler(target).compile(p);
  return { sql: f.sql, params: [...f.params] };
}

/**
 * Adds `regexp(pattern, value)` to a connection (SQLite has no built-in REGEXP): 1 when the
 * pattern (regex.ts; compiled RegExps are cached, bounded) finds a match in the value, a string or
 * a number's decimal text; 0 for other values, NULL for NULL. Deterministic, so SQLite may
 * evaluate it once per distinct input.
 */
export function registerSqlFunctions(db: BetterSqlite3.Database): void {
  db.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (value === null || value === undefined) return null;
    const s = regexSubject(typeof value === 'bigint' ? Number(value) : value);
    if (s === undefined) return 0;
    return compiledRegex(String(pattern)).test(s) ? 1 : 0;
  });
}
