/**
 * The string helpers of the hot paths against their references: utf8At against utf8Text (the
 * TextDecoder the rest of podwire uses) on any bytes — malformed UTF-8, surrogates, byte order
 * marks, at any offset —, latin1At and internAscii against Latin-1 decoding, and the intern table
 * returning one string object for repeated bytes while staying correct when slots collide.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { internAscii, MAX_INTERNED } from '../../src/dissect/intern.js';
import { isAsciiAt, latin1At, utf8At } from '../../src/dissect/text.js';
import { utf8Text } from '../../src/wire/bytes.js';

/** Bytes rich in UTF-8 edge cases. */
const bytes = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0xef, 0xbb, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0x80, 0xa0, 0x41),
  ),
  { maxLength: 80 },
);

test('utf8At reads any bytes as utf8Text does, at any offset', () => {
  fc.assert(
    fc.property(bytes, fc.nat(), fc.nat(), (list, a, b) => {
      const buf = Uint8Array.from(list);
      const start = list.length ? a % list.length : 0;
      const end = start + (list.length - start ? b % (list.length - start + 1) : 0);
      assert.equal(utf8At(buf, start, end), utf8Text(buf.subarray(start, end)));
    }),
    { numRuns: 20000 },
  );
  const bom = Uint8Array.from([0x20, 0xef, 0xbb, 0xbf, 0x41]);
  assert.equal(utf8At(bom, 1, 5), 'A', 'a leading BOM is dropped, as TextDecoder does');
  assert.equal(utf8At(bom, 0, 5), ' \ufeffA', 'elsewhere it is a character');
});

test('latin1At and internAscii read ASCII as UTF-8 does; isAsciiAt tells', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (buf) => {
      const n = buf.length;
      assert.equal(latin1At(buf, 0, n), Buffer.from(buf).toString('latin1'));
      assert.equal(
        isAsciiAt(buf, 0, n),
        buf.every((x) => x < 0x80),
      );
      if (isAsciiAt(buf, 0, n)) assert.equal(internAscii(buf, 0, n), utf8At(buf, 0, n));
    }),
    { numRuns: 5000 },
  );
});

test('internAscii: the same bytes give the same string object; collisions stay correct', () => {
  const a = Buffer.from('xxcontent-typexx');
  const b = Buffer.from('content-type');
  const s1 = internAscii(a, 2, 14);
  const s2 = internAscii(b, 0, 12);
  assert.equal(s1, 'content-type');
  assert.ok(Object.is(s1, s2));
  // Many distinct words: each read back right whatever slot it shared.
  const words = Array.from({ length: 20000 }, (_, i) => `w${i.toString(36)}`);
  for (const w of words) assert.equal(internAscii(Buffer.from(w), 0, w.length), w);
  for (const w of words.slice(0, 100)) assert.equal(internAscii(Buffer.from(w), 0, w.length), w);
  const long = 'y'.repeat(MAX_INTERNED + 1);
  assert.equal(internAscii(Buffer.from(long), 0, long.length), long, 'longer strings are made, not kept');
});
