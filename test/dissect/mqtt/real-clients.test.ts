/**
 * MQTT between real programs: mosquitto_pub and mosquitto_sub against the local Mosquitto broker
 * (127.0.0.1:1883), tcpdump capturing the loopback. Every client runs with `-d`, which logs each
 * packet it sends and receives (type, packet identifier, topic, QoS, retain, payload size, return /
 * reason codes): podwire's entries for each client's connection must hold exactly those packets.
 * Covered: MQTT 3.1, 3.1.1 and 5.0; QoS 0, 1 and 2 (both ways, with the broker publishing to the
 * subscriber); a retained message; 5.0 user properties; a payload of known size; a subscriber
 * receiving N messages; a 5.0 "No matching subscribers" reason code; a user name and password
 * (the password must appear nowhere).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { captureInterface } from '../../support/netns.js';
import { packetsOf } from './support.js';

const run = promisify(execFile);

async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

function brokerUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(1883, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const missing = [
  process.getuid?.() === 0 ? null : 'root (for tcpdump)',
  (await have('tcpdump')) ? null : 'tcpdump',
  (await have('stdbuf')) ? null : 'stdbuf',
  (await have('mosquitto_pub')) && (await have('mosquitto_sub')) ? null : 'mosquitto clients',
  (await brokerUp()) ? null : 'a broker on 127.0.0.1:1883',
].filter((x) => x !== null);

/** One packet as a client's `-d` log shows it; only the fields the log prints are set. */
interface Logged {
  sender: 'client' | 'broker';
  type: string;
  mid?: number;
  topic?: string;
  qos?: number;
  retain?: boolean;
  bytes?: number;
  code?: number;
  codes?: number[];
}

/** Parses libmosquitto's debug lines (`Client ID sending PUBLISH (d0, q1, r0, m1, 't', ... (5 bytes))`). */
function parseLog(text: string): Logged[] {
  const out: Logged[] = [];
  for (const line of text.split('\n')) {
    const sub = /^Subscribed \(mid: (\d+)\): ([\d, ]+)$/.exec(line);
    if (sub) {
      const ack = [...out].reverse().find((p) => p.type === 'SUBACK');
      if (ack) {
        ack.mid = Number(sub[1]);
        ack.codes = sub[2]!.split(',').map((c) => Number(c.trim()));
      }
      continue;
    }
    const m = /^Client \S+ (sending|received) ([A-Z]+)(?: \((.*)\))?$/.exec(line);
    if (!m) continue;
    const p: Logged = { sender: m[1] === 'sending' ? 'client' : 'broker', type: m[2]! };
    const args = m[3] ?? '';
    if (p.type === 'PUBLISH') {
      const a = /^d(\d), q(\d), r(\d), m(\d+), '(.*)', \.\.\. \((\d+) bytes\)$/.exec(args)!;
      p.qos = Number(a[2]);
      p.retain = a[3] === '1';
      if (p.qos > 0) p.mid = Number(a[4]);
      p.topic = a[5]!;
      p.bytes = Number(a[6]);
    } else if (p.type === 'CONNACK') {
      p.code = Number(args);
    } else if (p.type === 'SUBSCRIBE') {
      const a = /^Mid: (\d+), Topic: (.*), QoS: (\d+)/.exec(args)!;
      p.mid = Number(a[1]);
      p.topic = a[2]!;
      p.qos = Number(a[3]);
    } else if (args) {
      // "Mid: 1, RC:16" (received) or "m1, rc0" (sending)
      const mid = /(?:Mid: |^m)(\d+)/.exec(args);
      const rc = /(?:RC:|rc)(\d+)/.exec(args);
      if (mid) p.mid = Number(mid[1]);
      if (rc) p.code = Number(rc[1]);
    }
    out.push(p);
  }
  return out;
}

/** The same view of a packet behind an entry. */
function view(sender: 'client' | 'broker', f: Record<string, unknown>): Required<Logged> {
  const subs = f.subscriptions as { topicFilter: string; qos: number }[] | undefined;
  return {
    sender,
    type: f.type as string,
    mid: (f.packetId as number | undefined) ?? -1,
    topic: (f.topic as string | undefined) ?? subs?.[0]?.topicFilter ?? '',
    qos: (f.qos as number | undefined) ?? subs?.[0]?.qos ?? -1,
    retain: (f.retain as boolean | undefined) ?? false,
    bytes: (f.payloadSize as number | undefined) ?? -1,
    code: (f.reasonCode as number | undefined) ?? -1,
    codes: (f.reasonCodes as number[] | undefined) ?? [],
  };
}

/** Every logged packet is one of the connection's packets and every packet is logged. */
function sameAsLog(entries: Entry[], log: Logged[], who: string): void {
  const ours = entries.flatMap((e) =>
    packetsOf(e).map(({ sender, fields }) => view(sender === 1883 ? 'broker' : 'client', fields)),
  );
  const unused = [...ours];
  for (const l of log) {
    const i = unused.findIndex((o) =>
      Object.entries(l).every(([k, v]) => JSON.stringify(o[k as keyof Logged]) === JSON.stringify(v)),
    );
    assert.ok(i >= 0, `${who}: logged ${JSON.stringify(l)} not found in ${JSON.stringify(unused)}`);
    unused.splice(i, 1);
  }
  assert.deepEqual(unused, [], `${who}: packets in entries that the client did not log`);
}

describe('MQTT with mosquitto clients and broker', {
  skip: missing.length ? `needs ${missing.join(', ')}` : false,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-mqtt-'));
  const pcap = join(dir, 'mqtt.pcap');
  const runId = randomBytes(4).toString('hex');
  const base = `podwire/${runId}`;
  const secret = `pw-secret-${randomBytes(6).toString('hex')}`;
  const logs = new Map<string, string>();
  const children: ChildProcess[] = [];
  let entries: Entry[] = [];
  const SIZED = 5000;

  async function pub(id: string, args: string[], stdin?: string): Promise<void> {
    const clientId = `pw-${runId}-${id}`;
    const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', '1883', '-d', '-i', clientId, ...args]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, `mosquitto_pub ${id}: ${out}`);
    logs.set(clientId, out);
  }

  /** Starts a subscriber and resolves once it is subscribed; `done` resolves when it exits. */
  async function sub(id: string, args: string[]): Promise<{ done: Promise<string> }> {
    const clientId = `pw-${runId}-${id}`;
    // stdbuf: the client's log is block-buffered into a pipe; "Subscribed" must show at once.
    const child = spawn('stdbuf', [
      '-oL',
      'mosquitto_sub',
      '-h',
      '127.0.0.1',
      '-p',
      '1883',
      '-d',
      '-i',
      clientId,
      ...args,
    ]);
    children.push(child);
    let out = '';
    let subscribed: () => void = () => {};
    const ready = new Promise<void>((r) => {
      subscribed = r;
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Subscribed (mid')) subscribed();
    });
    const done = new Promise<string>((r) =>
      child.on('exit', () => {
        logs.set(clientId, out);
        r(out);
      }),
    );
    await Promise.race([ready, done]);
    return { done };
  }

  before(async () => {
    const sized = join(dir, 'payload.bin');
    writeFileSync(sized, randomBytes(SIZED));
    const cap = await captureInterface('lo', pcap, ['tcp', 'port', '1883']);
    try {
      const s1 = await sub('sub5', ['-V', 'mqttv5', '-q', '2', '-t', `${base}/#`, '-C', '10', '-W', '10']);
      await pub('pub31', ['-V', 'mqttv31', '-q', '0', '-t', `${base}/v31`, '-m', 'hello-31']);
      await pub('pub311', [
        '-V',
        'mqttv311',
        '-q',
        '1',
        '-t',
        `${base}/v311`,
        '-m',
        'hello-311',
        '-u',
        'alice',
        '-P',
        secret,
      ]);
      await pub('pub5', [
        '-V',
        'mqttv5',
        '-q',
        '2',
        '-t',
        `${base}/v5`,
        '-m',
        'hello-5',
        '-D',
        'publish',
        'user-property',
        'k',
        'v',
        '-D',
        'publish',
        'user-property',
        'trace',
        '42',
      ]);
      await pub('retain', ['-V', 'mqttv311', '-q', '1', '-r', '-t', `${base}/retained`, '-m', 'keep-me']);
      await pub('sized', ['-V', 'mqttv5', '-q', '1', '-t', `${base}/sized`, '-f', sized]);
      await pub(
        'lines',
        ['-V', 'mqttv311', '-q', '2', '-l', '-t', `${base}/lines`],
        'one\ntwo\nthree\nfour\nfive\n',
      );
      await pub('nobody', ['-V', 'mqttv5', '-q', '1', '-t', `podwire-nobody/${runId}`, '-m', 'unheard']);
      await s1.done;
      const s2 = await sub('sub311', [
        '-V',
        'mqttv311',
        '-q',
        '1',
        '-t',
        `${base}/retained`,
        '-C',
        '1',
        '-W',
        '5',
      ]);
      await s2.done;
      // Leave the broker as it was: an empty retained message clears the topic (3.1.1 §3.3.1.3).
      await pub('clear', ['-V', 'mqttv311', '-q', '0', '-r', '-n', '-t', `${base}/retained`]);
    } finally {
      await cap.stop();
    }
    entries = (await analyze(pcap)).entries.filter((e) => e.protocol === 'mqtt');
  });

  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  });

  /** The entries of the connection whose CONNECT named `clientId`. */
  function connectionOf(clientId: string): Entry[] {
    const c = entries.find((e) => e.method === 'CONNECT' && e.path === clientId);
    assert.ok(c, `a CONNECT from ${clientId}`);
    return entries.filter((e) => e.connectionId === c.connectionId);
  }

  test('each client`s connection holds exactly the packets it logged', () => {
    assert.equal(logs.size, 10);
    let packets = 0;
    for (const [clientId, log] of logs) {
      const logged = parseLog(log);
      // At least CONNECT, CONNACK, one exchange and DISCONNECT per client.
      assert.ok(logged.length >= 4, `${clientId} logged ${logged.length} packets`);
      packets += logged.length;
      sameAsLog(connectionOf(clientId), logged, clientId);
    }
    // 10 deliveries to the subscriber alone take 27 packets (QoS 0, 1 and 2 flows).
    assert.ok(packets > 80, `${packets} packets checked`);
  });

  test('the versions the clients spoke, and every exchange answered', () => {
    const want: Record<string, string> = {
      pub31: '3.1',
      pub311: '3.1.1',
      pub5: '5.0',
      sub5: '5.0',
      sub311: '3.1.1',
      lines: '3.1.1',
      sized: '5.0',
    };
    for (const [id, version] of Object.entries(want)) {
      const c = connectionOf(`pw-${runId}-${id}`).find((e) => e.method === 'CONNECT')!;
      assert.equal(c.request.version, version, id);
      assert.equal(c.request.protocolName, version === '3.1' ? 'MQIsdp' : 'MQTT');
      assert.equal(c.status, 0);
    }
    for (const clientId of logs.keys())
      for (const e of connectionOf(clientId))
        assert.equal(e.error, null, `${clientId}: ${e.method} ${e.path}`);
  });

  test('the user name is kept, the password is not', () => {
    const c = connectionOf(`pw-${runId}-pub311`).find((e) => e.method === 'CONNECT')!;
    assert.equal(c.request.username, 'alice');
    assert.equal(c.request.passwordPresent, true);
    assert.ok(!JSON.stringify(entries).includes(secret), 'the password appears nowhere');
  });

  test('the subscriber received N messages, each an entry from the broker', () => {
    const conn = connectionOf(`pw-${runId}-sub5`);
    const delivered = conn.filter((e) => e.method === 'PUBLISH');
    assert.equal(delivered.length, 10);
    for (const e of delivered) {
      assert.equal(e.src.port, 1883, 'from the broker');
      assert.ok(e.path.startsWith(`${base}/`));
    }
    // QoS is the lower of the publication's and the subscription's (3.1.1 §3.8.4).
    const qos = Object.fromEntries(delivered.map((e) => [e.path.slice(base.length + 1), e.request.qos]));
    assert.deepEqual(qos, { v31: 0, v311: 1, v5: 2, retained: 1, sized: 1, lines: 2 });
    const q2 = delivered.find((e) => e.path.endsWith('/v5'))!;
    assert.deepEqual(
      (q2.response!.flow as { type: string }[]).map((f) => f.type),
      ['PUBREC', 'PUBREL', 'PUBCOMP'],
    );
    const sub = conn.find((e) => e.method === 'SUBSCRIBE')!;
    assert.equal(sub.path, `${base}/#`);
    assert.equal(sub.status, 2);
    assert.equal(sub.response?.reasonName, 'Granted QoS 2');
  });

  test('5.0 user properties, a known payload size, the retained flag, a reason code', () => {
    const v5 = connectionOf(`pw-${runId}-pub5`).find((e) => e.method === 'PUBLISH')!;
    assert.deepEqual((v5.request.properties as { userProperties: unknown }).userProperties, [
      { key: 'k', value: 'v' },
      { key: 'trace', value: '42' },
    ]);
    assert.equal(v5.request.payloadPreview, 'hello-5');
    const sized = connectionOf(`pw-${runId}-sized`).find((e) => e.method === 'PUBLISH')!;
    assert.equal(sized.request.payloadSize, SIZED);
    assert.ok(sized.requestSize > SIZED);
    const retained = connectionOf(`pw-${runId}-sub311`).find((e) => e.method === 'PUBLISH')!;
    assert.equal(retained.request.retain, true, 'the broker sends a retained message with RETAIN set');
    assert.equal(retained.request.payloadPreview, 'keep-me');
    const nobody = connectionOf(`pw-${runId}-nobody`).find((e) => e.method === 'PUBLISH')!;
    assert.equal(nobody.status, 0x10);
    assert.equal(nobody.response?.reasonName, 'No matching subscribers');
    const lines = connectionOf(`pw-${runId}-lines`).filter((e) => e.method === 'PUBLISH');
    assert.deepEqual(
      lines.map((e) => e.request.payloadPreview),
      ['one', 'two', 'three', 'four', 'five'],
    );
  });
});
