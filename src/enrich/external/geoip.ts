/**
 * GeoIP from MaxMind DB files (the `maxmind` package reads them; format: MaxMind DB File Format
 * Specification v2.0): country and city from a GeoLite2-City/GeoIP2-City shaped file (a Country
 * file works too, without cities), AS number and organisation from a GeoLite2-ASN shaped file.
 * The whole file is read into memory when opened, so a lookup is a walk of an in-memory tree:
 * no I/O after `openGeoIp`.
 */
import { stat } from 'node:fs/promises';
import { open, type Reader, type Response } from 'maxmind';
import { ExternalNamerError } from './errors.js';

/** What the GeoIP files say about an address (fields absent when the files do not say). */
export interface GeoFields {
  /** ISO 3166-1 alpha-2 code of the country (`DE`), else of the registered country. */
  country?: string;
  /** The city's English name. */
  city?: string;
  asn?: number;
  asOrg?: string;
}

type AnyRecord = Record<string, unknown>;

export class GeoIp {
  /** Lookups that threw (a damaged data section). */
  errors = 0;

  private constructor(
    private readonly city: Reader<Response> | null,
    private readonly asn: Reader<Response> | null,
  ) {}

  /** Opens either or both files; throws ExternalNamerError naming the file that is missing or not a MaxMind DB. */
  static async open(cityDb?: string, asnDb?: string): Promise<GeoIp> {
    const city = cityDb ? await openDb(cityDb, 'city') : null;
    const asn = asnDb ? await openDb(asnDb, 'asn') : null;
    return new GeoIp(city, asn);
  }

  /** The fields the files have for `ip` (an address `lookupAddress` returned); empty object when none. */
  lookup(ip: string): GeoFields {
    const out: GeoFields = {};
    const c = this.get(this.city, ip);
    if (c) {
      const country = str(obj(c.country)?.iso_code) ?? str(obj(c.registered_country)?.iso_code);
      const city = str(obj(obj(c.city)?.names)?.en);
      if (country) out.country = country;
      if (city) out.city = city;
    }
    const a = this.get(this.asn, ip);
    if (a) {
      const asn = a.autonomous_system_number;
      const org = str(a.autonomous_system_organization);
      if (typeof asn === 'number' && Number.isInteger(asn) && asn >= 0) out.asn = asn;
      if (org) out.asOrg = org;
    }
    return out;
  }

  private get(db: Reader<Response> | null, ip: string): AnyRecord | null {
    if (!db) return null;
    // An IPv4-only file has no IPv6 tree: the reader would walk the IPv4 tree with IPv6 bits.
    if (db.metadata.ipVersion === 4 && ip.includes(':')) return null;
    try {
      return obj(db.get(ip));
    } catch {
      this.errors++;
      return null;
    }
  }
}

async function openDb(path: string, role: 'city' | 'asn'): Promise<Reader<Response>> {
  const what = role === 'city' ? 'GeoIP city database' : 'GeoIP ASN database';
  let reader: Reader<Response>;
  try {
    reader = await open<Response>(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ExternalNamerError(`${what} ${path}: no such file`);
    if (e.code === 'EISDIR') throw new ExternalNamerError(`${what} ${path}: a directory, not a .mmdb file`);
    if (e.code === 'EACCES') throw new ExternalNamerError(`${what} ${path}: permission denied`);
    throw new ExternalNamerError(`${what} ${path}: not a MaxMind DB file (${e.message})`);
  }
  const m = reader.metadata;
  const { size } = await stat(path);
  const sane =
    (m.ipVersion === 4 || m.ipVersion === 6) &&
    Number.isInteger(m.nodeCount) &&
    m.nodeCount > 0 &&
    m.searchTreeSize + 16 < size;
  if (!sane)
    throw new ExternalNamerError(
      `${what} ${path}: not a MaxMind DB file (its metadata does not describe it)`,
    );
  try {
    // A cut or damaged file opens (the metadata is at the end) but throws when a lookup walks into it.
    reader.get('192.0.2.1');
    if (m.ipVersion === 6) reader.get('2001:db8::1');
  } catch (err) {
    throw new ExternalNamerError(`${what} ${path}: damaged MaxMind DB file (${(err as Error).message})`);
  }
  // The two flags are easy to swap; a file whose type says it is the other kind is refused, a type
  // that says neither (other vendors' names) is accepted.
  const type = m.databaseType ?? '';
  const isAsn = /asn/i.test(type);
  const isGeo = /city|country/i.test(type);
  if (role === 'asn' && isGeo && !isAsn)
    throw new ExternalNamerError(
      `${what} ${path}: holds '${type}', a location database (use it as the city database)`,
    );
  if (role === 'city' && isAsn && !isGeo)
    throw new ExternalNamerError(
      `${what} ${path}: holds '${type}', an ASN database (use it as the ASN database)`,
    );
  return reader;
}

function obj(x: unknown): AnyRecord | null {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as AnyRecord) : null;
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}
