/**
 * AMQP between real programs: amqplib against the machine's RabbitMQ (127.0.0.1:5672, guest/guest)
 * while tcpdump captures the loopback. The client declares a queue, publishes messages of known
 * sizes with properties, consumes them, asks with basic.get, fails a passive declare (404), publishes
 * on a confirm channel, has an unroutable mandatory message returned (312), and idles long enough
 * for heartbeats. Every entry is checked against what the client did and what the broker answered,
 * and the capture against tshark as the captures of test/captures are.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../../src/flows/connection.js';
import { tsharkAvailable } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { type Capture, captureInterface, sh } from '../../support/netns.js';
import {
  amqplibDefs,
  amqplibMethodNames,
  connKey,
  type Packet,
  podwireConversations,
  tsharkAmqp,
  tsharkConversations,
} from './reference.js';

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function have(cmd: string): Promise<boolean> {
  return sh('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

const skip =
  process.getuid?.() !== 0
    ? 'needs root for tcpdump'
    : !(await have('tcpdump'))
      ? 'tcpdump not installed'
      : amqplibDefs() === null
        ? 'amqplib not installed'
        : !(await reachable(5672))
          ? 'no RabbitMQ on 127.0.0.1:5672'
          : false;

/** Message sizes: empty, tiny, several 4 KiB frames, one more than a frame. */
const SIZES = [0, 1, 100, 10_000, 4088];
const RUN = `podwire-${process.pid}`;
const QUEUE = `${RUN}-q`;
const MISSING = `${RUN}-missing`;
const UNROUTABLE = `${RUN}-nowhere`;
const CONFIRMED = 5;

const props = (i: number) => ({
  contentType: 'application/octet-stream',
  contentEncoding: 'identity',
  headers: { 'x-index': i, 'x-run': RUN },
  deliveryMode: 2,
  priority: 3,
  correlationId: `corr-${i}`,
  replyTo: 'replies',
  expiration: '60000',
  messageId: `msg-${i}`,
  timestamp: 1_700_000_000 + i,
  type: 'test.message',
  userId: 'guest',
  appId: 'podwire-test',
});

describe('AMQP on real amqplib and RabbitMQ traffic', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-amqp-'));
  const pcap = join(dir, 'amqp.pcap');
  let entries: Entry[] = [];
  let conn: ConnectionRecord | undefined;
  let clientPort = 0;
  let declared = { messageCount: -1, consumerCount: -1 };
  const delivered: { size: number; tag: number; consumerTag: string }[] = [];
  let gotSize = -1;
  let notFound = '';
  let returned = 0;

  before(async () => {
    const amqp = await import('amqplib');
    let cap: Capture | null = null;
    cap = await captureInterface('lo', pcap, ['tcp', 'port', '5672']);
    try {
      const model = await amqp.connect('amqp://guest:guest@127.0.0.1:5672?frameMax=4096&heartbeat=1', {
        clientProperties: { connection_name: RUN },
      });
      clientPort = (model.connection as unknown as { stream: Socket }).stream.localPort ?? 0;
      const ch = await model.createChannel();
      const q = await ch.assertQueue(QUEUE, {
        durable: false,
        autoDelete: false,
        arguments: { 'x-max-length': 100 },
      });
      declared = { messageCount: q.messageCount, consumerCount: q.consumerCount };
      await ch.prefetch(10);
      for (const [i, size] of SIZES.entries()) ch.sendToQueue(QUEUE, Buffer.alloc(size, 0x61 + i), props(i));
      // Consume exactly the messages published, ack each, then cancel.
      await new Promise<void>((resolve, reject) => {
        ch.consume(
          QUEUE,
          (msg) => {
            if (!msg) return;
            delivered.push({
              size: msg.content.length,
              tag: msg.fields.deliveryTag,
              consumerTag: msg.fields.consumerTag,
            });
            ch.ack(msg);
            if (delivered.length === SIZES.length) resolve();
          },
          { consumerTag: `${RUN}-consumer` },
        ).catch(reject);
      });
      await ch.cancel(`${RUN}-consumer`);
      ch.sendToQueue(QUEUE, Buffer.from('for basic.get'), { contentType: 'text/plain' });
      // basic.get until the message is there (the publish is asynchronous), then once more: empty.
      for (let i = 0; i < 50; i++) {
        const m = await ch.get(QUEUE, { noAck: true });
        if (m) {
          gotSize = m.content.length;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await ch.get(QUEUE, { noAck: true }), false);
      // A channel error: the broker closes the channel with 404 NOT_FOUND.
      const ch2 = await model.createChannel();
      ch2.on('error', () => {});
      notFound = String(
        await ch2.checkQueue(MISSING).then(
          () => '',
          (e: Error) => e.message,
        ),
      );
      // Publisher confirms, and a mandatory message nobody routes (basic.return 312 NO_ROUTE).
      const cch = await model.createConfirmChannel();
      cch.on('return', () => returned++);
      for (let i = 0; i < CONFIRMED; i++) cch.publish('', QUEUE, Buffer.alloc(10 * i + 1, 0x7a));
      cch.publish('', UNROUTABLE, Buffer.from('lost'), { mandatory: true });
      await cch.waitForConfirms();
      // Idle past the heartbeat interval: both sides send heartbeats.
      await new Promise((r) => setTimeout(r, 2200));
      await ch.deleteQueue(QUEUE);
      await cch.close();
      await ch.close();
      await model.close();
    } finally {
      await cap.stop();
    }
    const result = await analyze(pcap);
    conn = result.connections.find((c) => c.src.port === clientPort || c.dst.port === clientPort);
    entries = result.entries.filter(
      (e) => e.protocol === 'amqp' && (e.src.port === clientPort || e.dst.port === clientPort),
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const all = (m: string) => entries.filter((e) => e.method === m);

  test('the handshake names the client, the user, never the password', () => {
    const start = all('connection.start')[0]!;
    assert.equal((start.request.serverProperties as { product: string }).product, 'RabbitMQ');
    const ok = start.response!;
    assert.equal((ok.clientProperties as { connection_name: string }).connection_name, RUN);
    assert.equal(ok.mechanism, 'PLAIN');
    assert.equal(ok.user, 'guest');
    assert.equal(ok.responseLength, '\0guest\0guest'.length);
    assert.ok(!JSON.stringify(entries).includes('\\u0000guest\\u0000guest'));
    assert.equal(all('connection.tune')[0]!.response!.frameMax, 4096);
    assert.equal(all('connection.open')[0]!.response!.method, 'connection.open-ok');
  });

  test('queue.declare with the broker`s counts', () => {
    const d = all('queue.declare').find((e) => e.path === QUEUE && e.request.passive === false)!;
    assert.deepEqual(d.request.arguments, { 'x-max-length': 100 });
    assert.equal(d.response!.messageCount, declared.messageCount);
    assert.equal(d.response!.consumerCount, declared.consumerCount);
    assert.equal(d.status, null);
    assert.ok(d.elapsedMs !== null && d.elapsedMs >= 0);
  });

  test('each publish: routing key, body size, every property, wire size over several body frames', () => {
    const pubs = all('basic.publish').filter((e) => e.request.channel === 1);
    assert.equal(pubs.length, SIZES.length + 1);
    for (const [i, size] of SIZES.entries()) {
      const e = pubs[i]!;
      assert.equal(e.path, `/${QUEUE}`);
      assert.equal(e.request.bodySize, size);
      assert.deepEqual(e.request.properties, props(i));
      assert.equal(e.request.body, String.fromCharCode(0x61 + i).repeat(Math.min(size, 256)));
      assert.equal(e.request.bodyTruncated, size > 256);
      // method frame + header frame + ceil(size / 4088) body frames, each with 8 bytes of framing
      const bodyFrames = Math.ceil(size / (4096 - 8));
      assert.ok(e.requestSize >= size + 8 * (2 + bodyFrames), `${e.requestSize} for ${size}`);
      assert.equal(e.error, null);
    }
  });

  test('each delivery as the consumer got it, and each ack', () => {
    const deliveries = all('basic.deliver');
    assert.deepEqual(
      deliveries.map((e) => ({
        size: e.request.bodySize,
        tag: e.request.deliveryTag,
        consumerTag: e.request.consumerTag,
      })),
      delivered,
    );
    assert.ok(deliveries.every((e) => e.path === `/${QUEUE}` && e.error === null));
    const acks = all('basic.ack').filter((e) => e.src.port === clientPort);
    assert.deepEqual(
      acks.map((e) => e.request.deliveryTag),
      delivered.map((d) => d.tag),
    );
    const consume = all('basic.consume')[0]!;
    assert.equal(consume.path, QUEUE);
    assert.equal(consume.response!.consumerTag, `${RUN}-consumer`);
    assert.equal(all('basic.cancel')[0]!.response!.method, 'basic.cancel-ok');
    assert.equal(all('basic.qos')[0]!.request.prefetchCount, 10);
  });

  test('basic.get: get-ok with the message, get-empty after it', () => {
    const gets = all('basic.get');
    const ok = gets.filter((e) => e.response?.method === 'basic.get-ok');
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.response!.bodySize, gotSize);
    assert.equal(ok[0]!.response!.body, 'for basic.get');
    assert.equal(gets[gets.length - 1]!.response!.method, 'basic.get-empty');
    assert.ok(gets.every((e) => e.path === QUEUE));
  });

  test('the passive declare of a missing queue: 404 NOT_FOUND, and the channel.close from the broker', () => {
    assert.match(notFound, /404/);
    const d = all('queue.declare').find((e) => e.path === MISSING)!;
    assert.equal(d.request.passive, true);
    assert.equal(d.status, 404);
    assert.equal(d.response!.method, 'channel.close');
    assert.equal(d.response!.replyName, 'NOT_FOUND');
    assert.match(notFound, new RegExp(String(d.response!.replyText).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const close = all('channel.close').find((e) => e.status === 404)!;
    assert.equal(close.src.port, 5672, 'the broker closed the channel');
    assert.equal(close.response!.method, 'channel.close-ok');
  });

  test('publisher confirms: every publish on the confirm channel is acked by the broker', () => {
    const select = all('confirm.select')[0]!;
    assert.equal(select.response!.method, 'confirm.select-ok');
    const channel = select.request.channel;
    const pubs = all('basic.publish')
      .filter((e) => e.request.channel === channel)
      .sort((a, b) => (a.request.publishSeq as number) - (b.request.publishSeq as number));
    assert.equal(pubs.length, CONFIRMED + 1);
    assert.deepEqual(
      pubs.map((e) => e.request.publishSeq),
      Array.from({ length: CONFIRMED + 1 }, (_, i) => i + 1),
    );
    for (const e of pubs) {
      assert.equal(e.response!.method, 'basic.ack', e.path);
      assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0);
      assert.equal(e.error, null);
    }
    assert.deepEqual(
      pubs.slice(0, CONFIRMED).map((e) => e.request.bodySize),
      Array.from({ length: CONFIRMED }, (_, i) => 10 * i + 1),
    );
  });

  test('the unroutable mandatory message comes back: basic.return 312 NO_ROUTE', () => {
    assert.equal(returned, 1);
    const r = all('basic.return');
    assert.equal(r.length, 1);
    assert.equal(r[0]!.status, 312);
    assert.equal(r[0]!.path, `/${UNROUTABLE}`);
    assert.equal(r[0]!.request.replyName, 'NO_ROUTE');
    assert.equal(r[0]!.request.bodySize, 4);
  });

  test('heartbeats counted both ways, the connection closed cleanly, no parse error', () => {
    const l7 = conn!.l7 as { parseErrors: number; amqp: { heartbeats: { sent: number; received: number } } };
    assert.equal(l7.parseErrors, 0);
    assert.ok(l7.amqp.heartbeats.sent > 0 && l7.amqp.heartbeats.received > 0, JSON.stringify(l7.amqp));
    assert.equal(all('connection.close')[0]!.response!.method, 'connection.close-ok');
    const broken = entries.filter((e) => e.error !== null);
    assert.deepEqual(
      broken.map((e) => `${e.method}: ${e.error}`),
      [],
    );
  });

  test('tshark agrees on every method frame, message and heartbeat', { skip: false }, async (t) => {
    if (!(await tsharkAvailable())) {
      t.skip('tshark not installed');
      return;
    }
    const packets = await tsharkAmqp(pcap);
    const theirs = tsharkConversations(packets, amqplibMethodNames());
    const key = connKey(conn!.src.port, conn!.dst.port);
    const ours = podwireConversations(entries).get(key) ?? [];
    assert.deepEqual([...ours].sort(), [...theirs.get(key)!.methods].sort());
    const hb = (conn!.l7 as { amqp: { heartbeats: { sent: number; received: number } } }).amqp.heartbeats;
    const tsHb = theirs.get(key)!.heartbeats;
    assert.deepEqual([hb.sent, hb.received], [tsHb.get(conn!.src.port) ?? 0, tsHb.get(conn!.dst.port) ?? 0]);
    // Confirms: tshark numbers the publishes of a channel (publish_number); each broker ack
    // confirms the number it names, or with `multiple` every one up to it not yet confirmed.
    const confirmChannel = all('confirm.select')[0]!.request.channel;
    const onChannel = (p: Packet, methodId: number) =>
      p.pdus.filter((d) => d.channel === confirmChannel && d.classId === 60 && d.methodId === methodId);
    const unconfirmed = packets.flatMap((p) => onChannel(p, 40).map((d) => d.publishNumber!));
    const tsAcks: [number, number][] = [];
    for (const p of packets.filter((x) => x.srcport === 5672 && x.dstport === clientPort)) {
      for (const d of onChannel(p, 80)) {
        const tag = Number(d.args.delivery_tag);
        const multiple = d.args.multiple === '1';
        for (const n of unconfirmed.filter((x) => x === tag || (multiple && x <= tag))) {
          tsAcks.push([n, p.time]);
          unconfirmed.splice(unconfirmed.indexOf(n), 1);
        }
      }
    }
    const ourAcks = all('basic.publish')
      .filter((e) => e.request.channel === confirmChannel)
      .map((e) => [e.request.publishSeq, e.timestamp + Math.round(e.elapsedMs! * 1000)]);
    assert.equal(tsAcks.length, CONFIRMED + 1);
    assert.deepEqual(ourAcks.sort(), tsAcks.sort());
  });
});
