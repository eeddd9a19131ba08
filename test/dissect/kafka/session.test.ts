/**
 * The Kafka session on messages built byte by byte from the protocol guide and the message
 * definitions (common/message/*.json): classic and flexible versions (compact strings, tagged fields
 * with unknown tags in headers and bodies), acks=0 Produce, pipelining, responses split across
 * segments at every point, gaps, sessions picked up mid-stream, and bodies that do not parse.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KafkaSession, KEEP_BYTES, PENDING_BYTES } from '../../../src/dissect/kafka/session.js';
import { concat, kafkaUuid, legacyMessage, recordBatch, request, response, W } from './build.js';
import { CLIENT, context, type Emitted, run, SERVER } from './support.js';

type Obj = Record<string, unknown>;
const topicsOf = (side: Obj | null): Obj[] => (side?.topics as Obj[]) ?? [];
const partitionsOf = (t: Obj | undefined): Obj[] => (t?.partitions as Obj[]) ?? [];

// Produce v3 (non-flexible): transactional_id, acks, timeout_ms, [name [index records]].
function produceV3(acks: number, corr: number): Uint8Array {
  const body = new W()
    .str(null)
    .i16(acks)
    .i32(30000)
    .array(
      [
        {
          name: 'orders',
          parts: [[0, concat(recordBatch({ records: 3 }), recordBatch({ records: 2, codec: 4 }))]],
        },
        { name: 'payments', parts: [[1, recordBatch({ records: 1, codec: 1 })]] },
      ] as { name: string; parts: [number, Uint8Array][] }[],
      false,
      (w, t) => {
        w.str(t.name).array(t.parts, false, (w2, [idx, recs]) => {
          w2.i32(idx).bytes(recs);
        });
      },
    );
  return request({ key: 0, version: 3, correlationId: corr, clientId: 'producer-1', header: 1 }, body);
}

// Produce response v3: [name [index error_code base_offset log_append_time_ms]] throttle_time_ms.
function produceV3Response(corr: number, paymentsError: number): Uint8Array {
  const body = new W()
    .array(
      [
        ['orders', 0, 0],
        ['payments', 1, paymentsError],
      ] as [string, number, number][],
      false,
      (w, [name, idx, err]) => {
        w.str(name)
          .i32(1)
          .i32(idx)
          .i16(err)
          .i64(err ? -1 : 4200)
          .i64(-1);
      },
    )
    .i32(0);
  return response(corr, 0, body);
}

describe('Kafka session: Produce', () => {
  test('v3: topics, partitions, record batches and a partition error', () => {
    const req = produceV3(1, 7);
    const res = produceV3Response(7, 3);
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 1_000_000 },
      { dir: 1, data: res, ts: 1_004_500 },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(entries.length, 1);
    const e = entries[0]!;
    assert.equal(e.protocol, 'kafka');
    assert.equal(e.method, 'Produce');
    assert.equal(e.path, 'orders,payments');
    assert.equal(e.status, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(e.elapsedMs, 4.5);
    assert.equal(e.requestSize, req.length);
    assert.equal(e.responseSize, res.length);
    assert.equal(e.error, null);
    assert.equal(e.request.acks, 1);
    assert.equal(e.request.clientId, 'producer-1');
    assert.equal(e.request.recordCount, 6);
    const orders = partitionsOf(topicsOf(e.request)[0])[0]!.records as Obj;
    assert.equal(orders.batches, 2);
    assert.equal(orders.records, 5);
    assert.deepEqual(orders.compression, ['none', 'zstd']);
    assert.deepEqual(partitionsOf(topicsOf(e.request)[1])[0]!.records, {
      bytes: recordBatch({ records: 1 }).length,
      batches: 1,
      records: 1,
      magic: [2],
      compression: ['gzip'],
    });
    const rp = partitionsOf(topicsOf(e.response)[1])[0]!;
    assert.equal(rp.error, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(partitionsOf(topicsOf(e.response)[0])[0]!.baseOffset, 4200);
  });

  test('all partitions without error: status NONE', () => {
    const { entries } = run([
      { dir: 0, data: produceV3(-1, 8), ts: 0 },
      { dir: 1, data: produceV3Response(8, 0), ts: 10 },
    ]);
    assert.equal(entries[0]!.status, 'NONE');
  });

  test('acks=0: an entry at once, without response and without error', () => {
    const ctx = context();
    const s = new KafkaSession(ctx);
    s.onData(0, produceV3(0, 9), 100);
    assert.equal(ctx.entries.length, 1, 'emitted when read, not at close');
    const e = ctx.entries[0]!;
    assert.equal(e.response, null);
    assert.equal(e.error, null);
    assert.equal(e.status, null);
    assert.equal(e.elapsedMs, null);
    assert.equal(s.pendingCount, 0);
    s.onClose(200);
    assert.equal(ctx.entries.length, 1);
  });

  test('v9 flexible: compact strings and arrays, unknown tagged fields everywhere', () => {
    // Header v2 with a tagged field; body with tags at partition, topic and top level.
    const body = new W()
      .str('txn-1', true)
      .i16(-1)
      .i32(1500)
      .array(['events'], true, (w, name) => {
        w.str(name, true)
          .array([2], true, (w2, idx) => {
            w2.i32(idx)
              .bytes(recordBatch({ records: 4 }), true)
              .tags([[7, [1, 2, 3]]]);
          })
          .tags([[0, [9]]]);
      })
      .tags([
        [3, []],
        [200, new Uint8Array(300)],
      ]);
    const req = request(
      {
        key: 0,
        version: 9,
        correlationId: 70000,
        clientId: 'app',
        header: 2,
        headerTags: [[1, [0xaa, 0xbb]]],
      },
      body,
    );
    // Response header v1 (tagged), body v9: record_errors and error_message.
    const rbody = new W()
      .array(['events'], true, (w, name) => {
        w.str(name, true)
          .array([2], true, (w2, idx) => {
            w2.i32(idx)
              .i16(0)
              .i64(99)
              .i64(-1)
              .i64(0)
              .array([[0, 'bad record']] as [number, string][], true, (w3, [bi, msg]) => {
                w3.i32(bi).str(msg, true).tags();
              })
              .str(null, true)
              .tags([[0, [1, 2, 3, 4]]]);
          })
          .tags();
      })
      .i32(5)
      .tags([[0, [0]]]);
    const res = response(70000, 1, rbody, [[5, [1]]]);
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: res, ts: 2000 },
    ]);
    assert.deepEqual(errors, []);
    const e = entries[0]!;
    assert.equal(e.request.headerVersion, 2);
    assert.equal(e.request.flexible, true);
    assert.equal(e.request.transactionalId, 'txn-1');
    assert.equal(e.request.clientId, 'app');
    assert.equal(e.path, 'events');
    assert.equal(e.request.recordCount, 4);
    assert.equal(e.request.trailingBytes, undefined);
    assert.equal(e.status, 'NONE');
    assert.equal(e.response?.throttleTimeMs, 5);
    assert.equal(partitionsOf(topicsOf(e.response)[0])[0]!.baseOffset, 99);
  });

  test('v13 names topics by id', () => {
    const id = '5f0e6a0c-2b1d-4c3e-9a8b-7c6d5e4f3a2b';
    const body = new W()
      .str(null, true)
      .i16(1)
      .i32(1000)
      .array([id], true, (w, u) => {
        w.uuid(u)
          .array([0], true, (w2, idx) => {
            w2.i32(idx)
              .bytes(recordBatch({ records: 2 }), true)
              .tags();
          })
          .tags();
      })
      .tags();
    const { entries, errors } = run([
      {
        dir: 0,
        data: request({ key: 0, version: 13, correlationId: 1, clientId: 'c', header: 2 }, body),
        ts: 0,
      },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(entries[0]!.path, kafkaUuid(id));
    assert.equal(topicsOf(entries[0]!.request)[0]!.topicId, kafkaUuid(id));
    assert.equal(entries[0]!.error, 'no response');
  });

  test('v2 with a magic 1 message set: one record per message', () => {
    const body = new W()
      .i16(1)
      .i32(1000)
      .array(['legacy'], false, (w, name) => {
        w.str(name).array([0], false, (w2, idx) => {
          w2.i32(idx).bytes(concat(legacyMessage('a', 0), legacyMessage('bb', 1), legacyMessage('ccc', 2)));
        });
      });
    const { entries, errors } = run([
      {
        dir: 0,
        data: request({ key: 0, version: 2, correlationId: 1, clientId: 'old', header: 1 }, body),
        ts: 0,
      },
    ]);
    assert.deepEqual(errors, []);
    const recs = partitionsOf(topicsOf(entries[0]!.request)[0])[0]!.records as Obj;
    assert.equal(recs.records, 3);
    assert.deepEqual(recs.magic, [1]);
  });
});

// Fetch v11 request: replica_id max_wait min_bytes max_bytes isolation session_id session_epoch
// [topic [partition current_leader_epoch fetch_offset log_start_offset partition_max_bytes]]
// [forgotten] rack_id.
function fetchV11Request(corr: number): Uint8Array {
  const body = new W()
    .i32(-1)
    .i32(500)
    .i32(1)
    .i32(52428800)
    .i8(0)
    .i32(0)
    .i32(-1)
    .array(['clicks'], false, (w, name) => {
      w.str(name).array([0, 1], false, (w2, p) => {
        w2.i32(p)
          .i32(-1)
          .i64(1000 + p)
          .i64(-1)
          .i32(1048576);
      });
    })
    .array([], false, () => {})
    .str('rack-a');
  return request({ key: 1, version: 11, correlationId: corr, clientId: 'consumer-1', header: 1 }, body);
}

// Fetch v11 response: throttle error_code session_id [topic [partition_index error_code high_watermark
// last_stable_offset log_start_offset [aborted] preferred_read_replica records]].
function fetchV11Response(corr: number): Uint8Array {
  const records0 = concat(
    recordBatch({ records: 5 }),
    recordBatch({ records: 3 }),
    recordBatch({ records: 9 }).subarray(0, 40),
  );
  const body = new W()
    .i32(0)
    .i16(0)
    .i32(77)
    .array(['clicks'], false, (w, name) => {
      w.str(name).array(
        [
          [0, 0, records0],
          [1, 1, new Uint8Array(0)],
        ] as [number, number, Uint8Array][],
        false,
        (w2, [p, err, recs]) => {
          w2.i32(p)
            .i16(err)
            .i64(2000)
            .i64(2000)
            .i64(0)
            .array(null, false, () => {})
            .i32(-1)
            .bytes(recs);
        },
      );
    });
  return response(corr, 0, body);
}

describe('Kafka session: Fetch', () => {
  test('v11: partitions requested, records and per-partition errors in the response', () => {
    const { entries, errors } = run([
      { dir: 0, data: fetchV11Request(21), ts: 0 },
      { dir: 1, data: fetchV11Response(21), ts: 500_000 },
    ]);
    assert.deepEqual(errors, []);
    const e = entries[0]!;
    assert.equal(e.method, 'Fetch');
    assert.equal(e.path, 'clicks');
    assert.equal(e.status, 'OFFSET_OUT_OF_RANGE');
    assert.equal(e.request.rackId, 'rack-a');
    assert.deepEqual(
      partitionsOf(topicsOf(e.request)[0]).map((p) => [p.partition, p.fetchOffset]),
      [
        [0, 1000],
        [1, 1001],
      ],
    );
    assert.equal(e.response?.errorCode, 0);
    assert.equal(e.response?.sessionId, 77);
    assert.equal(e.response?.recordCount, 8, 'the partial trailing batch is not counted');
    const recs = partitionsOf(topicsOf(e.response)[0])[0]!.records as Obj;
    assert.equal(recs.batches, 2);
    assert.equal(recs.partialBytes, 40);
  });

  test('v13: topic ids in request and response', () => {
    const id = '0123456789abcdef0123456789abcdef';
    const body = new W()
      .i32(-1)
      .i32(500)
      .i32(1)
      .i32(1000)
      .i8(1)
      .i32(0)
      .i32(-1)
      .array([id], true, (w, u) => {
        w.uuid(u)
          .array([3], true, (w2, p) => {
            w2.i32(p).i32(-1).i64(5).i32(-1).i64(-1).i32(1000).tags();
          })
          .tags();
      })
      .array([], true, () => {})
      .str('', true)
      .tags([[0, [1]]]);
    const req = request({ key: 1, version: 13, correlationId: 2, clientId: 'c', header: 2 }, body);
    const rbody = new W()
      .i32(0)
      .i16(0)
      .i32(0)
      .array([id], true, (w, u) => {
        w.uuid(u)
          .array([3], true, (w2, p) => {
            w2.i32(p)
              .i16(100)
              .i64(-1)
              .i64(-1)
              .i64(-1)
              .array(null, true, () => {})
              .i32(-1)
              .bytes(null, true)
              .tags();
          })
          .tags();
      })
      .tags();
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: response(2, 1, rbody), ts: 10 },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(entries[0]!.path, kafkaUuid(id));
    assert.equal(entries[0]!.status, 'UNKNOWN_TOPIC_ID');
    assert.equal(topicsOf(entries[0]!.response)[0]!.topicId, kafkaUuid(id));
  });

  test('a response split at every byte gives the same entry', () => {
    const req = fetchV11Request(5);
    const res = fetchV11Response(5);
    const whole = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: res, ts: 10 },
    ]).entries;
    for (let i = 1; i < res.length; i++) {
      const split = run([
        { dir: 0, data: req, ts: 0 },
        { dir: 1, data: res.slice(0, i), ts: 10 },
        { dir: 1, data: res.slice(i), ts: 20 },
      ]);
      assert.deepEqual(split.errors, [], `split at ${i}`);
      assert.deepEqual(split.entries, whole, `split at ${i}`);
    }
  });

  test('a request split at every byte, and a response one byte at a time', () => {
    const req = fetchV11Request(6);
    const res = fetchV11Response(6);
    const whole = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: res, ts: 10 },
    ]).entries;
    for (let i = 1; i < req.length; i++) {
      const split = run([
        { dir: 0, data: req.slice(0, i), ts: 0 },
        { dir: 0, data: req.slice(i), ts: 5 },
        { dir: 1, data: res, ts: 10 },
      ]);
      assert.deepEqual(split.entries, whole, `split at ${i}`);
    }
    const bytewise = run([
      { dir: 0, data: req, ts: 0 },
      ...Array.from(res, (b) => ({ dir: 1 as const, data: Uint8Array.of(b), ts: 10 })),
    ]);
    assert.deepEqual(bytewise.entries, whole);
  });
});

describe('Kafka session: Metadata and header-only APIs', () => {
  test('Metadata v1: requested topics, topic error in the response', () => {
    const req = request(
      { key: 3, version: 1, correlationId: 11, clientId: 'admin', header: 1 },
      new W().array(['a', 'b'], false, (w, n) => {
        w.str(n);
      }),
    );
    // v1 response: [brokers node_id host port rack] controller_id [topics error_code name is_internal
    // [partitions error_code index leader [replicas] [isr]]].
    const body = new W()
      .array([1], false, (w, id) => {
        w.i32(id).str('broker-1').i32(9092).str(null);
      })
      .i32(1)
      .array(
        [
          ['a', 0],
          ['b', 5],
        ] as [string, number][],
        false,
        (w, [name, err]) => {
          w.i16(err)
            .str(name)
            .i8(0)
            .array(err ? [] : [0], false, (w2, idx) => {
              w2.i16(0)
                .i32(idx)
                .i32(1)
                .array([1], false, (w3, n) => {
                  w3.i32(n);
                })
                .array([1], false, (w3, n) => {
                  w3.i32(n);
                });
            });
        },
      );
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: response(11, 0, body), ts: 1 },
    ]);
    assert.deepEqual(errors, []);
    const e = entries[0]!;
    assert.equal(e.path, 'a,b');
    assert.equal(e.status, 'LEADER_NOT_AVAILABLE');
    assert.deepEqual(e.response?.brokers, [{ nodeId: 1, host: 'broker-1', port: 9092, rack: null }]);
    assert.equal(e.response?.controllerId, 1);
  });

  test('Metadata v9 for all topics (null array), flexible response', () => {
    const req = request(
      { key: 3, version: 9, correlationId: 12, clientId: 'c', header: 2 },
      new W()
        .array(null, true, () => {})
        .i8(1)
        .i8(0)
        .i8(0)
        .tags(),
    );
    const body = new W()
      .i32(0)
      .array([1], true, (w, id) => {
        w.i32(id).str('h', true).i32(9092).str(null, true).tags();
      })
      .str('cluster-x', true)
      .i32(1)
      .array(['t1'], true, (w, name) => {
        w.i16(0)
          .str(name, true)
          .i8(0)
          .array([0], true, (w2, idx) => {
            w2.i16(0)
              .i32(idx)
              .i32(1)
              .i32(0)
              .array([1], true, (w3, n) => {
                w3.i32(n);
              })
              .array([1], true, (w3, n) => {
                w3.i32(n);
              })
              .array([], true, () => {})
              .tags();
          })
          .i32(-2147483648) // topic_authorized_operations (v8+)
          .tags();
      })
      .i32(-2147483648) // cluster_authorized_operations (v8-10)
      .tags();
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: response(12, 1, body), ts: 1 },
    ]);
    assert.deepEqual(errors, []);
    const e = entries[0]!;
    assert.equal(e.path, '');
    assert.equal(e.request.allTopics, true);
    assert.equal(e.status, 'NONE');
    assert.equal(e.response?.clusterId, 'cluster-x');
    assert.equal(topicsOf(e.response)[0]!.name, 't1');
  });

  test('ApiVersions v3: header v2 request, response header v0 with a flexible body', () => {
    const req = request(
      { key: 18, version: 3, correlationId: 1, clientId: 'adminclient-1', header: 2 },
      new W().str('apache-kafka-java', true).str('3.7.0', true).tags(),
    );
    // A v1 (tagged) response header here would be misread: the body's error_code is its first field.
    const body = new W()
      .i16(0)
      .array([[0, 0, 11]] as [number, number, number][], true, (w, [k, min, max]) => {
        w.i16(k).i16(min).i16(max).tags();
      })
      .i32(0)
      .tags();
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: response(1, 0, body), ts: 1 },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(entries[0]!.method, 'ApiVersions');
    assert.equal(entries[0]!.status, 'NONE');
    assert.equal(entries[0]!.response?.errorCode, 0);
  });

  test('ApiVersions answered UNSUPPORTED_VERSION with a v0 body', () => {
    const req = request(
      { key: 18, version: 4, correlationId: 2, clientId: 'c', header: 2 },
      new W().str('x', true).str('1', true).tags(),
    );
    const body = new W().i16(35).array([[18, 0, 3]] as [number, number, number][], false, (w, [k, a, b]) => {
      w.i16(k).i16(a).i16(b);
    });
    const { entries } = run([
      { dir: 0, data: req, ts: 0 },
      { dir: 1, data: response(2, 0, body), ts: 1 },
    ]);
    assert.equal(entries[0]!.status, 'UNSUPPORTED_VERSION');
  });

  test('Heartbeat: error after throttle_time_ms from v1, first in v0', () => {
    const hb = (version: number, header: 1 | 2, corr: number) =>
      request(
        { key: 12, version, correlationId: corr, clientId: 'c', header },
        header === 2
          ? new W().str('g', true).i32(1).str('m', true).str(null, true).tags()
          : new W().str('g').i32(1).str('m'),
      );
    const { entries, errors } = run([
      { dir: 0, data: hb(4, 2, 1), ts: 0 },
      { dir: 1, data: response(1, 1, new W().i32(0).i16(27).tags()), ts: 1 },
      { dir: 0, data: hb(0, 1, 2), ts: 2 },
      { dir: 1, data: response(2, 0, new W().i16(25)), ts: 3 },
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      entries.map((e) => [e.method, e.status, e.response?.throttleTimeMs]),
      [
        ['Heartbeat', 'REBALANCE_IN_PROGRESS', 0],
        ['Heartbeat', 'UNKNOWN_MEMBER_ID', undefined],
      ],
    );
  });

  test('an API whose response is not read past its header: status null, still an entry', () => {
    const req = request(
      { key: 15, version: 5, correlationId: 3, clientId: 'c', header: 2 },
      new W()
        .array(['g'], true, (w, g) => {
          w.str(g, true);
        })
        .i8(0)
        .tags(),
    );
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 0 },
      {
        dir: 1,
        data: response(
          3,
          1,
          new W()
            .i32(0)
            .array([], true, () => {})
            .tags(),
        ),
        ts: 1,
      },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(entries[0]!.method, 'DescribeGroups');
    assert.equal(entries[0]!.status, null);
    assert.equal(entries[0]!.error, null);
  });

  test('ControlledShutdown v0 uses request header v0 (no client_id)', () => {
    const req = request({ key: 7, version: 0, correlationId: 4, clientId: null, header: 0 }, new W().i32(1));
    const { entries, errors } = run([
      { dir: 0, data: req, ts: 0 },
      {
        dir: 1,
        data: response(
          4,
          0,
          new W().i16(0).array([], false, () => {}),
        ),
        ts: 1,
      },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(entries[0]!.method, 'ControlledShutdown');
    assert.equal(entries[0]!.request.clientId, null);
    assert.equal(entries[0]!.request.headerVersion, 0);
  });
});

function heartbeat(corr: number, clientId = 'c'): Uint8Array {
  return request(
    { key: 12, version: 1, correlationId: corr, clientId, header: 1 },
    new W().str('g').i32(1).str('m'),
  );
}
function heartbeatResponse(corr: number, err = 0): Uint8Array {
  return response(corr, 0, new W().i32(0).i16(err));
}

describe('Kafka session: pairing', () => {
  test('pipelined requests in one segment, answered in order in one segment', () => {
    const { entries, errors } = run([
      { dir: 0, data: concat(heartbeat(1), fetchV11Request(2), produceV3(0, 3), heartbeat(4)), ts: 0 },
      { dir: 1, data: concat(heartbeatResponse(1, 22), fetchV11Response(2), heartbeatResponse(4)), ts: 50 },
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      entries.map((e) => [
        e.method,
        e.request.correlationId,
        e.response?.correlationId ?? null,
        e.status,
        e.error,
      ]),
      [
        ['Produce', 3, null, null, null], // acks=0: at once
        ['Heartbeat', 1, 1, 'ILLEGAL_GENERATION', null],
        ['Fetch', 2, 2, 'OFFSET_OUT_OF_RANGE', null],
        ['Heartbeat', 4, 4, 'NONE', null],
      ],
    );
  });

  test('a request skipped by the in-order answers has no response; the next one pairs', () => {
    const { entries } = run([
      { dir: 0, data: concat(heartbeat(1), heartbeat(2), heartbeat(3)), ts: 0 },
      { dir: 1, data: heartbeatResponse(2), ts: 10 },
    ]);
    assert.deepEqual(
      entries.map((e) => [e.request.correlationId, e.error]),
      [
        [1, 'no response'],
        [2, null],
        [3, 'no response'],
      ],
    );
  });

  test('a response whose request was not captured', () => {
    // Only the broker spoke (decode-as forced the session): its responses are entries without request.
    const alone = run([{ dir: 1, data: concat(heartbeatResponse(99), heartbeatResponse(100)), ts: 0 }]);
    assert.deepEqual(alone.errors, []);
    assert.deepEqual(
      alone.entries.map((e) => [e.method, e.response?.correlationId, e.error]),
      [
        ['', 99, 'request not captured'],
        ['', 100, 'request not captured'],
      ],
    );
    const both = run([
      { dir: 1, data: heartbeatResponse(98), ts: 0 },
      { dir: 0, data: heartbeat(100), ts: 1 },
      { dir: 1, data: heartbeatResponse(100), ts: 2 },
    ]);
    assert.deepEqual(
      both.entries.map((e) => [e.method, e.response?.correlationId, e.error]),
      [
        ['', 98, 'request not captured'],
        ['Heartbeat', 100, null],
      ],
    );
    assert.equal(both.entries[0]!.status, null);
  });

  test('the broker taken for the client (capture picked up mid-connection): roles from the bytes', () => {
    // dir 0 carries the broker's responses, dir 1 the client's requests.
    const { entries, errors } = run([
      { dir: 1, data: heartbeat(5), ts: 0 },
      { dir: 0, data: heartbeatResponse(5, 27), ts: 1 },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.status, 'REBALANCE_IN_PROGRESS');
    assert.deepEqual(entries[0]!.src, SERVER, 'src is the side that sent the request');
    assert.deepEqual(entries[0]!.dst, CLIENT);
  });

  test('a correlation id reused while pending: the first request had no response', () => {
    const { entries } = run([
      { dir: 0, data: concat(heartbeat(1), heartbeat(1)), ts: 0 },
      { dir: 1, data: heartbeatResponse(1), ts: 1 },
    ]);
    assert.deepEqual(
      entries.map((e) => e.error),
      ['no response (correlation id reused)', null],
    );
  });

  test('unanswered requests are bounded: the oldest leaves first', () => {
    const ctx = context();
    const s = new KafkaSession(ctx);
    for (let i = 0; i < 1100; i++) s.onData(0, heartbeat(i), i);
    assert.equal(s.pendingCount, 1024);
    assert.equal(ctx.entries.length, 76);
    assert.equal(ctx.entries[0]!.request.correlationId, 0);
    assert.equal(ctx.entries[0]!.error, 'no response (too many requests pending)');
  });
});

describe('Kafka session: gaps, garbage and limits', () => {
  test('unanswered requests are bounded by bytes too', () => {
    const ctx = context();
    const s = new KafkaSession(ctx);
    const template = request(
      { key: 0, version: 3, correlationId: 0, clientId: 'c', header: 1 },
      new W()
        .str(null)
        .i16(1)
        .i32(1000)
        .array(['t'], false, (w, n) => {
          w.str(n).array([0], false, (w2, p) => {
            w2.i32(p).bytes(recordBatch({ records: 1, recordBytes: 200_000 }));
          });
        }),
    );
    for (let i = 0; i < 30; i++) {
      const req = template.slice();
      new DataView(req.buffer).setInt32(8, i); // correlation_id
      s.onData(0, req, i);
    }
    assert.equal(s.pendingCount, Math.floor(PENDING_BYTES / template.length));
    assert.equal(ctx.entries.length, 30 - s.pendingCount);
    assert.ok(ctx.entries.every((e) => e.error === 'no response (too many requests pending)'));
  });

  test('a gap inside a response: the entry says so, framing continues', () => {
    const res = fetchV11Response(2);
    const ctx = context();
    const s = new KafkaSession(ctx);
    s.onData(0, concat(fetchV11Request(2), heartbeat(3)), 0);
    s.onData(1, res.subarray(0, 40), 10);
    s.onGap(1, 60, 11);
    s.onData(1, res.subarray(100), 12);
    s.onData(1, heartbeatResponse(3), 13);
    s.onClose(20);
    assert.deepEqual(ctx.errors, [], 'a gap is not a parse error');
    assert.deepEqual(
      ctx.entries.map((e) => [e.method, e.error]),
      [
        ['Fetch', '60 bytes of the response lost in a gap'],
        ['Heartbeat', null],
      ],
    );
    assert.equal(ctx.entries[0]!.response?.partial, true);
    assert.equal(ctx.entries[0]!.responseSize, res.length);
  });

  test('a gap between requests: resynchronised at the next segment that starts a request', () => {
    const ctx = context();
    const s = new KafkaSession(ctx);
    s.onData(0, heartbeat(1), 0);
    const h2 = heartbeat(2);
    s.onData(0, h2.subarray(0, 10), 1);
    s.onGap(0, h2.length, 2);
    s.onData(0, h2.subarray(10), 3); // the tail of a lost message: dropped
    s.onData(0, heartbeat(3), 4);
    s.onData(1, concat(heartbeatResponse(1), heartbeatResponse(3)), 5);
    s.onClose(6);
    assert.deepEqual(
      ctx.entries.map((e) => [e.request.correlationId, e.error]),
      [
        [1, null],
        [3, null],
      ],
    );
  });

  test('garbage where a request should start is a parse error, then ignored until a request', () => {
    const ctx = context();
    const s = new KafkaSession(ctx);
    s.onData(0, heartbeat(1), 0);
    s.onData(0, Uint8Array.from([0, 0, 0, 20, 0x7f, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0]), 1);
    s.onData(0, Uint8Array.from([1, 2, 3, 4, 5, 6]), 2);
    s.onData(0, heartbeat(2), 3);
    s.onData(1, concat(heartbeatResponse(1), heartbeatResponse(2)), 4);
    s.onClose(5);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /do not start a request/);
    assert.deepEqual(
      ctx.entries.map((e) => [e.request.correlationId, e.status]),
      [
        [1, 'NONE'],
        [2, 'NONE'],
      ],
    );
  });

  test('a body that does not parse: counted, and the entry kept with what was read', () => {
    // Metadata v1 whose topics array claims 1000 entries.
    const req = request(
      { key: 3, version: 1, correlationId: 1, clientId: 'c', header: 1 },
      new W().i32(1000).str('x'),
    );
    const { entries, errors } = run([{ dir: 0, data: req, ts: 0 }]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /Metadata v1 request: topics: length 1000/);
    assert.equal(entries[0]!.method, 'Metadata');
    assert.match(entries[0]!.error!, /malformed request/);
    assert.match(String(entries[0]!.request.parseError), /length 1000/);
  });

  test('a message larger than the keep cap: parsed as far as kept, buffers bounded', () => {
    const big = recordBatch({ records: 50, recordBytes: KEEP_BYTES + 100_000 });
    const body = new W()
      .str(null)
      .i16(1)
      .i32(1000)
      .array(['big', 'after'], false, (w, name) => {
        w.str(name).array([0], false, (w2, idx) => {
          w2.i32(idx).bytes(name === 'big' ? big : recordBatch({ records: 1 }));
        });
      });
    const req = request({ key: 0, version: 3, correlationId: 1, clientId: 'c', header: 1 }, body);
    const ctx = context();
    const s = new KafkaSession(ctx);
    let maxBuffered = 0;
    for (let i = 0; i < req.length; i += 1400) {
      s.onData(0, req.subarray(i, i + 1400), i);
      maxBuffered = Math.max(maxBuffered, s.buffered);
    }
    s.onData(0, heartbeat(2), 1e6);
    s.onData(1, concat(produceV3Response(1, 0), heartbeatResponse(2)), 2e6);
    s.onClose(3e6);
    assert.ok(maxBuffered <= KEEP_BYTES, `held at most ${KEEP_BYTES} bytes, held ${maxBuffered}`);
    assert.deepEqual(ctx.errors, [], 'a message cut by the cap is not malformed');
    const e = ctx.entries[0]!;
    assert.equal(e.request.partial, true);
    assert.equal(e.requestSize, req.length);
    assert.equal(topicsOf(e.request)[0]!.name, 'big');
    assert.equal(ctx.entries[1]!.method, 'Heartbeat', 'the next message is framed');
  });

  test('a stream that ends inside a response', () => {
    const res = fetchV11Response(1);
    const { entries } = run([
      { dir: 0, data: fetchV11Request(1), ts: 0 },
      { dir: 1, data: res.subarray(0, 30), ts: 1 },
    ]);
    assert.equal(entries.length, 1);
    assert.match(entries[0]!.error!, /response cut at the end of the stream/);
  });

  test('long strings are cut at 256 bytes and say their length', () => {
    const id = 'x'.repeat(300);
    const { entries } = run([{ dir: 0, data: heartbeat(1, id), ts: 0 }]);
    assert.equal(entries[0]!.request.clientId, `${'x'.repeat(256)}…(300 bytes)`);
  });

  test('entries are plain JSON', () => {
    const { entries } = run([
      { dir: 0, data: fetchV11Request(1), ts: 0 },
      { dir: 1, data: fetchV11Response(1), ts: 1 },
    ]);
    const e: Emitted = entries[0]!;
    assert.deepEqual(JSON.parse(JSON.stringify(e)), e);
  });
});
