/**
 * gRPC on the real captures of test/captures/grpc (and the gRPC one in http2/), against tshark 4.0
 * with the decode-as rules of INDEX.md: paths, HTTP statuses, grpc-status values, and every
 * Length-Prefixed-Message's length must be as tshark reads them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tsharkAvailable } from '../../reference/tshark.js';
import type { Detail } from '../http2/builders.js';
import { podwireFigures, tsharkFigures } from '../http2/reference.js';

const CAPTURES: { file: string; entries: number; messages: [number, number][]; status: (number | null)[] }[] =
  [
    { file: 'grpc/deepflow__grpc-segmented.pcap', entries: 1, messages: [[1, 0]], status: [null] },
    { file: 'grpc/deepflow__grpc-server-stream.pcap', entries: 1, messages: [[1, 5]], status: [0] },
    { file: 'grpc/deepflow__grpc-unary.pcap', entries: 1, messages: [[1, 0]], status: [null] },
    {
      file: 'grpc/gRPC-Go-for-Professionals__Bidi_Streaming.pcapng',
      entries: 1,
      messages: [[3, 3]],
      status: [0],
    },
    {
      file: 'grpc/gRPC-Go-for-Professionals__Client_Streaming.pcapng',
      entries: 1,
      messages: [[3, 1]],
      status: [0],
    },
    {
      file: 'grpc/gRPC-Go-for-Professionals__Server_Streaming.pcapng',
      entries: 1,
      messages: [[1, 10]],
      status: [0],
    },
    { file: 'grpc/gRPC-Go-for-Professionals__Unary.pcapng', entries: 1, messages: [[1, 1]], status: [0] },
    { file: 'http2/deepflow__h2c_ascii.pcap', entries: 1, messages: [[1, 1]], status: [0] },
  ];

const haveTshark = await tsharkAvailable();

describe('gRPC captures against tshark', { skip: haveTshark ? false : 'tshark not installed' }, () => {
  for (const c of CAPTURES) {
    test(`${c.file}: paths, statuses, grpc-status and message lengths as tshark`, async () => {
      const [ours, theirs] = await Promise.all([podwireFigures(c.file), tsharkFigures(c.file)]);
      assert.deepEqual(ours.paths, theirs.paths, ':path');
      assert.deepEqual(ours.statuses, theirs.statuses, ':status');
      assert.deepEqual(ours.grpcStatuses, theirs.grpcStatuses, 'grpc-status');
      assert.deepEqual(ours.grpcMessageLengths, theirs.grpcMessageLengths, 'message lengths');
      assert.equal(ours.headersFrames, theirs.headersFrames, 'HEADERS frames');
      assert.equal(ours.entries.length, c.entries);
      for (const e of ours.entries) assert.equal(e.protocol, 'grpc');
      assert.deepEqual(
        ours.entries.map((e) => [
          (e.request as Detail).messageCount,
          (e.response as Detail)?.messageCount ?? 0,
        ]),
        c.messages,
      );
      assert.deepEqual(
        ours.entries.map((e) => e.status),
        c.status,
      );
    });
  }

  test('Unary: the request message decodes as protobuf field 1, a string', async () => {
    const { entries } = await podwireFigures('grpc/gRPC-Go-for-Professionals__Unary.pcapng');
    const req = entries[0]!.request as Detail;
    assert.equal(req.service, 'greet.GreetService');
    assert.equal(req.rpc, 'Greet');
    // tshark: Field(1), wire type 2, value 436c656d656e74 ("Clement").
    assert.deepEqual(req.messages[0].protobuf, [{ n: 1, wire: 'len', length: 7, text: 'Clement' }]);
    assert.equal(entries[0]!.error, null);
  });

  test('a capture cut before the trailers: no grpc-status, the entry says why', async () => {
    const { entries } = await podwireFigures('grpc/deepflow__grpc-unary.pcap');
    assert.equal(entries[0]!.status, null);
    assert.match(String(entries[0]!.error), /response incomplete/);
  });
});
