/**
 * The field schema against its references: the entry fields DESIGN.md lists ("The entry"), the
 * Kubeshark v2 names issue 7 and DESIGN.md name, the protocols of src/dissect/entry.ts, and
 * docs/query.md, which must document every field and alias the checker accepts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PROTOCOLS } from '../../src/dissect/entry.js';
import { ALIASES, FIELDS, LISTS, PROTOCOL_ALIASES, parseQuery } from '../../src/query/index.js';
import { ROOT } from '../support/paths.js';
import { ENTRIES } from './fixtures.js';

/** DESIGN.md, "The entry": the fields every entry has, and src/dst's sub-fields. */
const DESIGN_FIELDS = [
  'id',
  'timestamp',
  'elapsedMs',
  'protocol',
  'src',
  'dst',
  'method',
  'path',
  'status',
  'request',
  'response',
  'requestSize',
  'responseSize',
  'connectionId',
  'node',
  'error',
];
const ENDPOINT = ['ip', 'port', 'name', 'namespace', 'kind', 'workload', 'node'];

describe('field schema', () => {
  test("every field of DESIGN.md's entry is in FIELDS, and FIELDS has no other root", () => {
    const names = new Set(FIELDS.map((f) => f.name));
    for (const f of DESIGN_FIELDS) assert.ok(names.has(f), f);
    for (const side of ['src', 'dst'])
      for (const k of ENDPOINT) assert.ok(names.has(`${side}.${k}`), `${side}.${k}`);
    const roots = FIELDS.filter((f) => !f.name.includes('.') && f.type !== 'list' && !ALIASES.has(f.name));
    assert.deepEqual(roots.map((f) => f.name).sort(), [...DESIGN_FIELDS].sort());
  });

  test('the fixture entries have exactly the schema roots (besides type)', () => {
    for (const e of ENTRIES) {
      for (const k of Object.keys(e)) if (k !== 'type') assert.ok(DESIGN_FIELDS.includes(k), k);
    }
  });

  test('every field, alias and list is accepted by the checker', () => {
    for (const f of FIELDS) {
      const q = f.type === 'list' ? `"x" in ${f.name}` : `${f.name} exists`;
      assert.doesNotThrow(() => parseQuery(q), q);
      for (const a of f.aliases) assert.doesNotThrow(() => parseQuery(`${a} exists`), a);
    }
    for (const name of ALIASES.keys()) assert.doesNotThrow(() => parseQuery(`${name} exists`), name);
    for (const name of LISTS.keys()) assert.doesNotThrow(() => parseQuery(`"x" in ${name}`), name);
  });

  test('the Kubeshark v2 names DESIGN.md and issue 7 cite are aliases', () => {
    for (const q of [
      'status_code >= 500',
      'method == "GET"',
      'path.startsWith("/api")',
      'grpc_status != 0',
      'redis_command == "GET"',
      'kafka_api_key_name == "Produce"',
      '"google.com" in dns_questions',
      'dst.pod.namespace == "prod"',
      'src.pod.name == "x"',
      'elapsed_time > 5000000',
    ])
      assert.doesNotThrow(() => parseQuery(q), q);
  });

  test('every protocol of the Entry, and Kubeshark spellings, is a condition', () => {
    for (const p of [...PROTOCOLS, ...Object.keys(PROTOCOL_ALIASES)])
      assert.doesNotThrow(() => parseQuery(p), p);
    for (const target of Object.values(PROTOCOL_ALIASES))
      assert.ok((PROTOCOLS as readonly string[]).includes(target));
  });

  test('docs/query.md documents every field, alias and list', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'query.md'), 'utf8');
    const names = new Set<string>();
    for (const f of FIELDS) {
      names.add(f.name);
      for (const a of f.aliases) names.add(a);
    }
    for (const a of ALIASES.keys()) names.add(a);
    for (const l of LISTS.keys()) names.add(l);
    for (const p of Object.keys(PROTOCOL_ALIASES)) names.add(p);
    for (const n of names) assert.ok(docs.includes(`\`${n}\``), `${n} is not in docs/query.md`);
  });
});
