/**
 * MQTT entries against tshark on every capture of test/captures/mqtt. Per connection, the MQTT
 * packets behind podwire's entries (requests, acknowledgements, QoS 2 steps) must be exactly the
 * packets tshark dissects: type, topic(s), packet identifier, return / reason code(s), protocol
 * level, client identifier, user name, 5.0 property identifiers, payload size and wire size. Each
 * sender's PUBLISH packets must come in tshark's order, and every acknowledgement must carry the
 * packet identifier of the request it was paired with.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { PACKET_NAMES, PROPERTIES } from '../../../src/dissect/mqtt/messages.js';
import { tsharkAvailable } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';
import { type TsharkMqttPacket, tsharkMqtt } from './reference.js';
import { type Fields, packetsOf } from './support.js';

const files = readdirSync(join(CAPTURES, 'mqtt')).map((f) => `mqtt/${f}`);
const available = await tsharkAvailable();

const ID_OF = new Map(Object.entries(PROPERTIES).map(([id, [name]]) => [name, Number(id)]));

/**
 * The wire size under which a packet's code is not on the wire but implied (0x00, 5.0 §3.4.2.1,
 * §3.14.2.1, §3.15.2.1; 3.x acknowledgements carry none): tshark shows only codes on the wire.
 */
const IMPLIED_BELOW: Record<string, number> = {
  PUBACK: 5,
  PUBREC: 5,
  PUBREL: 5,
  PUBCOMP: 5,
  DISCONNECT: 3,
  AUTH: 3,
};

function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

interface Described {
  sender: number;
  type: string;
  topics: string[];
  msgid: number | null;
  code: number | null;
  codes: number[];
  ver: number | null;
  clientId: string | null;
  username: string | null;
  propertyIds: number[];
  payloadSize: number | null;
  size: number;
}

function fromTshark(p: TsharkMqttPacket): Described {
  return {
    sender: p.srcPort,
    type: PACKET_NAMES[p.type]!,
    topics: p.topics,
    msgid: p.msgid,
    code: p.code,
    codes: p.codes,
    ver: p.ver,
    clientId: p.clientId,
    username: p.username,
    propertyIds: [...p.propertyIds].sort((a, b) => a - b),
    payloadSize: p.payloadSize,
    size: 1 + varintSize(p.length) + p.length,
  };
}

function propertyIds(props: Fields | undefined): number[] {
  const ids: number[] = [];
  for (const [name, v] of Object.entries(props ?? {})) {
    if (name === 'userProperties') for (const _ of v as unknown[]) ids.push(0x26);
    else if (name !== 'userPropertyCount')
      for (const _ of Array.isArray(v) ? v : [v]) ids.push(ID_OF.get(name) ?? -1);
  }
  return ids.sort((a, b) => a - b);
}

function fromPodwire(sender: number, f: Fields): Described {
  const type = f.type as string;
  const size = f.size as number;
  const implied = size < (IMPLIED_BELOW[type] ?? 0);
  let topics: string[] = [];
  if (type === 'PUBLISH') topics = [f.topicFromAlias ? '' : (f.topic as string)];
  if (type === 'SUBSCRIBE') topics = (f.subscriptions as { topicFilter: string }[]).map((s) => s.topicFilter);
  if (type === 'UNSUBSCRIBE') topics = f.topicFilters as string[];
  return {
    sender,
    type,
    topics,
    msgid: (f.packetId as number | undefined) ?? null,
    code:
      type === 'SUBACK' || type === 'UNSUBACK' || implied
        ? null
        : ((f.reasonCode as number | undefined) ?? null),
    codes: (f.reasonCodes as number[] | undefined) ?? [],
    ver: (f.protocolLevel as number | undefined) ?? null,
    clientId: (f.clientId as string | undefined) ?? null,
    username: (f.username as string | null | undefined) ?? null,
    propertyIds: propertyIds(f.properties as Fields | undefined),
    payloadSize: type === 'PUBLISH' ? (f.payloadSize as number) : null,
    size,
  };
}

const key = (d: Described) => JSON.stringify(d);
const connOf = (a: number, b: number) => [a, b].sort((x, y) => x - y).join('-');

describe('MQTT entries agree with tshark', { skip: available ? false : 'tshark not installed' }, () => {
  for (const file of files) {
    test(file, async () => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const { entries, summary } = await analyze(path, decodeAs);
      const mqtt = entries.filter((e) => e.protocol === 'mqtt');
      const theirs = await tsharkMqtt(path, decodeAs);
      assert.ok(theirs.length > 0, 'tshark sees MQTT');

      const tsByConn = new Map<string, Described[]>();
      for (const p of theirs) {
        const k = connOf(p.srcPort, p.dstPort);
        if (!tsByConn.has(k)) tsByConn.set(k, []);
        tsByConn.get(k)!.push(fromTshark(p));
      }
      const pwByConn = new Map<string, Described[]>();
      for (const e of mqtt) {
        const k = connOf(e.src.port, e.dst.port);
        if (!pwByConn.has(k)) pwByConn.set(k, []);
        for (const { sender, fields } of packetsOf(e)) pwByConn.get(k)!.push(fromPodwire(sender, fields));
      }
      assert.deepEqual([...pwByConn.keys()].sort(), [...tsByConn.keys()].sort(), 'connections');
      for (const [conn, ts] of tsByConn) {
        const ours = pwByConn.get(conn)!;
        assert.deepEqual(ours.map(key).sort(), ts.map(key).sort(), `${conn}: packets`);
        // Each sender's PUBLISH packets in tshark's (frame) order.
        for (const sender of new Set(ts.map((d) => d.sender))) {
          const seq = (list: Described[]) =>
            list
              .filter((d) => d.sender === sender && d.type === 'PUBLISH')
              .map((d) => `${d.topics[0]}#${d.msgid}`);
          const ourPublishes = mqtt
            .filter(
              (e) =>
                connOf(e.src.port, e.dst.port) === conn && e.method === 'PUBLISH' && e.src.port === sender,
            )
            .map((e) => `${e.request.topicFromAlias ? '' : e.request.topic}#${e.request.packetId ?? null}`);
          assert.deepEqual(ourPublishes, seq(ts), `${conn}: PUBLISH order from ${sender}`);
        }
      }
      for (const e of mqtt) pairing(e);
      assert.equal(summary.protocols.mqtt?.parseErrors ?? 0, 0, 'no parse errors');
    });
  }
});

/** An acknowledgement answers the request with its packet identifier, from the other side. */
function pairing(e: Entry): void {
  if (!e.response || !e.request.type) return;
  if (e.request.packetId !== undefined)
    assert.equal(e.response.packetId, e.request.packetId, `${e.id}: packet identifier`);
  const pairs: Record<string, string> = {
    CONNECT: 'CONNACK',
    PUBLISH: e.request.qos === 2 ? 'PUBCOMP' : 'PUBACK',
    PUBREL: 'PUBCOMP',
    SUBSCRIBE: 'SUBACK',
    UNSUBSCRIBE: 'UNSUBACK',
    PINGREQ: 'PINGRESP',
  };
  assert.equal(e.response.type, pairs[e.request.type as string], `${e.id}: ${e.request.type}`);
  assert.equal(e.status, e.response.reasonCode ?? null, `${e.id}: status is the answer's code`);
}
