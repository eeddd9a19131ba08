/**
 * HTTP/2 on the real captures of test/captures/http2, against tshark 4.0 with the decode-as rules
 * of INDEX.md: the number of HEADERS frames, and the :method, :path and :status values, must be
 * the same; each exchange is one entry.
 *
 * Left out: http2/ja4__http2-with-cookies.pcapng is TLS (its HTTP/2 is visible to tshark only
 * through the keys in its pcapng Decryption Secrets Block); podwire sees TLS there, not HTTP/2.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tsharkAvailable } from '../../reference/tshark.js';
import type { Detail } from './builders.js';
import { podwireFigures, tsharkFigures } from './reference.js';

const CAPTURES = [
  'http2/deepflow__h2c_ascii.pcap',
  'http2/nDPI__http2.pcapng',
  'http2/suricata-verify__http2-continuation.pcap',
  'http2/suricata-verify__http2-keywords.pcap',
];

/** Exchanges expected per capture (one entry per stream that carried a request or response). */
const EXPECTED_ENTRIES: Record<string, number> = {
  'http2/deepflow__h2c_ascii.pcap': 1,
  'http2/nDPI__http2.pcapng': 1,
  'http2/suricata-verify__http2-continuation.pcap': 1,
  'http2/suricata-verify__http2-keywords.pcap': 6,
};

const haveTshark = await tsharkAvailable();

describe('HTTP/2 captures against tshark', { skip: haveTshark ? false : 'tshark not installed' }, () => {
  for (const file of CAPTURES) {
    test(`${file}: HEADERS frames, :method, :path and :status as tshark`, async () => {
      const [ours, theirs] = await Promise.all([podwireFigures(file), tsharkFigures(file)]);
      assert.equal(ours.headersFrames, theirs.headersFrames, 'HEADERS frames');
      assert.deepEqual(ours.methods, theirs.methods, ':method');
      assert.deepEqual(ours.paths, theirs.paths, ':path');
      assert.deepEqual(ours.statuses, theirs.statuses, ':status');
      assert.deepEqual(ours.grpcStatuses, theirs.grpcStatuses, 'grpc-status');
      assert.equal(ours.entries.length, EXPECTED_ENTRIES[file]);
      assert.equal(ours.parseErrors, 0);
    });
  }

  test('suricata-verify__http2-continuation.pcap: the header block split over CONTINUATION decodes whole', async () => {
    const { entries } = await podwireFigures('http2/suricata-verify__http2-continuation.pcap');
    const e = entries[0]!;
    assert.equal(e.error, null);
    // tshark shows the last field in frame 19, the CONTINUATION with END_HEADERS (frame 16, the
    // first CONTINUATION, sets an unused flag bit that must be ignored: RFC 9113 §4.1).
    assert.deepEqual(e.request.headers, {
      'user-agent': 'curl/7.79.1',
      accept: '*/*',
      [`${'name'.repeat(10)}`]: 'value'.repeat(20),
    });
    assert.deepEqual((e.response as Record<string, unknown>).headers, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': '13',
      date: 'Tue, 19 Dec 2023 20:31:06 GMT',
    });
  });

  test('suricata-verify__http2-keywords.pcap: response bodies are counted in full', async () => {
    const { entries } = await podwireFigures('http2/suricata-verify__http2-keywords.pcap');
    for (const e of entries) {
      const res = e.response as Detail;
      assert.equal(res.bodySize, Number(res.headers['content-length']), e.path);
    }
  });

  test('suricata-verify__http2-range.pcap: h2c upgrades, the HTTP/1.1 request becoming stream 1', async () => {
    const file = 'http2/suricata-verify__http2-range.pcap';
    const [ours, theirs] = await Promise.all([podwireFigures(file), tsharkFigures(file)]);
    assert.ok(ours.entries.length > 0, 'HTTP/2 entries after the upgrade');
    assert.deepEqual(ours.statuses, theirs.statuses);
    assert.equal(ours.headersFrames, theirs.headersFrames);
  });
});
