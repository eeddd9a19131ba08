/**
 * Classic pcap, every variant the reader claims: both byte orders, micro- and nanosecond magic,
 * each supported link type, snapped packets, plain and gzipped, read whole and in chunks smaller
 * than one packet. Each file is written by test/support/pcap-writer.ts and checked against what was
 * written and against tshark.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { LinkType } from '../../src/capture/packet.js';
import { tsharkAvailable } from '../reference/tshark.js';
import {
  type CaptureBytes,
  gzipCapture,
  type PcapPacket,
  tempDir,
  writeFile,
  writePcap,
} from '../support/pcap-writer.js';
import {
  assertSameAsTshark,
  assertSameAsWritten,
  mapLimit,
  readAll,
  type TsharkFrame,
  tsharkFrames,
} from './helpers.js';
import { sampleFrames } from './samples.js';

const haveTshark = await tsharkAvailable();
const { dir, cleanup } = tempDir('podwire-pcap-');
after(cleanup);

/** Timestamps at the edges: second 0 of a record, the last micro/nanosecond of a second, 2038+. */
function times(nanos: boolean): Array<[number, number]> {
  const top = nanos ? 999_999_999 : 999_999;
  return [
    [1_700_000_000, 0],
    [1_700_000_000, top],
    [1_700_000_001, nanos ? 123_456_789 : 123_456],
    [1_700_000_001, nanos ? 123_456_999 : 123_457],
    [4_000_000_000, 1],
    [1_000_000_000, nanos ? 999 : 0],
    [1_700_000_100, nanos ? 500_000_500 : 500_000],
  ];
}

function packets(linkType: number, nanos: boolean): PcapPacket[] {
  const t = times(nanos);
  return sampleFrames(linkType).map((data, i) => {
    const [sec, frac] = t[i % t.length]!;
    return { data, sec, frac };
  });
}

interface Variant {
  name: string;
  capture: CaptureBytes;
  path: string;
  gzPath: string;
}

const specs: Array<{ name: string; capture: CaptureBytes }> = [];
for (const byteOrder of ['le', 'be'] as const) {
  for (const nanos of [false, true]) {
    specs.push({
      name: `pcap ${byteOrder === 'le' ? 'little' : 'big'}-endian ${nanos ? 'nanosecond' : 'microsecond'}`,
      capture: writePcap(
        { byteOrder, nanos, linkType: LinkType.ETHERNET },
        packets(LinkType.ETHERNET, nanos),
      ),
    });
  }
}
for (const [name, lt] of [
  ['Linux cooked (SLL)', LinkType.LINUX_SLL],
  ['Linux cooked v2 (SLL2)', LinkType.LINUX_SLL2],
  ['BSD loopback (NULL)', LinkType.NULL],
  ['OpenBSD loopback (LOOP)', LinkType.LOOP],
  ['raw IP (RAW)', LinkType.RAW],
] as const) {
  specs.push({
    name: `pcap link type ${lt} ${name}`,
    capture: writePcap({ byteOrder: 'be', nanos: lt % 2 === 0, linkType: lt }, packets(lt, lt % 2 === 0)),
  });
}
// Snapped: every record holds only the first 64 bytes of a longer frame (tcpdump -s 64).
specs.push({
  name: 'pcap with snap length 64 (captured length below the original length)',
  capture: writePcap(
    { linkType: LinkType.ETHERNET, snaplen: 64 },
    packets(LinkType.ETHERNET, false).map((p) => ({
      ...p,
      data: p.data.subarray(0, 64),
      wirelen: p.data.length,
    })),
  ),
});

const variants: Variant[] = specs.map((s, i) => ({
  ...s,
  path: writeFile(dir, `v${i}.pcap`, s.capture.bytes),
  gzPath: writeFile(dir, `v${i}.pcap.gz`, gzipCapture(s.capture).bytes),
}));

// tshark starts slowly: run it for every file up front, two at a time.
const tshark: TsharkFrame[][] = haveTshark ? await mapLimit(variants, 2, (v) => tsharkFrames(v.path)) : [];

describe('pcap reader', () => {
  variants.forEach((v, i) => {
    describe(v.name, () => {
      test('every packet has the time (µs), lengths, link type and record offset that were written', async () => {
        const { packets, result, errors } = await readAll(v.path);
        assertSameAsWritten(packets, v.capture.packets, v.name);
        assert.equal(result.error, undefined);
        assert.equal(result.format, 'pcap');
        assert.equal(result.packets, v.capture.packets.length);
        assert.deepEqual(result.linkTypes, [v.capture.packets[0]!.linkType]);
        assert.equal(errors.total(), 0);
      });

      test('gzipped, the same packets', async () => {
        const { packets, result } = await readAll(v.gzPath);
        assert.equal(result.error, undefined);
        assertSameAsWritten(packets, v.capture.packets, `${v.name} (gzip)`);
      });

      test('read in chunks smaller than a packet (and than the file header), the same packets', async () => {
        for (const chunkSize of [1, 7, 13, 23, 64, 1000]) {
          const { packets, result } = await readAll(v.path, { chunkSize });
          assert.equal(result.error, undefined, `chunk size ${chunkSize}: ${result.error?.message}`);
          assertSameAsWritten(packets, v.capture.packets, `${v.name}, chunk size ${chunkSize}`);
        }
      });

      test('agrees with tshark frame by frame', {
        skip: haveTshark ? false : 'tshark is not installed',
      }, async () => {
        const { packets } = await readAll(v.path);
        assertSameAsTshark(packets, tshark[i]!, 'pcap', v.name);
      });
    });
  });

  test('records larger than the room kept for a chunk boundary (1 MiB jumbo packets), in chunks big and small', async () => {
    // The reader keeps 320 KiB in front of each chunk for the previous chunk's unfinished record;
    // a longer record is joined in a buffer of its own. Packets of 1 MiB (MAX_RECORD allows 16) with
    // small ones around them, read with chunks smaller and larger than the record.
    const big = (n: number) => new Uint8Array(1 << 20).map((_, i) => (i * 31 + n) & 0xff);
    const packets: PcapPacket[] = [
      { data: Uint8Array.of(1, 2, 3), sec: 1_700_000_000 },
      { data: big(1), sec: 1_700_000_001 },
      { data: Uint8Array.of(4, 5), sec: 1_700_000_002 },
      { data: big(2), sec: 1_700_000_003 },
      { data: big(3), sec: 1_700_000_004 },
    ];
    const c = writePcap({ linkType: LinkType.RAW, snaplen: 1 << 21 }, packets);
    const path = writeFile(dir, 'jumbo.pcap', c.bytes);
    for (const chunkSize of [4096, 100_000, 333_333, 1 << 20, 4 << 20]) {
      const { packets: got, result } = await readAll(path, { chunkSize });
      assert.equal(result.error, undefined, `chunk size ${chunkSize}: ${result.error?.message}`);
      assertSameAsWritten(got, c.packets, `jumbo, chunk size ${chunkSize}`);
    }
    // Cut in the middle of the last jumbo record: every packet before it, then capture.truncated.
    const cut = writeFile(dir, 'jumbo-cut.pcap', c.bytes.subarray(0, c.bytes.length - 1000));
    const { packets: some, result } = await readAll(cut, { chunkSize: 100_000 });
    assert.equal(some.length, 4);
    assert.equal(result.error?.code, 'capture.truncated');
    assert.equal(result.error?.offset, c.bytes.length - (1 << 20) - 16);
  });

  test('a file of only the 24-byte header has no packets and no error (as tshark reads it)', async () => {
    const c = writePcap({ linkType: LinkType.RAW }, []);
    const { packets, result } = await readAll(writeFile(dir, 'header-only.pcap', c.bytes));
    assert.equal(packets.length, 0);
    assert.equal(result.error, undefined);
    assert.equal(result.format, 'pcap');
    assert.deepEqual(result.linkTypes, [LinkType.RAW]);
  });

  test('an empty file has no packets and no error (tshark reads it the same way)', async () => {
    const { packets, result } = await readAll(writeFile(dir, 'empty.pcap', new Uint8Array(0)));
    assert.equal(packets.length, 0);
    assert.equal(result.error, undefined);
    assert.equal(result.format, 'unknown');
  });

  test('a file that is neither pcap nor pcapng is capture.corrupt at offset 0, naming the magic', async () => {
    const { packets, result, errors } = await readAll(
      writeFile(dir, 'not-a-capture.pcap', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
    );
    assert.equal(packets.length, 0);
    assert.equal(result.error?.code, 'capture.corrupt');
    assert.equal(result.error?.offset, 0);
    assert.match(result.error?.message ?? '', /not a pcap or pcapng file \(magic 0x47455420/);
    assert.equal(errors.get('capture.corrupt'), 1);
  });
});
