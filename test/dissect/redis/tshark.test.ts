/**
 * Redis entries against tshark's `resp` dissector on every capture of test/captures/redis: per
 * connection, the same commands with the same arguments in the same order, and at every moment a
 * reply starts, the same replies (type, and the value: error text, simple string, integer, bulk
 * length and bytes, array length, nil).
 *
 * tshark 4.0 knows RESP2 only: it shows RESP3 types (maps, pushes, attributes, doubles...) and
 * inline commands as "fragments", and then takes their elements for top-level values. Frames where
 * tshark shows a fragment are therefore not compared for replies (RESP3 is checked value by value in
 * captures.test.ts); inline commands are read from the fragment's own bytes.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';
import { find, findAll, type PdmlNode, pdml } from './pdml.js';

const files = readdirSync(join(CAPTURES, 'redis')).map((f) => `redis/${f}`);
const available = await tsharkAvailable();

/** What podwire keeps of an argument: the first 256 bytes, 32 arguments (session.ts). */
const KEEP_BYTES = 256;
const KEEP_ARGS = 32;
const utf8 = new TextDecoder('utf-8');

/** Fields whose presence means tshark did not read the value as RESP2. */
const UNCLEAN = ['resp.fragment', 'resp.reassembled_in_next_frame', 'resp.partial', 'resp.malformed_length'];

interface TsCommand {
  conn: string;
  args: string[];
  argCount: number;
}

interface TsReplies {
  /** Reply descriptions by the capture time of their first byte (µs), per connection. */
  clean: Map<string, string[]>;
  /** Times where tshark shows something it could not read as RESP2. */
  unclean: Set<string>;
}

function arg(hex: string): string {
  return utf8.decode(Buffer.from(hex, 'hex').subarray(0, KEEP_BYTES));
}

function isUnclean(n: PdmlNode): boolean {
  return UNCLEAN.some((f) => find([n], f) !== undefined);
}

/** A top-level RESP2 value as tshark shows it, in the words podwire's side is written in. */
function describeTs(n: PdmlNode): string {
  switch (n.name) {
    case 'resp.string':
      return `simple:${n.show}`;
    case 'resp.error':
      return `error:${n.show}`;
    case 'resp.integer':
      return `integer:${n.show}`;
    case 'resp.bulk_string': {
      const len = find(n.children, 'resp.bulk_string.length')!.show;
      if (len === '-1') return 'null';
      const v = find(n.children, 'resp.bulk_string.value')?.value ?? '';
      return `bulk:${len}:${arg(v)}`;
    }
    case 'resp.array': {
      const len = find(n.children, 'resp.array.length')!.show;
      return len === '-1' ? 'null' : `array:${len}`;
    }
    default:
      return `? ${n.name}`;
  }
}

/** The same description of podwire's reply. */
function describeOurs(r: Record<string, unknown>): string {
  switch (r.type) {
    case 'simple':
    case 'error':
    case 'integer':
      return `${r.type}:${r.value}`;
    case 'bulk':
      return `bulk:${r.length}:${r.value}`;
    case 'null':
      return 'null';
    case 'array':
      return `array:${r.count}`;
    default:
      return String(r.type);
  }
}

/** Connection key both sides agree on: the client's port. */
function connOf(srcPort: number, dstPort: number, serverPort: number): { conn: string; server: boolean } {
  return srcPort === serverPort
    ? { conn: String(dstPort), server: true }
    : { conn: String(srcPort), server: false };
}

async function tsharkView(path: string, decodeAs: string[], serverPort: number) {
  const packets = await pdml(path, 'resp', decodeAs);
  // Capture times in whole µs (podwire truncates finer timestamps the same way).
  const times = new Map<string, string>();
  for (const protos of packets) {
    const [s, frac = ''] = find(protos, 'frame.time_epoch')!.show.split('.');
    times.set(
      find(protos, 'frame.number')!.show,
      String(Number(s) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6))),
    );
  }
  const commands: TsCommand[] = [];
  const replies: TsReplies = { clean: new Map(), unclean: new Set() };
  for (const protos of packets) {
    const frame = find(protos, 'frame.number')!.show;
    const tcp = protos.find((p) => p.name === 'tcp')!;
    const { conn, server } = connOf(
      Number(find([tcp], 'tcp.srcport')!.show),
      Number(find([tcp], 'tcp.dstport')!.show),
      serverPort,
    );
    const payload = find(protos, 'tcp.payload');
    const segments = findAll(protos, 'tcp.segment');
    for (const proto of protos.filter((p) => p.name === 'resp')) {
      // A value cut at the frame's end is shown whole in a later frame, reassembled: skip it here.
      const children = proto.children.filter(
        (c) => c.name !== 'resp.reassembled_in_next_frame' && !find([c], 'resp.reassembled_in_next_frame'),
      );
      const resp = { ...proto, children };
      // A value reassembled from several segments starts in the first of them.
      const covers = resp.pos === 0 && segments.length > 0 ? segments.map((s) => s.show) : [frame];
      const first = covers[0]!;
      assert.ok(times.has(first), `frame ${first}'s time`);
      const ts = `${conn}@${times.get(first)}`;
      if (!server) {
        for (const item of resp.children) {
          if (item.name === 'resp.array') {
            const values = findAll(item.children, 'resp.bulk_string.value').map((v) => arg(v.value));
            const count = Number(find(item.children, 'resp.array.length')!.show);
            commands.push({ conn, args: values.slice(0, KEEP_ARGS), argCount: count });
          } else if (item.name === 'resp.fragment' && payload) {
            // An inline command (tshark 4.0 does not parse them): the line's own bytes.
            const bytes = Buffer.from(payload.value, 'hex').subarray(
              item.pos - payload.pos,
              item.pos - payload.pos + item.size,
            );
            const words = bytes
              .toString('latin1')
              .trim()
              .split(/[ \t]+/)
              .filter(Boolean);
            if (words.length) commands.push({ conn, args: words, argCount: words.length });
          } else {
            assert.fail(`frame ${frame}: client sent ${item.name}`);
          }
        }
        continue;
      }
      if (isUnclean(resp)) {
        // Nothing that starts in a frame tshark misread can be trusted (a RESP3 map's elements
        // look like top-level values to it).
        for (const f of covers) replies.unclean.add(`${conn}@${times.get(f)}`);
        continue;
      }
      const list = replies.clean.get(ts) ?? [];
      for (const item of resp.children) list.push(describeTs(item));
      replies.clean.set(ts, list);
    }
  }
  for (const t of replies.unclean) replies.clean.delete(t);
  return { commands, replies };
}

function ourReplies(entries: Entry[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (ts: string, d: string) => out.set(ts, [...(out.get(ts) ?? []), d]);
  for (const e of entries) {
    // Pushes go from the server to the client; everything else is written client -> server.
    const key = String(e.request.kind !== undefined ? e.dst.port : e.src.port);
    if (e.request.kind !== undefined) {
      // A pub/sub message: a RESP2 array (message: 3 elements, pmessage: 4) or a RESP3 push.
      const n = e.request.kind === 'pmessage' ? 4 : 3;
      add(`${key}@${e.timestamp}`, e.request.push ? 'push' : `array:${n}`);
      continue;
    }
    if (!e.response) continue;
    const ts = e.elapsedMs === null ? e.timestamp : e.timestamp + Math.round(e.elapsedMs * 1000);
    const r = e.response;
    if (Array.isArray(r.confirmations)) {
      for (const _ of r.confirmations as unknown[])
        add(`${key}@${ts}`, r.type === 'push' ? 'push' : 'array:3');
    } else {
      add(`${key}@${ts}`, describeOurs(r));
    }
  }
  return out;
}

describe('Redis entries agree with tshark', { skip: available ? false : 'tshark not installed' }, () => {
  for (const file of files) {
    test(file, async (t) => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const serverPort = decodeAs.length ? Number(/==(\d+)/.exec(decodeAs[0]!)![1]) : 6379;
      const { entries, summary } = await analyze(path, decodeAs);
      const redis = entries.filter((e) => e.protocol === 'redis');
      const ts = await tsharkView(path, decodeAs, serverPort);

      // Commands, per connection, in order, with their arguments (as podwire keeps them).
      const theirs = ts.commands.map((c) => `${c.conn} ${c.argCount} ${JSON.stringify(c.args)}`);
      const ours = redis
        .filter((e) => e.request.args !== undefined)
        .map((e) => `${e.src.port} ${e.request.argCount} ${JSON.stringify(e.request.args)}`);
      assert.deepEqual(ours, theirs, 'commands');

      // Replies at each moment tshark could read them.
      const mine = ourReplies(redis);
      for (const [at, list] of ts.replies.clean)
        assert.deepEqual(mine.get(at) ?? [], list, `replies at ${at}`);
      for (const [at, list] of mine) {
        if (ts.replies.unclean.has(at)) continue; // RESP3: tshark shows fragments there
        assert.deepEqual(list, ts.replies.clean.get(at) ?? [], `podwire's replies at ${at}`);
      }
      assert.ok(ts.replies.clean.size > 0 || ts.replies.unclean.size > 0, 'tshark saw replies');
      const compared = [...ts.replies.clean.values()].reduce((n, l) => n + l.length, 0);
      t.diagnostic(`${theirs.length} commands and ${compared} replies agree with tshark`);

      // The only incomplete exchange: deepflow's last GET, whose 490 kB reply the capture cuts
      // before its final CRLF (tshark shows it as a continuation and no reply either).
      const incomplete = redis.filter((e) => e.error !== null);
      const expected =
        file === 'redis/deepflow__redis.pcap' ? ['response cut off at the end of the stream'] : [];
      assert.deepEqual(
        incomplete.map((e) => e.error),
        expected,
      );
      // zeek's attr.pcap was written by a test generator that put a stray LF after each reply; RESP
      // has no such byte (a client such as hiredis fails on it too), so each is a parse error.
      const strays = file === 'redis/zeek__attr.pcap' ? 2 : 0;
      assert.equal(summary.protocols.redis?.parseErrors ?? 0, strays, 'parse errors');
    });
  }
});
