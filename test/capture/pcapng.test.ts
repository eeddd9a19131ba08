/**
 * pcapng: sections in either byte order, several interfaces with their own link types, time
 * resolutions (10^-6, 10^-9, 10^-3, 10^-7, 2^-20, 2^-10) and time offsets, Enhanced, Simple and
 * obsolete Packet Blocks, and the blocks a reader must skip (name resolution, statistics,
 * decryption secrets, custom, unknown). Each file is checked against what was written and against
 * tshark, plain, gzipped and read in small chunks.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { LinkType } from '../../src/capture/packet.js';
import { tsharkAvailable } from '../reference/tshark.js';
import { ipv4Address, ipv6Address } from '../support/packets.js';
import {
  type CaptureBytes,
  gzipCapture,
  IF_TSRESOL_NANOS,
  ifTsresolPow2,
  PcapngWriter,
  stringOption,
  tempDir,
  writeFile,
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
const { dir, cleanup } = tempDir('podwire-pcapng-');
after(cleanup);

/** Times in seconds + nanoseconds, chosen so that coarse resolutions lose digits. */
const TIMES: Array<[number, number]> = [
  [1_700_000_000, 0],
  [1_700_000_000, 999_999_999],
  [1_700_000_001, 123_456_789],
  [1_700_000_002, 1],
  [1_695_393_095, 972_295_321],
  [1_703_000_000, 500_000_500],
  [1_700_000_003, 999_000_001],
];

function oneInterface(byteOrder: 'le' | 'be', tsresol?: number): CaptureBytes {
  const w = new PcapngWriter().section(byteOrder, [stringOption(4, 'podwire tests')]);
  const id = w.interface({ linkType: LinkType.ETHERNET, snaplen: 262144, tsresol, name: 'eth0' });
  sampleFrames(LinkType.ETHERNET).forEach((data, i) => {
    const [s, ns] = TIMES[i % TIMES.length]!;
    w.epb({ interfaceId: id, ticks: w.ticks(id, s, ns), data });
  });
  return w.result();
}

/** Six interfaces, one per link type, each with its own resolution and offset; packets interleaved. */
function manyInterfaces(byteOrder: 'le' | 'be'): CaptureBytes {
  const w = new PcapngWriter().section(byteOrder);
  const ifaces = [
    w.interface({ linkType: LinkType.ETHERNET, name: 'eth0' }),
    w.interface({ linkType: LinkType.LINUX_SLL, tsresol: IF_TSRESOL_NANOS, name: 'any' }),
    w.interface({ linkType: LinkType.LINUX_SLL2, tsresol: ifTsresolPow2(20), tsoffset: 1000, name: 'any2' }),
    w.interface({ linkType: LinkType.NULL, tsresol: 3, tsoffset: -3600, name: 'lo0' }),
    w.interface({ linkType: LinkType.RAW, tsresol: 7, name: 'tun0' }),
    w.interface({
      linkType: LinkType.LOOP,
      tsresol: ifTsresolPow2(10),
      tsoffset: 1_600_000_000,
      name: 'lo1',
    }),
  ];
  const lts = [
    LinkType.ETHERNET,
    LinkType.LINUX_SLL,
    LinkType.LINUX_SLL2,
    LinkType.NULL,
    LinkType.RAW,
    LinkType.LOOP,
  ];
  for (let round = 0; round < 2; round++) {
    ifaces.forEach((id, k) => {
      const frames = sampleFrames(lts[k]!);
      const i = (round * 3 + k) % frames.length;
      const [s, ns] = TIMES[(i + k) % TIMES.length]!;
      w.epb({ interfaceId: id, ticks: w.ticks(id, s + round, ns), data: frames[i]! });
    });
  }
  return w.result();
}

/** Every kind of block in one section: packets of three kinds between blocks that must be skipped. */
function everyBlock(byteOrder: 'le' | 'be'): CaptureBytes {
  const w = new PcapngWriter().section(byteOrder, [stringOption(2, 'x86_64'), stringOption(3, 'Linux')]);
  const frames = sampleFrames(LinkType.ETHERNET);
  // Interface 0 takes SPBs: its snap length caps their captured length.
  const eth = w.interface({ linkType: LinkType.ETHERNET, snaplen: 1000, tsresol: IF_TSRESOL_NANOS });
  const raw = w.interface({ linkType: LinkType.RAW });
  w.nrb([
    { address: ipv4Address('10.0.0.1'), names: ['client.example'] },
    { address: ipv6Address('2001:db8::1'), names: ['v6.example', 'alias.example'] },
  ]);
  w.epb({
    interfaceId: eth,
    ticks: w.ticks(eth, 1_700_000_000, 111_222_333),
    data: frames[1]!,
    comment: 'first',
  });
  w.spb({ data: frames[2]! });
  w.spb({ data: frames[3]!.subarray(0, 1000), wirelen: frames[3]!.length }); // snapped to 1000
  w.block(0x12345678, new Uint8Array(20)); // an unknown block type
  w.custom(32473, new TextEncoder().encode('podwire custom'), true);
  w.custom(32473, new Uint8Array(3), false);
  w.dsb(0x544c534b, new TextEncoder().encode('CLIENT_RANDOM 00 11\n')); // TLS key log
  w.opb({
    interfaceId: raw,
    ticks: w.ticks(raw, 1_700_000_001, 5_000),
    data: frames[4]!.subarray(14),
    drops: 2,
  });
  w.isb(eth, w.ticks(eth, 1_700_000_002), 10n, 1n);
  w.epb({
    interfaceId: raw,
    ticks: w.ticks(raw, 1_700_000_002, 7_000),
    data: frames[5]!.subarray(14, 40),
    wirelen: frames[5]!.length - 14,
  });
  w.spb({ data: frames[0]! });
  return w.result();
}

/** Three sections: little-endian, big-endian, little-endian again, each declaring its own interfaces. */
function sections(): CaptureBytes {
  const w = new PcapngWriter();
  const frames = sampleFrames(LinkType.ETHERNET);
  w.section('le');
  const a = w.interface({ linkType: LinkType.ETHERNET });
  const b = w.interface({ linkType: LinkType.ETHERNET, tsresol: IF_TSRESOL_NANOS });
  w.epb({ interfaceId: a, ticks: w.ticks(a, 1_700_000_000, 1_000), data: frames[0]! });
  w.epb({ interfaceId: b, ticks: w.ticks(b, 1_700_000_000, 2_500), data: frames[1]! });
  w.section('be');
  const c = w.interface({ linkType: LinkType.RAW, tsresol: ifTsresolPow2(20) });
  w.epb({ interfaceId: c, ticks: w.ticks(c, 1_700_000_010, 3_000_000), data: frames[2]!.subarray(14) });
  w.section('le');
  const d = w.interface({ linkType: LinkType.LINUX_SLL2 });
  const e = w.interface({ linkType: LinkType.ETHERNET, tsoffset: 7 });
  w.epb({ interfaceId: e, ticks: w.ticks(e, 1_700_000_020, 4_000), data: frames[3]! });
  w.epb({
    interfaceId: d,
    ticks: w.ticks(d, 1_700_000_020, 5_000),
    data: sampleFrames(LinkType.LINUX_SLL2)[4]!,
  });
  return w.result();
}

interface Variant {
  name: string;
  capture: CaptureBytes;
  /** Link types podwire reports for the file: every interface of every section. */
  linkTypes: number[];
  path: string;
  gzPath: string;
}

const specs: Array<Omit<Variant, 'path' | 'gzPath'>> = [
  { name: 'one interface, little-endian, microseconds', capture: oneInterface('le'), linkTypes: [1] },
  { name: 'one interface, big-endian, microseconds', capture: oneInterface('be'), linkTypes: [1] },
  {
    name: 'one interface, big-endian, nanoseconds',
    capture: oneInterface('be', IF_TSRESOL_NANOS),
    linkTypes: [1],
  },
  {
    name: 'one interface, little-endian, 2^-30 s',
    capture: oneInterface('le', ifTsresolPow2(30)),
    linkTypes: [1],
  },
  {
    name: 'six interfaces (Ethernet, SLL, SLL2, NULL, RAW, LOOP) with different resolutions and offsets, little-endian',
    capture: manyInterfaces('le'),
    linkTypes: [1, 113, 276, 0, 101, 108],
  },
  {
    name: 'six interfaces with different resolutions and offsets, big-endian',
    capture: manyInterfaces('be'),
    linkTypes: [1, 113, 276, 0, 101, 108],
  },
  {
    name: 'EPB, SPB, obsolete PB among NRB, ISB, DSB, custom and unknown blocks, little-endian',
    capture: everyBlock('le'),
    linkTypes: [1, 101],
  },
  {
    name: 'EPB, SPB, obsolete PB among NRB, ISB, DSB, custom and unknown blocks, big-endian',
    capture: everyBlock('be'),
    linkTypes: [1, 101],
  },
  {
    name: 'three sections (LE, BE, LE), interface ids restarting in each',
    capture: sections(),
    linkTypes: [1, 1, 101, 276, 1],
  },
];

const variants: Variant[] = specs.map((s, i) => ({
  ...s,
  path: writeFile(dir, `v${i}.pcapng`, s.capture.bytes),
  gzPath: writeFile(dir, `v${i}.pcapng.gz`, gzipCapture(s.capture).bytes),
}));

const tshark: TsharkFrame[][] = haveTshark ? await mapLimit(variants, 2, (v) => tsharkFrames(v.path)) : [];

describe('pcapng reader', () => {
  variants.forEach((v, i) => {
    describe(v.name, () => {
      test('every packet has the time (µs), lengths, link type, interface and block offset that were written', async () => {
        const { packets, result, errors } = await readAll(v.path);
        assertSameAsWritten(packets, v.capture.packets, v.name);
        assert.equal(result.error, undefined, result.error?.message);
        assert.equal(result.format, 'pcapng');
        assert.equal(result.packets, v.capture.packets.length);
        assert.deepEqual(result.linkTypes, v.linkTypes);
        assert.equal(errors.total(), 0);
      });

      test('gzipped, the same packets', async () => {
        const { packets, result } = await readAll(v.gzPath);
        assert.equal(result.error, undefined);
        assertSameAsWritten(packets, v.capture.packets, `${v.name} (gzip)`);
      });

      test('read in chunks smaller than a block, the same packets', async () => {
        for (const chunkSize of [1, 5, 12, 28, 100, 4096]) {
          const { packets, result } = await readAll(v.path, { chunkSize });
          assert.equal(result.error, undefined, `chunk size ${chunkSize}: ${result.error?.message}`);
          assertSameAsWritten(packets, v.capture.packets, `${v.name}, chunk size ${chunkSize}`);
        }
      });

      test('agrees with tshark frame by frame', {
        skip: haveTshark ? false : 'tshark is not installed',
      }, async () => {
        const { packets } = await readAll(v.path);
        assertSameAsTshark(packets, tshark[i]!, 'pcapng', v.name);
      });
    });
  });

  test('a Simple Packet Block carries no time: podwire gives it the previous packet time (tshark none)', async () => {
    const v = variants.find((x) => x.name.startsWith('EPB, SPB'))!;
    const { packets } = await readAll(v.path);
    // Written: EPB, SPB, SPB, OPB, EPB, SPB.
    assert.equal(packets[1]!.tsMicros, packets[0]!.tsMicros);
    assert.equal(packets[2]!.tsMicros, packets[0]!.tsMicros);
    assert.equal(packets[5]!.tsMicros, packets[4]!.tsMicros);
    // The snapped SPB: captured length is the interface's snap length, original length is kept.
    assert.equal(packets[2]!.caplen, 1000);
    assert.ok(packets[2]!.wirelen > 1000);
    if (haveTshark) {
      const frames = tshark[variants.indexOf(v)]!.filter((f) => f.interfaceId !== null);
      assert.deepEqual(
        frames.map((f) => f.tsMicros === null),
        [false, true, true, false, false, true],
      );
    }
  });

  test('a packet block naming an interface not declared in its section is counted and skipped', async () => {
    const w = new PcapngWriter().section('le');
    const id = w.interface({ linkType: LinkType.RAW });
    const frames = sampleFrames(LinkType.RAW);
    w.epb({ interfaceId: id, ticks: 1n, data: frames[0]! });
    // Interface 3 does not exist; build the block by hand so the writer's bookkeeping stays right.
    const bogus = new PcapngWriter().section('le');
    bogus.interface({ linkType: LinkType.RAW });
    bogus.interface({ linkType: LinkType.RAW });
    bogus.interface({ linkType: LinkType.RAW });
    const id3 = bogus.interface({ linkType: LinkType.RAW });
    bogus.epb({ interfaceId: id3, ticks: 2n, data: frames[1]! });
    const blocks = bogus.result();
    const epb = blocks.records[blocks.records.length - 1]!;
    w.raw(blocks.bytes.subarray(epb.offset, epb.offset + epb.length), 'epb for interface 3');
    w.epb({ interfaceId: id, ticks: 3n, data: frames[2]! });
    const { packets, result, errors } = await readAll(
      writeFile(dir, 'unknown-interface.pcapng', w.result().bytes),
    );
    assert.equal(result.error, undefined);
    assert.equal(packets.length, 2);
    assert.equal(errors.get('capture.unknown_interface'), 1);
  });
});
