/**
 * HPACK (RFC 7541): the Appendix C examples byte for byte — integers (C.1), literal forms (C.2),
 * request and response sequences with the dynamic table after each block, without and with
 * Huffman coding (C.3–C.6, C.5/C.6 with a 256-octet table and evictions) — then Huffman codes
 * from Appendix B, the decoding errors of §5.2 and §6, and an encoder round trip.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  encodeInteger,
  type HeaderField,
  HpackDecoder,
  HpackEncoder,
  readInteger,
} from '../../../src/dissect/http2/hpack.js';
import { huffmanCode, huffmanDecode, huffmanEncode } from '../../../src/dissect/http2/huffman.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('RFC 7541 C.1 integer representation', () => {
  test('C.1.1: 10 with a 5-bit prefix is 0a', () => {
    assert.deepEqual(encodeInteger(10, 5, 0), [0x0a]);
    assert.deepEqual(readInteger(hex('0a'), 0, 5), { value: 10, next: 1 });
  });
  test('C.1.2: 1337 with a 5-bit prefix is 1f 9a 0a', () => {
    assert.deepEqual(encodeInteger(1337, 5, 0), [0x1f, 0x9a, 0x0a]);
    assert.deepEqual(readInteger(hex('1f9a0a'), 0, 5), { value: 1337, next: 3 });
  });
  test('C.1.3: 42 at an octet boundary is 2a', () => {
    assert.deepEqual(encodeInteger(42, 8, 0), [0x2a]);
    assert.deepEqual(readInteger(hex('2a'), 0, 8), { value: 42, next: 1 });
  });
  test('an integer past 2^32-1 or past the block is an error, not an overflow', () => {
    assert.match(String(readInteger(hex('1fffffffff7f'), 0, 5)), /exceeds/);
    assert.match(String(readInteger(hex('1f9a'), 0, 5)), /past the end/);
  });
});

interface Vector {
  id: string;
  block: string;
  headers: HeaderField[];
  table: HeaderField[];
  size: number;
}

const REQ1: HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const REQ2: HeaderField[] = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const T1: HeaderField[] = [[':authority', 'www.example.com']];
const T2: HeaderField[] = [['cache-control', 'no-cache'], ...T1];
const T3: HeaderField[] = [['custom-key', 'custom-value'], ...T2];

const requests = (b1: string, b2: string, b3: string): Vector[] => [
  { id: '1', block: b1, headers: REQ1, table: T1, size: 57 },
  { id: '2', block: b2, headers: REQ2, table: T2, size: 110 },
  { id: '3', block: b3, headers: REQ3, table: T3, size: 164 },
];

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOC = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RES1: HeaderField[] = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', DATE1],
  ['location', LOC],
];
const RES2: HeaderField[] = [[':status', '307'], ...RES1.slice(1)];
const RES3: HeaderField[] = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', DATE2],
  ['location', LOC],
  ['content-encoding', 'gzip'],
  ['set-cookie', COOKIE],
];
const responses = (b1: string, b2: string, b3: string): Vector[] => [
  {
    id: '1',
    block: b1,
    headers: RES1,
    table: [
      ['location', LOC],
      ['date', DATE1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    size: 222,
  },
  {
    id: '2',
    block: b2,
    headers: RES2,
    table: [
      [':status', '307'],
      ['location', LOC],
      ['date', DATE1],
      ['cache-control', 'private'],
    ],
    size: 222,
  },
  {
    id: '3',
    block: b3,
    headers: RES3,
    table: [
      ['set-cookie', COOKIE],
      ['content-encoding', 'gzip'],
      ['date', DATE2],
    ],
    size: 215,
  },
];

const SEQUENCES: { name: string; tableSize: number; vectors: Vector[] }[] = [
  {
    name: 'C.3 requests without Huffman coding',
    tableSize: 4096,
    vectors: requests(
      '828684410f7777772e6578616d706c652e636f6d',
      '828684be58086e6f2d6361636865',
      '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565',
    ),
  },
  {
    name: 'C.4 requests with Huffman coding',
    tableSize: 4096,
    vectors: requests(
      '828684418cf1e3c2e5f23a6ba0ab90f4ff',
      '828684be5886a8eb10649cbf',
      '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf',
    ),
  },
  {
    name: 'C.5 responses without Huffman coding (256-octet table, evictions)',
    tableSize: 256,
    vectors: responses(
      '4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d',
      '4803333037c1c0bf',
      '88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31',
    ),
  },
  {
    name: 'C.6 responses with Huffman coding (256-octet table, evictions)',
    tableSize: 256,
    vectors: responses(
      '488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3',
      '4883640effc1c0bf',
      '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
    ),
  },
];

describe('RFC 7541 C.2 header field representations', () => {
  test('C.2.1 literal with indexing: custom-key: custom-header, table size 55', () => {
    const d = new HpackDecoder();
    const r = d.decode(hex('400a637573746f6d2d6b65790d637573746f6d2d686561646572'));
    assert.deepEqual(r, { headers: [['custom-key', 'custom-header']], error: null });
    assert.deepEqual(d.table(), { entries: [['custom-key', 'custom-header']], size: 55, maxSize: 4096 });
  });
  test('C.2.2 literal without indexing: :path /sample/path, table empty', () => {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hex('040c2f73616d706c652f70617468')).headers, [[':path', '/sample/path']]);
    assert.equal(d.table().size, 0);
  });
  test('C.2.3 literal never indexed: password: secret, table empty', () => {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hex('100870617373776f726406736563726574')).headers, [['password', 'secret']]);
    assert.equal(d.table().size, 0);
  });
  test('C.2.4 indexed field: 82 is :method GET', () => {
    assert.deepEqual(new HpackDecoder().decode(hex('82')).headers, [[':method', 'GET']]);
  });
});

for (const seq of SEQUENCES) {
  describe(`RFC 7541 ${seq.name}`, () => {
    const decoder = new HpackDecoder(false, seq.tableSize);
    const encoder = new HpackEncoder(seq.name.includes('with Huffman'), seq.tableSize);
    for (const v of seq.vectors) {
      test(`${seq.name.slice(0, 3)}.${v.id}: headers and dynamic table after the block`, () => {
        const r = decoder.decode(hex(v.block));
        assert.equal(r.error, null);
        assert.deepEqual(r.headers, v.headers);
        const t = decoder.table();
        assert.deepEqual(t.entries, v.table);
        assert.equal(t.size, v.size);
      });
      if (seq.name.startsWith('C.3') || seq.name.startsWith('C.4')) {
        test(`${seq.name.slice(0, 3)}.${v.id}: the fixture encoder writes the same bytes`, () => {
          assert.equal(Buffer.from(encoder.encode(v.headers)).toString('hex'), v.block);
        });
      }
    }
  });
}

describe('Huffman code (RFC 7541 Appendix B, §5.2)', () => {
  test('codes rebuilt from the lengths match Appendix B', () => {
    assert.deepEqual(huffmanCode(0), { code: 0x1ff8, bits: 13 });
    assert.deepEqual(huffmanCode(0x30), { code: 0x0, bits: 5 }); // '0'
    assert.deepEqual(huffmanCode(0x61), { code: 0x3, bits: 5 }); // 'a'
    assert.deepEqual(huffmanCode(0x7a), { code: 0x7b, bits: 7 }); // 'z'
    assert.deepEqual(huffmanCode(0xff), { code: 0x3ffffee, bits: 26 });
    assert.deepEqual(huffmanCode(256), { code: 0x3fffffff, bits: 30 }); // EOS
  });
  test('padding longer than 7 bits is a decoding error', () => {
    // 'a' (00011) then 11 one-bits of padding: 0x1f 0xff.
    assert.match(String(huffmanDecode(hex('1fff'), new Uint8Array(8))), /longer than 7 bits/);
  });
  test('padding that is not all ones is a decoding error', () => {
    // 'a' = 00011 then 000 padding.
    assert.match(String(huffmanDecode(hex('18'), new Uint8Array(8))), /EOS prefix/);
  });
  test('an EOS symbol inside the string is a decoding error', () => {
    assert.match(String(huffmanDecode(hex('ffffffff'), new Uint8Array(8))), /EOS symbol/);
  });
  test('any bytes round-trip through encode and decode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const enc = huffmanEncode(b);
        const out = new Uint8Array(Math.ceil((enc.length * 8) / 5) + 1);
        const n = huffmanDecode(enc, out);
        assert.equal(typeof n, 'number');
        assert.deepEqual(out.subarray(0, n as number), b);
      }),
    );
  });
});

describe('HPACK decoding errors and unknown table state', () => {
  test('index 0 is an error (§6.1)', () => {
    assert.match(String(new HpackDecoder().decode(hex('80')).error), /index 0/);
  });
  test('a reference past the dynamic table is an error (§2.3.3)', () => {
    assert.match(String(new HpackDecoder().decode(hex('be')).error), /past the dynamic table/);
  });
  test('a size update after a field is an error (§4.2)', () => {
    assert.match(String(new HpackDecoder().decode(hex('8220')).error), /§4.2/);
  });
  test('a string running past the block is an error (§5.2)', () => {
    assert.match(String(new HpackDecoder().decode(hex('400a6375')).error), /runs past/);
  });
  test('joined mid-connection: unknown entries are reported, the rest of the block still decodes', () => {
    const d = new HpackDecoder(true);
    // :method GET, <dynamic 62: unknown>, literal-with-indexing x: y, then index 62 (now x: y).
    const r = d.decode(hex('82be4001780179be'));
    assert.match(String(r.error), /before the capture/);
    assert.deepEqual(r.headers, [
      [':method', 'GET'],
      ['x', 'y'],
      ['x', 'y'],
    ]);
  });
  test('a size update shrinks the table and evicts (§4.3, §6.3)', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a637573746f6d2d6b65790d637573746f6d2d686561646572'));
    d.decode(hex('20'));
    assert.deepEqual(d.table(), { entries: [], size: 0, maxSize: 0 });
  });
});

describe('HPACK encoder/decoder round trip', () => {
  const field = fc.tuple(
    fc.constantFrom(':path', 'content-type', 'x-a', 'x-b', 'cookie', 'user-agent'),
    fc.string({ maxLength: 40 }),
  );
  test('header lists survive any sequence of blocks with a shared dynamic table', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { maxLength: 8 }), { maxLength: 10 }),
        fc.boolean(),
        fc.constantFrom<'incremental' | 'without' | 'never'>('incremental', 'without', 'never'),
        (blocks, huffman, mode) => {
          const enc = new HpackEncoder(huffman, 256);
          const dec = new HpackDecoder(false, 256);
          for (const b of blocks) {
            const r = dec.decode(enc.encode(b as HeaderField[], mode));
            assert.equal(r.error, null);
            assert.deepEqual(r.headers, b);
          }
        },
      ),
    );
  });
});
