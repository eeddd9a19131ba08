/**
 * The test MaxMind DB writer (test/support/mmdb-writer.ts) checked by readers written by others:
 * the `maxmind` package (mmdb-lib) always, and libmaxminddb's `mmdblookup` (the C reference
 * reader, Debian package mmdb-bin) when installed. What the GeoIP tests build must be what a real
 * reader reads, else they would prove nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { Reader, type Response } from 'maxmind';
import {
  addressBits,
  buildMmdb,
  bytes,
  double,
  float,
  int32,
  type MmdbNetwork,
  type MmdbValue,
  uint16,
  uint32,
  uint64,
  uint128,
} from '../../support/mmdb-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-mmdb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function mmdblookupMissing(): string | false {
  try {
    execFileSync('mmdblookup', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'mmdblookup is not installed (apt-get install mmdb-bin)';
  }
}

/** mmdblookup's answer for `ip` at `path` (its own text format), or null for "no entry". */
function mmdblookup(file: string, ip: string, ...path: string[]): string | null {
  const r = spawnSync('mmdblookup', ['--file', file, '--ip', ip, ...path], { encoding: 'utf8' });
  if (r.stderr.includes('Could not find an entry')) return null;
  if (r.status !== 0) throw new Error(`mmdblookup ${ip}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

const read = (buf: Buffer) => new Reader<Response>(buf);
const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));

const CITY = (iso: string, country: string, city?: string) => ({
  country: { iso_code: iso, names: { en: country } },
  ...(city ? { city: { names: { en: city } } } : {}),
});

describe('mmdb writer, read back by the maxmind package', () => {
  const networks: MmdbNetwork[] = [
    { network: '203.0.0.0/16', data: CITY('DE', 'Germany') },
    { network: '203.0.113.0/24', data: CITY('DE', 'Germany', 'Berlin') },
    { network: '203.0.113.128/25', data: CITY('AT', 'Austria', 'Vienna') },
    { network: '198.51.100.7/32', data: CITY('JP', 'Japan', 'Tokyo') },
    { network: '2001:db8::/32', data: CITY('FR', 'France', 'Paris') },
    { network: '2001:db8:1::/48', data: CITY('FR', 'France', 'Lyon') },
  ];

  for (const recordSize of [24, 28, 32] as const) {
    for (const ipVersion of [4, 6] as const) {
      test(`IPv${ipVersion} tree, ${recordSize}-bit records: longest prefix wins, with its prefix length`, () => {
        const nets = ipVersion === 4 ? networks.filter((n) => !n.network.includes(':')) : networks;
        const r = read(buildMmdb(nets, { ipVersion, recordSize, databaseType: 'Test-City' }));
        assert.equal(r.metadata.recordSize, recordSize);
        assert.equal(r.metadata.ipVersion, ipVersion);
        const v4 = (ip: string, city: string | undefined, prefix: number) => {
          const [d, len] = r.getWithPrefixLength(ip);
          assert.equal((d as { city?: { names: { en: string } } } | null)?.city?.names.en, city, ip);
          assert.equal(len, prefix, `${ip} prefix`);
        };
        v4('203.0.113.0', 'Berlin', 25);
        v4('203.0.113.127', 'Berlin', 25);
        v4('203.0.113.128', 'Vienna', 25);
        v4('203.0.113.255', 'Vienna', 25);
        // In the /16: country only. The /24 split the /16 where they part (bit 22), so the record is at depth 23.
        v4('203.0.114.1', undefined, 23);
        assert.deepEqual(r.get('203.0.114.1'), CITY('DE', 'Germany'));
        v4('198.51.100.7', 'Tokyo', 32);
        assert.equal(r.get('198.51.100.6'), null);
        assert.equal(r.get('198.51.100.8'), null);
        assert.equal(r.get('8.8.8.8'), null);
        if (ipVersion === 6) {
          assert.equal(
            (r.get('2001:db8:1:ffff::1') as { city: { names: { en: string } } }).city.names.en,
            'Lyon',
          );
          assert.equal(
            (r.get('2001:db8:2::1') as { city: { names: { en: string } } }).city.names.en,
            'Paris',
          );
          assert.equal(r.get('2001:db9::1'), null);
          // MaxMind's aliases of the IPv4 subtree: IPv4-mapped and 6to4 (spec: "IPv4 addresses in an IPv6 tree").
          assert.deepEqual(r.get('::ffff:203.0.113.200'), r.get('203.0.113.200'));
          assert.deepEqual(r.get('2002:cb00:71c8::1'), r.get('203.0.113.200')); // 6to4 of 203.0.113.200
        }
      });
    }
  }

  test('metadata: every key the specification lists, with its type', () => {
    const r = read(
      buildMmdb(networks, {
        ipVersion: 6,
        recordSize: 28,
        databaseType: 'Test-City',
        languages: ['en', 'de'],
        description: { en: 'test', de: 'Test' },
        buildEpoch: 1_600_000_000,
      }),
    );
    const m = r.metadata;
    assert.equal(m.binaryFormatMajorVersion, 2);
    assert.equal(m.binaryFormatMinorVersion, 0);
    assert.equal(m.databaseType, 'Test-City');
    assert.deepEqual(m.languages, ['en', 'de']);
    assert.deepEqual(m.description, { en: 'test', de: 'Test' });
    assert.equal(m.buildEpoch.getTime(), 1_600_000_000_000);
    assert.ok(m.nodeCount > 128, 'an IPv6 tree is at least 128 nodes deep');
  });

  test('every data type, at the edges of its size forms', () => {
    const value: Record<string, MmdbValue> = {
      empty: '',
      s28: 'a'.repeat(28),
      s29: 'b'.repeat(29), // size 29: one more byte
      s284: 'c'.repeat(284),
      s285: 'd'.repeat(285), // size 30: two more bytes
      s65820: 'e'.repeat(65_820),
      s65821: 'f'.repeat(65_821), // size 31: three more bytes
      utf8: 'Zürich – 東京',
      u16: [uint16(0), uint16(1), uint16(255), uint16(256), uint16(65_535)],
      u32: [uint32(0), uint32(65_536), uint32(2 ** 32 - 1)],
      i32: [int32(0), int32(1), int32(-1), int32(2 ** 31 - 1), int32(-(2 ** 31))],
      u64: [uint64(0n), uint64(2n ** 64n - 1n)],
      u128: [uint128(1n), uint128(2n ** 128n - 1n)],
      dbl: [double(0), double(-1.5), double(1e300)],
      flt: [float(0.5), float(-2)],
      bool: [true, false],
      raw: bytes(Uint8Array.from([0, 1, 2, 255])),
      nested: { a: { b: { c: [[], {}, [1, [2, { d: 'e' }]]] } } },
      many: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])), // map of > 29 pairs
      long: Array.from({ length: 300 }, (_, i) => i), // array of > 285 items
    };
    const r = read(
      buildMmdb([{ network: '192.0.2.0/24', data: value }], {
        ipVersion: 6,
        recordSize: 24,
        databaseType: 'T',
      }),
    );
    const got = r.get('192.0.2.1') as Record<string, unknown>;
    const want = {
      ...value,
      u16: [0, 1, 255, 256, 65_535],
      u32: [0, 65_536, 2 ** 32 - 1],
      i32: [0, 1, -1, 2 ** 31 - 1, -(2 ** 31)],
      u64: [0n, 2n ** 64n - 1n],
      u128: [1n, 2n ** 128n - 1n],
      dbl: [0, -1.5, 1e300],
      flt: [0.5, -2],
    };
    delete (want as Record<string, unknown>).raw;
    const { raw, ...rest } = got;
    assert.equal(json(rest), json(want));
    assert.deepEqual([...(raw as Uint8Array)], [0, 1, 2, 255]);
  });

  for (const padding of [0, 3000, 600_000]) {
    test(`pointers to repeated data, ${padding ? `past ${padding} bytes (${padding < 526_336 ? '19' : '27'}-bit form)` : '11-bit form'}`, () => {
      // 200 networks sharing 3 records: each record and each repeated key is written once.
      const nets: MmdbNetwork[] = Array.from({ length: 200 }, (_, i) => ({
        network: `10.${i}.0.0/16`,
        data: CITY(['DE', 'FR', 'JP'][i % 3]!, ['Germany', 'France', 'Japan'][i % 3]!, `City ${i % 3}`),
      }));
      const opts = { ipVersion: 6, recordSize: 32, databaseType: 'T', dataPadding: padding } as const;
      const withPointers = buildMmdb(nets, opts);
      const without = buildMmdb(nets, { ...opts, pointers: false });
      assert.ok(withPointers.length < without.length - 100 * 30, 'repeated records are written once');
      // Records inside one value that repeat (the country names map shape) are pointers, followed right.
      const nested = buildMmdb(
        [{ network: '10.0.0.0/8', data: { a: { names: { en: 'Same' } }, b: { names: { en: 'Same' } } } }],
        opts,
      );
      for (const buf of [withPointers, without]) {
        const r = read(buf);
        for (let i = 0; i < 200; i += 7) {
          assert.deepEqual(r.get(`10.${i}.1.2`), nets[i]!.data);
        }
      }
      assert.deepEqual(read(nested).get('10.1.1.1'), {
        a: { names: { en: 'Same' } },
        b: { names: { en: 'Same' } },
      });
    });
  }

  for (const recordSize of [28, 32] as const) {
    test(`record values past 2^24 (a 16 MB data section), ${recordSize}-bit records`, () => {
      // Only here do a 28-bit record's top four bits (in the node's middle byte) hold anything.
      const buf = buildMmdb(
        [
          { network: '203.0.113.0/25', data: { n: 'low half' } },
          { network: '2001:db8::/33', data: { n: 'v6 low half' } },
        ],
        { ipVersion: 6, recordSize, databaseType: 'T', dataPadding: 16_800_000 },
      );
      const r = read(buf);
      assert.deepEqual(r.get('203.0.113.1'), { n: 'low half' });
      assert.equal(r.get('203.0.113.200'), null);
      assert.deepEqual(r.get('2001:db8:1::1'), { n: 'v6 low half' });
      assert.equal(r.get('2001:db8:8000::1'), null);
    });
  }

  test('a record value that does not fit the record size is refused', () => {
    assert.throws(
      () =>
        buildMmdb([{ network: '10.0.0.0/8', data: 'x' }], {
          ipVersion: 4,
          recordSize: 24,
          databaseType: 'T',
          dataPadding: 16_800_000,
        }),
      /does not fit 24 bits/,
    );
  });

  test('random networks and addresses: the reader finds the longest matching prefix (property)', () => {
    // Networks drawn around a few prefixes, so that they nest and split each other often.
    const v4net = fc
      .tuple(
        fc.constantFrom(10n, 203n),
        fc.bigInt({ min: 0n, max: 2n ** 24n - 1n }),
        fc.integer({ min: 8, max: 32 }),
      )
      .map(([first, rest, p]) => ({ bits: toBits((first << 24n) | rest, 32), prefix: p, v6: false }));
    const v6net = fc
      .tuple(
        fc.constantFrom(0x20010db8n, 0x20010db9n, 0xfd00_0000n),
        fc.bigInt({ min: 0n, max: 2n ** 96n - 1n }),
        fc.integer({ min: 16, max: 128 }),
      )
      .map(([top, rest, p]) => ({ bits: toBits((top << 96n) | rest, 128), prefix: p, v6: true }));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(v4net, v6net), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(24, 28, 32),
        fc.array(
          fc.oneof(
            fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }),
            fc.bigInt({ min: 0x0a000000n, max: 0x0affffffn }),
          ),
          { maxLength: 20 },
        ),
        (nets, recordSize, probes) => {
          // Distinct networks (same bits and prefix twice would leave the winner to insertion order).
          const seen = new Set<string>();
          const list = nets.filter((n) => {
            const k = `${n.v6}${n.bits.slice(0, n.prefix).join('')}`;
            if (seen.has(k)) return false;
            seen.add(k);
            return true;
          });
          const mmdb: MmdbNetwork[] = list.map((n, i) => ({
            network: `${n.v6 ? bitsToV6(n.bits) : bitsToV4(n.bits)}/${n.prefix}`,
            data: { id: i },
          }));
          const r = read(
            buildMmdb(mmdb, { ipVersion: 6, recordSize: recordSize as 24 | 28 | 32, databaseType: 'T' }),
          );
          // Probe each network's first and last address, its neighbour past the end, and random IPv4 addresses.
          const addresses: { bits: number[]; v6: boolean }[] = [];
          for (const n of list) {
            const first = n.bits.map((b, i) => (i < n.prefix ? b : 0));
            const last = n.bits.map((b, i) => (i < n.prefix ? b : 1));
            addresses.push({ bits: first, v6: n.v6 }, { bits: last, v6: n.v6 });
          }
          for (const p of probes) addresses.push({ bits: toBits(p, 32), v6: false });
          for (const a of addresses) {
            let best = -1;
            let bestLen = -1;
            list.forEach((n, i) => {
              if (
                n.v6 === a.v6 &&
                n.prefix > bestLen &&
                n.bits.slice(0, n.prefix).every((b, j) => b === a.bits[j])
              ) {
                best = i;
                bestLen = n.prefix;
              }
            });
            const ip = a.v6 ? bitsToV6(a.bits) : bitsToV4(a.bits);
            const got = r.get(ip) as { id: number } | null;
            assert.equal(got?.id ?? -1, best, `${ip} in ${json(mmdb)}`);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  test('addressBits reads IPv6 text forms the same way', () => {
    assert.deepEqual(addressBits('::ffff:192.0.2.1'), addressBits('0:0:0:0:0:ffff:c000:201'));
    assert.deepEqual(addressBits('2001:db8::'), addressBits('2001:0db8:0:0:0:0:0:0'));
    assert.equal(addressBits('::').length, 128);
  });
});

describe('mmdb writer, read back by libmaxminddb (mmdblookup)', { skip: mmdblookupMissing() }, () => {
  for (const recordSize of [24, 28, 32] as const) {
    test(`City and ASN shaped files, ${recordSize}-bit records`, () => {
      const file = join(dir, `c-${recordSize}.mmdb`);
      writeFileSync(
        file,
        buildMmdb(
          [
            {
              network: '203.0.113.0/24',
              data: { ...CITY('DE', 'Germany', 'Berlin'), autonomous_system_number: 64500 },
            },
            {
              network: '2001:db8::/32',
              data: { ...CITY('FR', 'France', 'Paris'), autonomous_system_number: 64501 },
            },
            {
              network: '198.51.100.0/24',
              data: { x: [int32(-7), uint64(2n ** 63n), double(2.5), float(0.25), true] },
            },
          ],
          {
            ipVersion: 6,
            recordSize,
            databaseType: 'Test-City',
            dataPadding: recordSize === 32 ? 600_000 : 0,
          },
        ),
      );
      assert.equal(mmdblookup(file, '203.0.113.9', 'city', 'names', 'en'), '"Berlin" <utf8_string>');
      assert.equal(mmdblookup(file, '::ffff:203.0.113.9', 'country', 'iso_code'), '"DE" <utf8_string>');
      assert.equal(mmdblookup(file, '2001:db8:ffff::1', 'city', 'names', 'en'), '"Paris" <utf8_string>');
      assert.equal(mmdblookup(file, '2001:db8::1', 'autonomous_system_number'), '64501 <uint32>');
      assert.equal(mmdblookup(file, '192.0.2.1'), null);
      const x = mmdblookup(file, '198.51.100.1', 'x')!.replace(/\s+/g, ' ');
      assert.match(
        x,
        /-7 <int32> 9223372036854775808 <uint64> 2\.500000 <double> 0\.250000 <float> true <boolean>/,
      );
      const meta = execFileSync('mmdblookup', ['--file', file, '--ip', '203.0.113.9', '--verbose'], {
        encoding: 'utf8',
      });
      assert.match(meta, /Binary format: 2\.0/);
      assert.match(meta, new RegExp(`Record size:\\s+${recordSize} bits`));
      assert.match(meta, /IP version:\s+IPv6/);
      assert.match(meta, /Record prefix length: 120/); // 96 + /24
      assert.match(meta, /Type:\s+Test-City/);
    });
  }
});

function toBits(n: bigint, width: number): number[] {
  const out: number[] = [];
  for (let i = width - 1; i >= 0; i--) out.push(Number((n >> BigInt(i)) & 1n));
  return out;
}

function bitsToV4(bits: number[]): string {
  return [0, 1, 2, 3].map((o) => Number.parseInt(bits.slice(o * 8, o * 8 + 8).join(''), 2)).join('.');
}

function bitsToHex(bits: number[], width: number): string {
  return Number.parseInt(bits.slice(0, width).join(''), 2).toString(16);
}

function bitsToV6(bits: number[]): string {
  return Array.from({ length: 8 }, (_, w) => bitsToHex(bits.slice(w * 16), 16)).join(':');
}
