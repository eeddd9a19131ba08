/**
 * A Kafka conversation built from the spec, written as a pcap on a port that is not Kafka's, read by
 * the whole pipeline (content detection, reassembly, the session) and by tshark. Versions are ones
 * tshark 4.0 reads in full (Produce v3, Fetch v4, Metadata v1 and v9 — the latter flexible —,
 * Heartbeat v1 and v4, ApiVersions v0), so tshark checks the bytes as well as podwire's reading:
 * it must find nothing malformed, and the same requests, topics and error codes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { EtherType, ethernet, IpProtocol, ipv4, tcpConversation } from '../../support/packets.js';
import { tempDir, writeFile, writePcap } from '../../support/pcap-writer.js';
import { concat, recordBatch, records, request, response, W } from './build.js';

const PORT = 19092;
const available = await tsharkAvailable();

function produceV3(corr: number, acks: number): Uint8Array {
  const body = new W()
    .str(null)
    .i16(acks)
    .i32(5000)
    .array(['orders'], false, (w, name) => {
      w.str(name).array([0, 1], false, (w2, p) => {
        const batches =
          p === 0
            ? concat(
                recordBatch({ records: 2, payload: records(['a', 'b']) }),
                recordBatch({ baseOffset: 2, records: 1, payload: records(['c']) }),
              )
            : recordBatch({ records: 3, payload: records(['x', 'y', 'z']) });
        w2.i32(p).bytes(batches);
      });
    });
  return request({ key: 0, version: 3, correlationId: corr, clientId: 'producer-1', header: 1 }, body);
}

const heartbeatV1 = (corr: number) =>
  request(
    { key: 12, version: 1, correlationId: corr, clientId: 'consumer-1', header: 1 },
    new W().str('group').i32(3).str('member-1'),
  );

function conversation(): { fromClient: boolean; data: Uint8Array }[] {
  const apiVersions = request(
    { key: 18, version: 0, correlationId: 1, clientId: 'producer-1', header: 1 },
    new W(),
  );
  const apiVersionsResponse = response(
    1,
    0,
    new W().i16(0).array(
      [
        [0, 0, 8],
        [1, 0, 11],
        [3, 0, 9],
      ] as [number, number, number][],
      false,
      (w, [k, a, b]) => {
        w.i16(k).i16(a).i16(b);
      },
    ),
  );
  const metadataV1 = request(
    { key: 3, version: 1, correlationId: 2, clientId: 'producer-1', header: 1 },
    new W().array(['orders'], false, (w, n) => {
      w.str(n);
    }),
  );
  const nodes = (w: W, compact: boolean) =>
    w.array([1], compact, (w2, n) => {
      w2.i32(n);
    });
  const metadataV1Response = response(
    2,
    0,
    new W()
      .array([1], false, (w, id) => {
        w.i32(id).str('broker-1').i32(9092).str(null);
      })
      .i32(1)
      .array(['orders'], false, (w, name) => {
        w.i16(0)
          .str(name)
          .i8(0)
          .array([0, 1], false, (w2, p) => {
            w2.i16(0).i32(p).i32(1);
            nodes(w2, false);
            nodes(w2, false);
          });
      }),
  );
  const produceResponse = response(
    3,
    0,
    new W()
      .array(['orders'], false, (w, name) => {
        w.str(name).array(
          [
            [0, 0],
            [1, 6],
          ] as [number, number][],
          false,
          (w2, [p, err]) => {
            w2.i32(p)
              .i16(err)
              .i64(err ? -1 : 100)
              .i64(-1);
          },
        );
      })
      .i32(0),
  );
  const heartbeatResponse = response(4, 0, new W().i32(0).i16(27));
  // Fetch v4: replica_id max_wait_ms min_bytes max_bytes isolation_level [topic [partition fetch_offset partition_max_bytes]].
  const fetchV4 = request(
    { key: 1, version: 4, correlationId: 6, clientId: 'consumer-1', header: 1 },
    new W()
      .i32(-1)
      .i32(500)
      .i32(1)
      .i32(1 << 20)
      .i8(0)
      .array(['orders'], false, (w, name) => {
        w.str(name).array([0], false, (w2, p) => {
          w2.i32(p)
            .i64(0)
            .i32(1 << 20);
        });
      }),
  );
  // Fetch v4 response: throttle [topic [partition error high_watermark last_stable_offset [aborted] records]].
  const fetchV4Response = response(
    6,
    0,
    new W().i32(0).array(['orders'], false, (w, name) => {
      w.str(name).array([0], false, (w2, p) => {
        w2.i32(p)
          .i16(0)
          .i64(3)
          .i64(3)
          .array([], false, () => {})
          .bytes(recordBatch({ records: 2, payload: records(['a', 'b']) }));
      });
    }),
  );
  // Metadata v9, flexible: compact arrays and strings, tagged fields.
  const metadataV9 = request(
    { key: 3, version: 9, correlationId: 7, clientId: 'producer-1', header: 2 },
    new W()
      .array(['orders', 'missing'], true, (w, n) => {
        w.str(n, true).tags();
      })
      .i8(1)
      .i8(0)
      .i8(0)
      .tags(),
  );
  const metadataV9Response = response(
    7,
    1,
    new W()
      .i32(0)
      .array([1], true, (w, id) => {
        w.i32(id).str('broker-1', true).i32(9092).str(null, true).tags();
      })
      .str('cluster-1', true)
      .i32(1)
      .array(
        [
          ['orders', 0],
          ['missing', 3],
        ] as [string, number][],
        true,
        (w, [name, err]) => {
          w.i16(err)
            .str(name, true)
            .i8(0)
            .array(err ? [] : [0], true, (w2, p) => {
              w2.i16(0).i32(p).i32(1).i32(0);
              nodes(w2, true);
              nodes(w2, true);
              w2.array([], true, () => {}).tags();
            })
            .i32(-2147483648)
            .tags();
        },
      )
      .i32(-2147483648)
      .tags(),
  );
  const heartbeatV4 = request(
    { key: 12, version: 4, correlationId: 8, clientId: 'consumer-1', header: 2 },
    new W().str('group', true).i32(3).str('member-1', true).str(null, true).tags(),
  );
  const heartbeatV4Response = response(8, 1, new W().i32(0).i16(0).tags());
  return [
    { fromClient: true, data: apiVersions },
    { fromClient: false, data: apiVersionsResponse },
    { fromClient: true, data: metadataV1 },
    { fromClient: false, data: metadataV1Response },
    // Pipelined: two requests in one segment; the first response split across two segments.
    { fromClient: true, data: concat(produceV3(3, 1), heartbeatV1(4)) },
    { fromClient: false, data: produceResponse.subarray(0, 20) },
    { fromClient: false, data: concat(produceResponse.subarray(20), heartbeatResponse) },
    { fromClient: true, data: produceV3(5, 0) },
    { fromClient: true, data: fetchV4 },
    { fromClient: false, data: fetchV4Response },
    { fromClient: true, data: metadataV9 },
    { fromClient: false, data: metadataV9Response },
    { fromClient: true, data: heartbeatV4 },
    { fromClient: false, data: heartbeatV4Response },
  ];
}

describe('Kafka through the pipeline, against tshark', {
  skip: available ? false : 'tshark not installed',
}, () => {
  test('a conversation on a non-Kafka port: detected by content, read as tshark reads it', async () => {
    const client = { ip: '198.18.9.10', port: 50100 };
    const server = { ip: '198.18.9.20', port: PORT };
    const packets = tcpConversation(client, server, conversation()).map((s, i) => ({
      sec: 1_700_000_000,
      frac: i * 1000,
      data: ethernet(
        { etherType: EtherType.IPV4 },
        ipv4({ src: s.src.ip, dst: s.dst.ip, protocol: IpProtocol.TCP }, s.bytes),
      ),
    }));
    const { dir, cleanup } = tempDir('podwire-kafka-');
    try {
      const file = writeFile(dir, 'kafka.pcap', writePcap({ linkType: 1 }, packets).bytes);
      const { entries, summary } = await analyze(file);
      const kafka = entries.filter((e) => e.protocol === 'kafka');
      assert.equal(summary.protocols.kafka?.parseErrors ?? 0, 0);
      assert.deepEqual(
        kafka.map((e) => [e.method, e.path, e.status, e.error]),
        [
          ['ApiVersions', '', 'NONE', null],
          ['Metadata', 'orders', 'NONE', null],
          ['Produce', 'orders', 'NOT_LEADER_OR_FOLLOWER', null],
          ['Heartbeat', '', 'REBALANCE_IN_PROGRESS', null],
          ['Produce', 'orders', null, null], // acks=0: no response, and none expected
          ['Fetch', 'orders', 'NONE', null],
          ['Metadata', 'orders,missing', 'UNKNOWN_TOPIC_OR_PARTITION', null],
          ['Heartbeat', '', 'NONE', null],
        ],
      );
      assert.equal(kafka[2]!.request.recordCount, 6);
      assert.equal(kafka[5]!.response?.recordCount, 2);

      // tshark, told the port is Kafka's, reads the same.
      const rows = await tsharkFields(
        file,
        'kafka',
        [
          'kafka.request_key',
          'kafka.api_version',
          'kafka.correlation_id',
          'kafka.client_id',
          'kafka.topic_name',
          'kafka.error',
          '_ws.malformed',
          '_ws.expert.message',
        ],
        [`tcp.port==${PORT},kafka`],
      );
      assert.deepEqual(
        rows.filter((r) => r[6] || r[7]),
        [],
        'tshark finds nothing malformed or odd in the bytes built from the spec',
      );
      // A frame that ends two PDUs (the pipelined segment) has each field's values comma-joined, in
      // PDU order: compare the values flattened, in order.
      const split = (v: string | undefined) => (v ? v.split(',') : []);
      const tsRequests = rows.filter((r) => r[0]);
      const ours = kafka.map((e) => e.request);
      assert.deepEqual(
        ours.map((q) => `${q.apiKey} v${q.apiVersion} #${q.correlationId} ${q.clientId}`),
        tsRequests.flatMap((r) =>
          split(r[0]).map((k, i) => `${k} v${split(r[1])[i]} #${split(r[2])[i]} ${split(r[3])[i]}`),
        ),
        'requests',
      );
      assert.deepEqual(
        ours.flatMap((q) => ((q.topics as { name: string }[] | undefined) ?? []).map((t) => t.name)),
        tsRequests.flatMap((r) => split(r[4])),
        'request topics',
      );
      const tsResponses = rows.filter((r) => !r[0]);
      const answered = kafka.filter((e) => e.response).map((e) => e.response!);
      assert.deepEqual(
        answered.map((r) => r.correlationId),
        tsResponses.flatMap((r) => split(r[2]).map(Number)),
        'responses',
      );
      // Every error code of every response, in wire order: top-level, then each topic's and partition's.
      type Coded = { errorCode?: number; partitions?: Coded[] };
      const codes = (r: Coded & { topics?: Coded[] }) => [
        ...(r.errorCode === undefined ? [] : [r.errorCode]),
        ...(r.topics ?? []).flatMap((t) => [
          ...(t.errorCode === undefined ? [] : [t.errorCode]),
          ...(t.partitions ?? []).flatMap((p) => (p.errorCode === undefined ? [] : [p.errorCode])),
        ]),
      ];
      assert.deepEqual(
        answered.flatMap((r) => codes(r as Coded)),
        tsResponses.flatMap((r) => split(r[5]).map(Number)),
        'error codes',
      );
    } finally {
      cleanup();
    }
  });
});
