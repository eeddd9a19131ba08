/**
 * GeoIP through the namer: City- and ASN-shaped .mmdb files built by the test writer (checked
 * against two independent readers in mmdb-writer.test.ts), opened by the real `maxmind` package.
 * Reverse DNS is off here (reverse-dns.test.ts covers it), so every answer is GeoIP's alone.
 * A real GeoLite2-City file is used too when PODWIRE_GEOIP_CITY names one (no Debian package ships
 * one), compared with libmaxminddb's mmdblookup.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  createExternalNamer,
  ExternalNamerError,
  type ExternalNamerOptions,
} from '../../../src/enrich/external/index.js';
import { buildMmdb, type MmdbNetwork } from '../../support/mmdb-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-geoip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const names = (en: string) => ({ en, de: `${en} (de)` });
const city = (iso: string, country: string, cityName?: string, geonameId = 1) => ({
  continent: { code: 'EU', geoname_id: 6255148, names: names('Europe') },
  country: { geoname_id: geonameId, iso_code: iso, names: names(country) },
  registered_country: { geoname_id: geonameId, iso_code: iso, names: names(country) },
  ...(cityName ? { city: { geoname_id: geonameId + 1, names: names(cityName) } } : {}),
  location: { accuracy_radius: 100, latitude: 52.5, longitude: 13.4, time_zone: 'Europe/Berlin' },
});
const asn = (n: number, org: string) => ({
  autonomous_system_number: n,
  autonomous_system_organization: org,
});

const CITY_NETS: MmdbNetwork[] = [
  { network: '203.0.0.0/16', data: city('DE', 'Germany') },
  { network: '203.0.113.0/24', data: city('DE', 'Germany', 'Berlin') },
  { network: '198.51.100.0/24', data: city('JP', 'Japan', 'Tokyo') },
  { network: '2001:db8::/32', data: city('FR', 'France', 'Paris') },
  { network: '2001:db8:1::/48', data: city('FR', 'France', 'Lyon') },
  // Only a registered country (as GeoLite2 has for some anycast networks).
  {
    network: '192.0.2.0/24',
    data: { registered_country: { geoname_id: 6252001, iso_code: 'US', names: names('United States') } },
  },
  // Private ranges a home-made file might carry: the namer must not use them.
  { network: '10.0.0.0/8', data: city('XX', 'Nowhere', 'Made Up') },
  { network: 'fd00::/8', data: city('XX', 'Nowhere', 'Made Up') },
];
const ASN_NETS: MmdbNetwork[] = [
  { network: '203.0.112.0/20', data: asn(64500, 'Example Transit GmbH') },
  { network: '198.51.100.0/24', data: asn(64501, 'Example Cloud KK') },
  { network: '2001:db8::/32', data: asn(64502, 'Example Telecom SA') },
  { network: '100.64.0.0/10', data: asn(64999, 'Carrier NAT') },
];

function file(name: string, content: Buffer | string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const cityDb = file(
  'city.mmdb',
  buildMmdb(CITY_NETS, { ipVersion: 6, recordSize: 28, databaseType: 'GeoLite2-City' }),
);
const asnDb = file(
  'asn.mmdb',
  buildMmdb(ASN_NETS, { ipVersion: 6, recordSize: 24, databaseType: 'GeoLite2-ASN' }),
);

async function namer(o: Partial<ExternalNamerOptions>) {
  return createExternalNamer({ reverseDns: false, ...o });
}

describe('GeoIP from City and ASN files', () => {
  test('country, city, AS number and organisation, IPv4 and IPv6, answered at once', async () => {
    const n = await namer({ cityDb, asnDb });
    try {
      assert.deepEqual(n.peek('203.0.113.7'), {
        country: 'DE',
        city: 'Berlin',
        asn: 64500,
        asOrg: 'Example Transit GmbH',
      });
      assert.deepEqual(n.peek('203.0.114.9'), { country: 'DE', asn: 64500, asOrg: 'Example Transit GmbH' });
      assert.deepEqual(n.peek('203.0.200.1'), { country: 'DE' }); // the /16 only, outside the ASN /20
      assert.deepEqual(n.peek('198.51.100.250'), {
        country: 'JP',
        city: 'Tokyo',
        asn: 64501,
        asOrg: 'Example Cloud KK',
      });
      assert.deepEqual(n.peek('2001:db8:1:2::3'), {
        country: 'FR',
        city: 'Lyon',
        asn: 64502,
        asOrg: 'Example Telecom SA',
      });
      assert.deepEqual(n.peek('2001:db8:2::3'), {
        country: 'FR',
        city: 'Paris',
        asn: 64502,
        asOrg: 'Example Telecom SA',
      });
      assert.deepEqual(n.peek('192.0.2.10'), { country: 'US' }, 'the registered country when no country');
      assert.deepEqual(n.peek('8.8.8.8'), {}, 'not in the files');
      assert.deepEqual(n.peek('2a00::1'), {});
      // IPv4-mapped IPv6 is looked up as IPv4.
      assert.deepEqual(n.peek('::ffff:203.0.113.7'), n.peek('203.0.113.7'));
      const s = n.stats();
      assert.equal(s.lookups, 0, 'no DNS');
      assert.equal(s.geoErrors, 0);
    } finally {
      n.close();
    }
  });

  test('private and local ranges never get GeoIP, even when the file has them', async () => {
    const n = await namer({ cityDb, asnDb });
    try {
      for (const ip of ['10.1.2.3', '100.64.5.5', 'fd00::1', '127.0.0.1', '169.254.0.1', 'fe80::1', '::1']) {
        assert.deepEqual(n.peek(ip), {}, ip);
      }
      assert.equal(n.stats().geoLookups, 0);
    } finally {
      n.close();
    }
  });

  test('answers are frozen and shared: a caller cannot change the cache', async () => {
    const n = await namer({ cityDb });
    try {
      const a = n.peek('203.0.113.7')!;
      assert.ok(Object.isFrozen(a));
      assert.equal(n.peek('203.0.113.7'), a);
      assert.equal(n.stats().geoLookups, 1, 'looked up once, then cached');
    } finally {
      n.close();
    }
  });

  test('either file alone', async () => {
    const c = await namer({ cityDb });
    const a = await namer({ asnDb });
    try {
      assert.deepEqual(c.peek('203.0.113.7'), { country: 'DE', city: 'Berlin' });
      assert.deepEqual(a.peek('203.0.113.7'), { asn: 64500, asOrg: 'Example Transit GmbH' });
    } finally {
      c.close();
      a.close();
    }
  });

  test('an IPv4-only file answers IPv4 and says nothing (no error) about IPv6', async () => {
    const v4only = file(
      'v4.mmdb',
      buildMmdb(
        CITY_NETS.filter((x) => !x.network.includes(':')),
        { ipVersion: 4, recordSize: 24, databaseType: 'GeoLite2-City' },
      ),
    );
    const n = await namer({ cityDb: v4only });
    try {
      assert.deepEqual(n.peek('198.51.100.1'), { country: 'JP', city: 'Tokyo' });
      // 2001:db8:... would walk the IPv4 tree as 32.1.13.184... if asked: it must not be.
      assert.deepEqual(n.peek('2001:db8::1'), {});
      assert.equal(n.stats().geoErrors, 0);
    } finally {
      n.close();
    }
  });
});

describe('files that cannot be used are errors that name them', () => {
  const cases: [string, () => Partial<ExternalNamerOptions>, RegExp][] = [
    [
      'a missing file',
      () => ({ cityDb: join(dir, 'nope.mmdb') }),
      /GeoIP city database .*nope\.mmdb: no such file/,
    ],
    ['a directory', () => ({ asnDb: dir }), /GeoIP ASN database .*: a directory/],
    ['an empty file', () => ({ cityDb: file('empty.mmdb', '') }), /empty\.mmdb: not a MaxMind DB file/],
    [
      'random bytes',
      () => ({
        cityDb: file('random.mmdb', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251))),
      }),
      /random\.mmdb: not a MaxMind DB file/,
    ],
    [
      'a gzipped file',
      () => ({
        cityDb: file(
          'city.mmdb.gz',
          gzipSync(buildMmdb(CITY_NETS, { ipVersion: 6, recordSize: 24, databaseType: 'GeoLite2-City' })),
        ),
      }),
      /city\.mmdb\.gz: not a MaxMind DB file .*gzip/,
    ],
    [
      'a file cut short (metadata lost)',
      () => ({
        cityDb: file(
          'cut.mmdb',
          buildMmdb(CITY_NETS, { ipVersion: 6, recordSize: 24, databaseType: 'GeoLite2-City' }).subarray(
            0,
            900,
          ),
        ),
      }),
      /cut\.mmdb: not a MaxMind DB file/,
    ],
    [
      'a file whose tree is damaged',
      () => {
        const b = buildMmdb(CITY_NETS, { ipVersion: 6, recordSize: 24, databaseType: 'GeoLite2-City' });
        b.fill(0xff, 0, 600); // every record of the first 100 nodes points far past the data section
        return { cityDb: file('damaged.mmdb', b) };
      },
      /damaged\.mmdb: damaged MaxMind DB file/,
    ],
    [
      'an ASN file given as the city file',
      () => ({ cityDb: asnDb }),
      /asn\.mmdb: holds 'GeoLite2-ASN', an ASN database/,
    ],
    [
      'a City file given as the ASN file',
      () => ({ asnDb: cityDb }),
      /city\.mmdb: holds 'GeoLite2-City', a location database/,
    ],
  ];
  for (const [what, opts, message] of cases) {
    test(what, async () => {
      await assert.rejects(namer(opts()), (err: Error) => {
        assert.ok(err instanceof ExternalNamerError, `${err.name}: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('bad options', async () => {
    for (const o of [
      { cacheSize: 0 },
      { cacheSize: 1.5 },
      { ttlMs: -1 },
      { maxLookupsPerSecond: 0 },
      { timeoutMs: Number.NaN },
      { queueSize: -1 },
      { privateRanges: 'sometimes' as 'skip' },
    ]) {
      await assert.rejects(namer(o), ExternalNamerError, JSON.stringify(o));
    }
    await assert.rejects(
      createExternalNamer({ dnsServers: ['not an address'] }),
      /DNS servers not an address/,
    );
  });
});

const realCity = process.env.PODWIRE_GEOIP_CITY;
const mmdblookup = spawnSync('mmdblookup', ['--version']).status === 0;
const realSkip = !realCity
  ? 'no real GeoLite2-City file: set PODWIRE_GEOIP_CITY=FILE (no Debian package ships one)'
  : !existsSync(realCity)
    ? `PODWIRE_GEOIP_CITY=${realCity}: no such file`
    : !mmdblookup
      ? 'mmdblookup is not installed (apt-get install mmdb-bin)'
      : false;

describe('a real GeoLite2-City file, compared with libmaxminddb', { skip: realSkip }, () => {
  test('country and city of well-known addresses agree with mmdblookup', async () => {
    const n = await namer({ cityDb: realCity });
    try {
      const ips = [
        '8.8.8.8',
        '1.1.1.1',
        '9.9.9.9',
        '81.2.69.142',
        '2001:4860:4860::8888',
        '2a03:2880:f12f:83:face:b00c::25de',
      ];
      let withCountry = 0;
      for (const ip of ips) {
        const got = n.peek(ip)!;
        const q = (...path: string[]) => {
          const r = spawnSync('mmdblookup', ['--file', realCity!, '--ip', ip, ...path], { encoding: 'utf8' });
          return /"(.*)" <utf8_string>/.exec(r.stdout)?.[1];
        };
        const country = q('country', 'iso_code') ?? q('registered_country', 'iso_code');
        assert.equal(got.country, country, `${ip} country`);
        assert.equal(got.city, q('city', 'names', 'en'), `${ip} city`);
        if (country) withCountry++;
      }
      assert.ok(withCountry >= 4, 'a real file knows the countries of these addresses');
    } finally {
      n.close();
    }
  });
});
