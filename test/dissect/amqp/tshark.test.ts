/**
 * AMQP entries against tshark on every capture of test/captures/amqp: per connection, the same
 * method frames (sender, channel, method name, exchange, routing key, queue, reply code), the same
 * messages (declared body size and body bytes that followed), the same wire size for each method
 * with its content frames, and the same heartbeats. Names come from amqplib's definitions, not
 * from podwire's table.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tsharkAvailable } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';
import {
  amqplibMethodNames,
  connKey,
  podwireConversations,
  tsharkAmqp,
  tsharkConversations,
} from './reference.js';

const files = readdirSync(join(CAPTURES, 'amqp')).map((f) => `amqp/${f}`);
const available = await tsharkAvailable();
const names = amqplibMethodNames();

describe('AMQP entries agree with tshark', {
  skip: !available ? 'tshark not installed' : names.size === 0 ? 'amqplib not installed' : false,
}, () => {
  for (const file of files) {
    test(file, async () => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const { entries, connections, summary } = await analyze(path, decodeAs);
      const theirs = tsharkConversations(await tsharkAmqp(path, decodeAs), names);
      const ours = podwireConversations(entries);
      assert.ok(theirs.size > 0, 'tshark finds AMQP');
      assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), 'connections');
      for (const [key, conv] of theirs) {
        assert.deepEqual([...(ours.get(key) ?? [])].sort(), [...conv.methods].sort(), `methods of ${key}`);
        const c = connections.find((x) => connKey(x.src.port, x.dst.port) === key)!;
        const hb = (c.l7!.amqp as { heartbeats: { sent: number; received: number } }).heartbeats;
        assert.deepEqual(
          [hb.sent, hb.received],
          [conv.heartbeats.get(c.src.port) ?? 0, conv.heartbeats.get(c.dst.port) ?? 0],
          `heartbeats of ${key}`,
        );
      }
      assert.equal(summary.protocols.amqp?.parseErrors ?? 0, 0, 'no parse errors');
    });
  }
});
