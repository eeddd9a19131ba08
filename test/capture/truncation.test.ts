/**
 * Cut and corrupt files. A file cut at any byte delivers every packet whose record is complete,
 * then ends with capture.truncated at the offset of the incomplete record (a cut on a record
 * boundary is just a shorter, valid file). Impossible lengths end with capture.corrupt at the
 * offset of the bad record. A cut gzip stream delivers every packet zlib could decompress.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { LinkType } from '../../src/capture/packet.js';
import { MAX_RECORD } from '../../src/capture/pcap-parser.js';
import {
  type CaptureBytes,
  IF_TSRESOL_NANOS,
  PcapngWriter,
  tempDir,
  writeFile,
  writePcap,
} from '../support/pcap-writer.js';
import { readAll } from './helpers.js';
import { frame, ipPacket } from './samples.js';

const { dir, cleanup } = tempDir('podwire-cut-');
after(cleanup);

const SIZES = [0, 5, 100, 33, 1];

function pcapFile(byteOrder: 'le' | 'be', nanos: boolean): CaptureBytes {
  return writePcap(
    { byteOrder, nanos, linkType: LinkType.ETHERNET },
    SIZES.map((n, i) => ({
      data: frame(LinkType.ETHERNET, ipPacket(i, n)),
      sec: 1_700_000_000 + i,
      frac: i,
    })),
  );
}

function pcapngFile(): CaptureBytes {
  const w = new PcapngWriter().section('le');
  const a = w.interface({ linkType: LinkType.ETHERNET, name: 'eth0' });
  const b = w.interface({ linkType: LinkType.RAW, tsresol: IF_TSRESOL_NANOS });
  w.epb({ interfaceId: a, ticks: w.ticks(a, 1_700_000_000, 5000), data: frame(1, ipPacket(0, 5)) });
  w.custom(32473, new Uint8Array(6));
  w.spb({ data: frame(1, ipPacket(1, 40)) });
  w.section('be');
  const c = w.interface({ linkType: LinkType.LINUX_SLL });
  w.epb({ interfaceId: c, ticks: 77n, data: frame(LinkType.LINUX_SLL, ipPacket(2, 0)) });
  w.opb({ interfaceId: c, ticks: 78n, data: frame(LinkType.LINUX_SLL, ipPacket(3, 9)) });
  w.isb(c, 79n);
  void b;
  return w.result();
}

/** What a reader must report for `c` cut to `cut` bytes. */
function expectation(c: CaptureBytes, cut: number) {
  const boundary = cut === 0 || c.records.some((r) => r.offset + r.length === cut);
  const incomplete = c.records.find((r) => r.offset + r.length > cut);
  return {
    packets: c.packets.filter((p) => {
      const rec = c.records.find((r) => r.offset === p.recordOffset)!;
      return rec.offset + rec.length <= cut;
    }).length,
    error: boundary ? undefined : { code: 'capture.truncated', offset: incomplete!.offset },
  };
}

const files: Array<[string, CaptureBytes]> = [
  ['pcap little-endian µs', pcapFile('le', false)],
  ['pcap big-endian ns', pcapFile('be', true)],
  ['pcapng with two sections, EPB, SPB, OPB, custom and statistics blocks', pcapngFile()],
];

describe('a file cut at every byte position', () => {
  for (const [name, c] of files) {
    test(`${name} (${c.bytes.length} bytes): the complete packets, then capture.truncated at the incomplete record`, async () => {
      for (let cut = 0; cut < c.bytes.length; cut++) {
        const path = writeFile(dir, 'cut.bin', c.bytes.subarray(0, cut));
        // A small chunk size on some cuts: records spanning reads must end the same way.
        const { packets, result, errors } = await readAll(path, cut % 5 === 0 ? { chunkSize: 7 } : {});
        const want = expectation(c, cut);
        const where = `cut at ${cut}`;
        assert.equal(packets.length, want.packets, `${where}: packets delivered`);
        assert.equal(result.packets, want.packets, `${where}: result.packets`);
        for (const [i, p] of packets.entries())
          assert.equal(p.recordOffset, c.packets[i]!.recordOffset, where);
        if (!want.error) {
          assert.equal(result.error, undefined, `${where}: ${result.error?.message}`);
          continue;
        }
        assert.equal(result.error?.code, want.error.code, `${where}: ${result.error?.message}`);
        assert.equal(result.error?.offset, want.error.offset, `${where}: error offset`);
        assert.match(result.error?.message ?? '', new RegExp(`at offset ${want.error.offset}\\b`), where);
        assert.match(
          result.error?.message ?? '',
          new RegExp(`${want.packets} packets read before it`),
          where,
        );
        assert.equal(errors.get('capture.truncated'), 1, where);
      }
    });

    test(`${name}: gzipped after the cut (every 3rd position), the same packets and error`, async () => {
      for (let cut = 1; cut < c.bytes.length; cut += 3) {
        const path = writeFile(dir, 'cut.gz', gzipSync(c.bytes.subarray(0, cut)));
        const { packets, result } = await readAll(path);
        const want = expectation(c, cut);
        assert.equal(packets.length, want.packets, `cut at ${cut}`);
        assert.equal(result.error?.code, want.error?.code, `cut at ${cut}`);
        assert.equal(result.error?.offset, want.error?.offset, `cut at ${cut}`);
      }
    });
  }

  test('the message of a cut file header says so', async () => {
    const c = pcapFile('le', false);
    for (const cut of [3, 12, 20]) {
      const { result } = await readAll(writeFile(dir, 'hdr.pcap', c.bytes.subarray(0, cut)));
      assert.equal(result.error?.code, 'capture.truncated');
      assert.equal(result.error?.offset, 0);
      assert.match(result.error?.message ?? '', /incomplete file header/);
    }
  });
});

describe('a cut gzip stream', () => {
  // Big enough for zlib to emit output before the end: 300 packets, about 130 kB uncompressed.
  const sizes = Array.from({ length: 300 }, (_, i) => (i * 37) % 700);
  const c = writePcap(
    { linkType: LinkType.RAW },
    sizes.map((n, i) => ({ data: ipPacket(i, n), sec: 1_700_000_000 + i })),
  );
  const gz = gzipSync(c.bytes);

  test('delivers every packet zlib can decompress, then capture.truncated at the incomplete record', async () => {
    // (One byte is not yet the 2-byte gzip magic: that file reads as a cut plain file header.)
    const cuts = [2, 10, 11, 20, 100, 1000, 5000, 10000, gz.length - 20, gz.length - 8, gz.length - 1];
    for (let k = 0; k < 40; k++) cuts.push(Math.floor((gz.length * (k + 0.5)) / 40));
    for (const cut of cuts) {
      const part = gz.subarray(0, cut);
      let prefix = 0;
      try {
        prefix = gunzipSync(part, { finishFlush: constants.Z_SYNC_FLUSH }).length;
      } catch {
        prefix = 0; // the gzip header itself is cut
      }
      const { packets, result, errors } = await readAll(writeFile(dir, 'stream.gz', part));
      const complete = c.records.filter(
        (r) => r.offset + r.length <= prefix && r.what.includes('packet'),
      ).length;
      const next = c.records.find((r) => r.offset + r.length > prefix);
      assert.equal(packets.length, complete, `cut at ${cut}: packets`);
      assert.equal(result.error?.code, 'capture.truncated', `cut at ${cut}`);
      assert.equal(result.error?.offset, next ? next.offset : prefix, `cut at ${cut}: offset`);
      assert.match(
        result.error?.message ?? '',
        /gzip stream ends early or is corrupt after decompressed offset \d+/,
      );
      assert.equal(errors.get('capture.truncated'), 1);
    }
  });

  test('the whole stream reads without error', async () => {
    const { packets, result } = await readAll(writeFile(dir, 'stream-whole.gz', gz));
    assert.equal(result.error, undefined);
    assert.equal(packets.length, 300);
  });
});

/** A copy of `c` with a 32-bit field at `at` set to `value` in the file's byte order. */
function patch32(c: CaptureBytes, at: number, value: number, le: boolean): Uint8Array {
  const out = c.bytes.slice();
  new DataView(out.buffer).setUint32(at, value >>> 0, le);
  return out;
}

describe('corrupt lengths', () => {
  test('pcap: a captured length over 1 MiB is capture.corrupt at its record, after the packets before it', async () => {
    for (const [byteOrder, le] of [
      ['le', true],
      ['be', false],
    ] as const) {
      const c = pcapFile(byteOrder, false);
      for (const k of [0, 2, 4]) {
        const rec = c.records[k + 1]!; // records[0] is the file header
        for (const value of [0xffffffff, 0x80000000, 1024 * 1024 + 1]) {
          const { packets, result, errors } = await readAll(
            writeFile(dir, 'bad.pcap', patch32(c, rec.offset + 8, value, le)),
          );
          assert.equal(packets.length, k);
          assert.equal(result.error?.code, 'capture.corrupt');
          assert.equal(result.error?.offset, rec.offset);
          assert.match(
            result.error?.message ?? '',
            new RegExp(`offset ${rec.offset}: captured length ${value}`),
          );
          assert.equal(errors.get('capture.corrupt'), 1);
        }
      }
    }
  });

  test('pcap: a captured length within bounds but past the end of the file is capture.truncated', async () => {
    const c = pcapFile('le', false);
    const rec = c.records[3]!;
    const { packets, result } = await readAll(
      writeFile(dir, 'long.pcap', patch32(c, rec.offset + 8, 1024 * 1024, true)),
    );
    assert.equal(packets.length, 2);
    assert.equal(result.error?.code, 'capture.truncated');
    assert.equal(result.error?.offset, rec.offset);
  });

  const ng = pcapngFile();
  const blocks = ng.records;
  const idx = (what: string, nth = 0) => blocks.filter((b) => b.what === what)[nth]!;
  const packetsBefore = (offset: number) => ng.packets.filter((p) => p.recordOffset < offset).length;
  const cases: Array<[string, number, number, number | ((len: number) => number)]> = [
    // [name, block offset, field offset within block, value]
    ['block length not a multiple of 4', idx('enhanced packet block').offset, 4, (len) => len + 2],
    ['block length below 12', idx('custom block').offset, 4, 8],
    ['block length 0', idx('simple packet block').offset, 4, 0],
    ['block length over 16 MiB', idx('enhanced packet block', 1).offset, 4, MAX_RECORD + 4],
    ['block length 0xFFFFFFFC', idx('interface description block', 1).offset, 4, 0xfffffffc],
    [
      'trailing length differs from the leading one',
      idx('enhanced packet block').offset,
      -4,
      (len) => len + 4,
    ],
    ['EPB captured length past its block', idx('enhanced packet block').offset, 20, 10_000],
    ['obsolete PB captured length past its block', idx('obsolete packet block').offset, 20, 0xffffffff],
    [
      'bad byte-order magic in the second section header',
      idx('section header block', 1).offset,
      8,
      0x11223344,
    ],
  ];
  for (const [name, offset, field, value] of cases) {
    test(`pcapng: ${name} is capture.corrupt at the block's offset`, async () => {
      const block = blocks.find((b) => b.offset === offset)!;
      const le = offset < idx('section header block', 1).offset; // the second section is big-endian
      const at = field < 0 ? offset + block.length + field : offset + field;
      const v = typeof value === 'function' ? value(block.length) : value;
      const { packets, result, errors } = await readAll(writeFile(dir, 'bad.pcapng', patch32(ng, at, v, le)));
      assert.equal(result.error?.code, 'capture.corrupt', result.error?.message);
      assert.equal(result.error?.offset, offset);
      assert.match(result.error?.message ?? '', new RegExp(`at offset ${offset}\\b`));
      assert.equal(packets.length, packetsBefore(offset));
      assert.equal(errors.get('capture.corrupt'), 1);
    });
  }

  test('pcapng: interface and packet blocks too short for their fixed fields are capture.corrupt', async () => {
    for (const [type, len] of [
      [1, 16],
      [6, 28],
      [2, 28],
      [3, 12],
    ] as const) {
      const w = new PcapngWriter().section('le');
      w.interface({ linkType: LinkType.RAW });
      w.epb({ interfaceId: 0, ticks: 1n, data: ipPacket(0, 4) });
      w.block(type, new Uint8Array(len - 12), 'short block');
      const c = w.result();
      const bad = c.records[c.records.length - 1]!;
      const { packets, result } = await readAll(writeFile(dir, 'short.pcapng', c.bytes));
      assert.equal(packets.length, 1, `type ${type}`);
      assert.equal(result.error?.code, 'capture.corrupt', `type ${type}: ${result.error?.message}`);
      assert.equal(result.error?.offset, bad.offset, `type ${type}`);
    }
  });
});
