import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES, ErrorCounters } from '../../src/wire/errors.js';
import { ROOT } from '../support/paths.js';

test('docs/errors.md documents exactly the codes of the catalogue, with the same text', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([a-z0-9_.]+)` \| (.+) \|$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, text] of Object.entries(ERROR_CODES)) assert.equal(rows.get(code), text, code);
});

test('counters add up and list codes in catalogue order without zeros', () => {
  const c = new ErrorCounters();
  c.add('tcp.truncated');
  c.add('capture.truncated');
  c.add('tcp.truncated', 2);
  assert.equal(c.get('tcp.truncated'), 3);
  assert.equal(c.get('udp.truncated'), 0);
  assert.equal(c.total(), 4);
  assert.deepEqual(Object.keys(c.toJSON()), ['capture.truncated', 'tcp.truncated']);
});
