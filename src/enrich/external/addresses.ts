/**
 * Which outside addresses are worth naming. Private and local ranges have no place in a GeoIP
 * database (their answer would be made up), but a local DNS server may well name them; addresses
 * that are not one host's (unspecified, multicast, broadcast) are never looked up at all.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** `public`: look up everything; `private`: reverse DNS only (if allowed); `special`: nothing. */
export type AddressScope = 'public' | 'private' | 'special';

/**
 * The address to look up: an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) as
 * the IPv4 address it carries, anything else as given; null when `ip` is not an IP address.
 */
export function lookupAddress(ip: string): string | null {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return null;
  const w = ipv6Words(ip);
  if (!w) return null;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `${w[6]! >> 8}.${w[6]! & 0xff}.${w[7]! >> 8}.${w[7]! & 0xff}`;
  }
  return ip;
}

/** The scope of an address as `lookupAddress` returns it. */
export function addressScope(ip: string): AddressScope {
  if (isIPv4(ip)) return ipv4Scope(ip);
  const w = ipv6Words(ip);
  if (!w) return 'special';
  const first = w[0]!;
  const restZero = w.slice(1, 7).every((x) => x === 0);
  if (first === 0 && restZero && w[7]! <= 1) return w[7] === 1 ? 'private' : 'special'; // ::1 loopback, :: unspecified
  if ((first & 0xff00) === 0xff00) return 'special'; // ff00::/8 multicast (RFC 4291 §2.7)
  if ((first & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local (RFC 4193)
  if ((first & 0xffc0) === 0xfe80) return 'private'; // fe80::/10 link-local (RFC 4291 §2.5.6)
  return 'public';
}

function ipv4Scope(ip: string): AddressScope {
  const [a = 0, b = 0] = ip.split('.', 2).map(Number);
  if (a === 0 || a >= 224) return 'special'; // 0/8 "this network", 224/4 multicast, 240/4 reserved and broadcast
  if (a === 10 || a === 127) return 'private'; // RFC 1918, loopback
  if (a === 172 && b >= 16 && b <= 31) return 'private'; // RFC 1918
  if (a === 192 && b === 168) return 'private'; // RFC 1918
  if (a === 100 && b >= 64 && b <= 127) return 'private'; // RFC 6598 shared address space (carrier NAT)
  if (a === 169 && b === 254) return 'private'; // RFC 3927 link-local
  return 'public';
}

/** The eight 16-bit words of an IPv6 address in text form (with `::` and a dotted IPv4 tail), or null. */
function ipv6Words(ip: string): number[] | null {
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) > 0) {
    const v4 = text.slice(lastColon + 1);
    if (!isIPv4(v4)) return null;
    const o = v4.split('.').map(Number);
    tail.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
    text = text.slice(0, lastColon + 1); // `::ffff:`, `::`, `1:2:3:4:5:6:`
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const parts = text.split('::');
  if (parts.length > 2) return null;
  const hex = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const head = hex(parts[0]!);
  const rest = parts.length === 2 ? hex(parts[1]!) : [];
  const fill = 8 - head.length - rest.length - tail.length;
  if (parts.length === 2 ? fill < 1 : fill !== 0) return null;
  const words = [...head, ...new Array<number>(parts.length === 2 ? fill : 0).fill(0), ...rest, ...tail];
  return words.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) ? words : null;
}
