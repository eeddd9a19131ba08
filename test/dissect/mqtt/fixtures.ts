/** Conversations written from the specifications, shared by the session and fuzz tests. */
import type { Direction } from '../../../src/flows/stream.js';
import {
  ack,
  auth,
  connack,
  connect,
  disconnect,
  pingreq,
  pingresp,
  prop,
  props,
  publish,
  suback,
  subscribe,
  unsuback,
  unsubscribe,
} from './build.js';

/** What one side sends, in order: 0 the client, 1 the broker. */
export type Step = [Direction, Uint8Array];

/** A 3.1.1 session touching every packet type 3.1.1 has. */
export const V311: Step[] = [
  [0, connect({ level: 4, clientId: 'sensor-7', username: 'alice', password: 'hunter2', keepAlive: 30 })],
  [1, connack(0, { sessionPresent: true })],
  [
    0,
    subscribe(1, [
      ['home/+/temp', 1],
      ['home/#', 2],
    ]),
  ],
  [1, suback(1, [1, 0x80])],
  [0, publish({ topic: 'home/kitchen/temp', qos: 0, payload: '21.5' })],
  [0, publish({ topic: 'home/hall/temp', qos: 1, id: 2, payload: '19' })],
  [1, ack('PUBACK', 2)],
  [0, publish({ topic: 'home/door', qos: 2, id: 3, retain: true, payload: 'open' })],
  [1, ack('PUBREC', 3)],
  [0, ack('PUBREL', 3)],
  [1, ack('PUBCOMP', 3)],
  [1, publish({ topic: 'home/hall/temp', qos: 1, id: 9, payload: '19' })],
  [0, ack('PUBACK', 9)],
  [0, unsubscribe(4, ['home/#'])],
  [1, unsuback(4)],
  [0, pingreq()],
  [1, pingresp()],
  [0, disconnect()],
];

const connectProps = props(
  prop.u32(0x11, 3600),
  prop.u16(0x21, 20),
  prop.u32(0x27, 1 << 20),
  prop.u16(0x22, 10),
  prop.byte(0x19, 1),
  prop.byte(0x17, 0),
  prop.user('region', 'eu'),
  prop.str(0x15, 'SCRAM-SHA-1'),
  prop.bin(0x16, [1, 2, 3, 4]),
);
/** A 5.0 session: properties of every type, enhanced AUTH, Topic Aliases, reason codes. */
export const V5: Step[] = [
  [
    0,
    connect({
      level: 5,
      clientId: 'v5-client',
      username: 'bob',
      password: 'p4ss',
      props: connectProps,
      will: {
        topic: 'status/v5-client',
        payload: 'gone',
        qos: 1,
        retain: true,
        props: props(prop.u32(0x18, 5), prop.byte(0x01, 1), prop.str(0x03, 'text/plain')),
      },
    }),
  ],
  [1, auth(0x18, props(prop.str(0x15, 'SCRAM-SHA-1'), prop.bin(0x16, [9, 9])))],
  [0, auth(0x18, props(prop.str(0x15, 'SCRAM-SHA-1'), prop.bin(0x16, [7])))],
  [
    1,
    connack(0, {
      v5: true,
      props: props(
        prop.str(0x12, 'assigned-1'),
        prop.u16(0x13, 45),
        prop.byte(0x24, 1),
        prop.byte(0x25, 0),
        prop.byte(0x28, 1),
        prop.byte(0x29, 1),
        prop.byte(0x2a, 0),
        prop.str(0x1a, 'resp/info'),
        prop.str(0x1c, 'other.example:1883'),
        prop.str(0x1f, 'welcome'),
      ),
    }),
  ],
  [0, subscribe(1, [['sensors/#', 0x2e]], { v5: true, props: props(prop.varint(0x0b, 200)) })],
  [1, suback(1, [0x02], { v5: true })],
  [
    0,
    publish({
      topic: 'sensors/1',
      qos: 1,
      id: 10,
      v5: true,
      props: props(
        prop.u16(0x23, 4),
        prop.user('k', 'v'),
        prop.user('trace', '42'),
        prop.str(0x08, 'replies/1'),
        prop.bin(0x09, [0xca, 0xfe]),
        prop.u32(0x02, 60),
      ),
      payload: 'first',
    }),
  ],
  [1, ack('PUBACK', 10, 0x10, props(prop.str(0x1f, 'nobody listens')))],
  [0, publish({ topic: '', qos: 0, v5: true, props: props(prop.u16(0x23, 4)), payload: 'second' })],
  [0, publish({ topic: '', qos: 0, v5: true, props: props(prop.u16(0x23, 5)), payload: 'third' })],
  [0, publish({ topic: 'sensors/2', qos: 2, id: 11, v5: true, payload: 'refused' })],
  [1, ack('PUBREC', 11, 0x97)],
  [0, publish({ topic: 'sensors/3', qos: 2, id: 12, v5: true, payload: 'ok' })],
  [1, ack('PUBREC', 12)],
  [0, ack('PUBREL', 12)],
  [1, ack('PUBCOMP', 12, 0x00, props())],
  [
    1,
    publish({
      topic: 'sensors/1',
      qos: 1,
      id: 1,
      v5: true,
      props: props(prop.varint(0x0b, 200), prop.varint(0x0b, 3)),
    }),
  ],
  [0, ack('PUBACK', 1)],
  [0, unsubscribe(2, ['sensors/#', 'nope/#'], { v5: true })],
  [1, unsuback(2, [0x00, 0x11])],
  [0, disconnect(0x04, props(prop.u32(0x11, 0)))],
];
