import assert from 'node:assert/strict';
import { SocketAddress } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIp, hexdump, u16be, u16le, u32be, u32le } from '../../src/wire/bytes.js';

test('integer readers in both byte orders', () => {
  const b = Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0xff, 0xff, 0xff, 0xff);
  assert.equal(u16be(b, 0), 0x1234);
  assert.equal(u16le(b, 0), 0x3412);
  assert.equal(u32be(b, 0), 0x12345678);
  assert.equal(u32le(b, 0), 0x78563412);
  assert.equal(u32be(b, 4), 0xffffffff, 'unsigned, never negative');
});

test('IPv4-mapped words print as dotted quads', () => {
  assert.equal(formatIp(0, 0, 0xffff, 0xc0a80001), '192.168.0.1');
  assert.equal(formatIp(0, 0, 0xffff, 0), '0.0.0.0');
});

test('IPv6 words print in RFC 5952 form, as Node itself prints them', () => {
  // Node's SocketAddress normalises addresses (libuv's inet_ntop): the independent reference.
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
      (groups) => {
        const w = [0, 1, 2, 3].map((i) => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0) as [
          number,
          number,
          number,
          number,
        ];
        if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return; // printed as IPv4 on purpose
        // inet_ntop prints ::a.b.c.d for the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1);
        // RFC 5952 §5 keeps mixed notation for mapped addresses only, as podwire does.
        if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] > 0xffff) return;
        const text = groups.map((g) => g.toString(16)).join(':');
        const expected = new SocketAddress({ address: text, family: 'ipv6' }).address;
        assert.equal(formatIp(...w), expected);
      },
    ),
    { numRuns: 2000 },
  );
  assert.equal(formatIp(0x20010db8, 0, 0, 1), '2001:db8::1');
  assert.equal(formatIp(0, 0, 0, 1), '::1');
});

test('hexdump shows offsets, hex and printable ASCII', () => {
  const dump = hexdump(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n'));
  assert.match(
    dump,
    /^0x0000: {2}47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a {2}GET \/ HTTP\/1\.1\.\.$/m,
  );
  assert.match(dump, /^0x0010:/m);
});
