/**
 * NATS against the machine's nats-server on 127.0.0.1:4222, driven by a client written here from
 * the protocol's documentation (docs.nats.io "Client Protocol") over node:net, tcpdump on the
 * loopback. Three connections: a verbose subscriber, a verbose publisher (PUB, PUB with reply-to and
 * an empty payload, HPUB with headers), and a non-verbose one that ends with an operation NATS does
 * not have. The entries are checked against what the client sent and what the server answered, as
 * the client read it off its socket.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { captureInterface } from '../../support/netns.js';

const run = promisify(execFile);

/** A raw protocol client: sends lines, keeps everything the server sent as text. */
class Client {
  text = '';
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
    });
    socket.on('error', () => {});
  }

  static async open(): Promise<Client> {
    const socket = connect(4222, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new Client(socket);
    await c.until((t) => t.includes('\r\n')); // INFO comes first
    return c;
  }

  get port(): number {
    return this.socket.localPort!;
  }

  send(s: string): void {
    this.socket.write(s);
  }

  async until(cond: (text: string) => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond(this.text)) {
      if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(this.text.slice(-300))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  count(re: RegExp): number {
    return [...this.text.matchAll(re)].length;
  }

  async close(): Promise<void> {
    this.socket.end();
    await new Promise((r) => this.socket.once('close', r));
  }
}

async function reachable(): Promise<boolean> {
  try {
    const c = await Client.open();
    await c.close();
    return true;
  } catch {
    return false;
  }
}

async function works(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args, { timeout: 3000 });
    return true;
  } catch {
    return false;
  }
}

const missing: string[] = [];
if (process.getuid?.() !== 0) missing.push('root (tcpdump)');
if (!(await works('tcpdump', ['--version']))) missing.push('tcpdump');
if (!(await reachable())) missing.push('nats-server on 127.0.0.1:4222');

const S = `pwtest.${process.pid}`;
const SECRET = `s3cret-${process.pid}`;

/** An HPUB with its sizes computed as the protocol defines them (header block incl. CRLFCRLF). */
function hpub(
  subject: string,
  headers: [string, string][],
  payload: string,
): { wire: string; hdr: number; total: number } {
  const block = `NATS/1.0\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const hdr = Buffer.byteLength(block);
  const total = hdr + Buffer.byteLength(payload);
  return { wire: `HPUB ${subject} ${hdr} ${total}\r\n${block}${payload}\r\n`, hdr, total };
}

describe('NATS against a real nats-server', {
  skip: missing.length ? `needs ${missing.join(', ')}` : false,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-nats-'));
  const pcap = join(dir, 'nats.pcap');
  let entries: Entry[] = [];
  let parseErrors = -1;
  let dropped = -1;
  const ports = { sub: 0, pub: 0, plain: 0 };
  const got = { sub: '', pub: '', plain: '' };
  const sent = {
    hpub: hpub(
      `${S}.h`,
      [
        ['X-Trace', 'abc'],
        ['X-Multi', '1'],
        ['X-Multi', '2'],
      ],
      'world',
    ),
  };

  before(async () => {
    const cap = await captureInterface('lo', pcap, ['tcp', 'port', '4222']);
    try {
      const sub = await Client.open();
      ports.sub = sub.port;
      sub.send(
        `CONNECT {"verbose":true,"pedantic":false,"name":"pw-sub","lang":"node","version":"1","headers":true}\r\n`,
      );
      sub.send(`SUB ${S}.> 7\r\nPING\r\n`);
      await sub.until((t) => t.includes('PONG'));

      const pub = await Client.open();
      ports.pub = pub.port;
      pub.send(
        `connect {"verbose":true,"name":"pw-pub","lang":"node","version":"1","headers":true,"user":"u","pass":"${SECRET}","auth_token":"${SECRET}"}\r\n`,
      );
      await pub.until((t) => t.includes('+OK'));
      pub.send(`PUB ${S}.a 5\r\nhello\r\n`);
      pub.send(`pub ${S}.b reply.${process.pid} 0\r\n\r\n`);
      pub.send(sent.hpub.wire);
      pub.send('PING\r\n');
      await pub.until((t) => t.includes('PONG'));
      await sub.until((t) => t.includes('HMSG'));
      await sub.until((t) => t.endsWith('world\r\n'));

      const plain = await Client.open();
      ports.plain = plain.port;
      // Outside the subscriber's subjects.
      plain.send(
        `CONNECT {"verbose":false,"name":"pw-plain","lang":"node","version":"1"}\r\nPUB ${S}-plain 2\r\nhi\r\nPING\r\n`,
      );
      await plain.until((t) => t.includes('PONG'));
      plain.send('BOGUS op\r\n');
      await plain.until((t) => t.includes('-ERR'));

      got.sub = sub.text;
      got.pub = pub.text;
      got.plain = plain.text;
      await sub.close();
      await pub.close();
      await plain.socket.destroy();
    } finally {
      dropped = await cap.stop();
    }
    const result = await analyze(pcap);
    entries = result.entries.filter((e) => e.protocol === 'nats');
    parseErrors = result.summary.protocols.nats?.parseErrors ?? 0;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const of = (port: number) => entries.filter((e) => e.src.port === port || e.dst.port === port);

  test('the capture is whole', () => {
    assert.equal(dropped, 0);
  });

  test('verbose subscriber: INFO, CONNECT +OK, SUB +OK, PING/PONG, then MSG, MSG, HMSG from the server', () => {
    const rows = of(ports.sub).map((e) => [
      e.method,
      e.path,
      e.status,
      e.src.port === 4222 ? 'server' : 'client',
    ]);
    assert.deepEqual(rows, [
      ['INFO', '', null, 'server'],
      ['CONNECT', '', '+OK', 'client'],
      ['SUB', `${S}.>`, '+OK', 'client'],
      ['PING', '', null, 'client'],
      ['MSG', `${S}.a`, null, 'server'],
      ['MSG', `${S}.b`, null, 'server'],
      ['HMSG', `${S}.h`, null, 'server'],
    ]);
    // What the client read: "MSG <subject> <sid> [reply-to] <#bytes>" and
    // "HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>" lines.
    const lines = [...got.sub.matchAll(/^H?MSG .*(?=\r$)/gm)].map((m) => m[0].split(' '));
    const msgs = of(ports.sub).filter((e) => e.method.endsWith('MSG'));
    assert.equal(lines.length, msgs.length);
    for (const [i, f] of lines.entries()) {
      const e = msgs[i]!;
      const withHeaders = f[0] === 'HMSG';
      assert.equal(e.method, f[0]);
      assert.equal(e.request.subject, f[1]);
      assert.equal(e.request.sid, f[2]);
      assert.equal(e.request.sid, '7');
      assert.equal(e.request.replyTo, f.length === (withHeaders ? 6 : 5) ? f[3] : undefined);
      if (withHeaders) {
        assert.equal(e.request.headerSize, Number(f[f.length - 2]));
        assert.equal(e.request.totalSize, Number(f[f.length - 1]));
        assert.equal(e.request.payloadSize, Number(f[f.length - 1]) - Number(f[f.length - 2]));
      } else {
        assert.equal(e.request.payloadSize, Number(f[f.length - 1]));
      }
    }
    assert.equal(msgs[0]!.request.payload, 'hello');
    const info = of(ports.sub)[0]!.request.info as Record<string, unknown>;
    const sentInfo = JSON.parse(/^INFO (.*)\r$/m.exec(got.sub)![1]!);
    assert.equal(info.server_id, sentInfo.server_id);
    assert.equal(info.max_payload, sentInfo.max_payload);
    const ping = of(ports.sub)[3]!;
    assert.deepEqual(ping.response, { verb: 'PONG' });
    assert.ok(ping.elapsedMs !== null && ping.elapsedMs >= 0);
  });

  test('verbose publisher: every operation +OK; sizes, reply-to, headers; credentials redacted', () => {
    const rows = of(ports.pub).map((e) => [e.method, e.path, e.status]);
    assert.deepEqual(rows, [
      ['INFO', '', null],
      ['CONNECT', '', '+OK'],
      ['PUB', `${S}.a`, '+OK'],
      ['PUB', `${S}.b`, '+OK'],
      ['HPUB', `${S}.h`, '+OK'],
      ['PING', '', null],
    ]);
    assert.equal(got.pub.match(/\+OK/g)?.length, 4, 'the server acknowledged four operations');
    const [, connect, a, b, h] = of(ports.pub);
    const options = connect!.request.options as Record<string, unknown>;
    assert.equal(options.name, 'pw-pub');
    assert.equal(options.lang, 'node');
    assert.equal(options.verbose, true);
    assert.equal(options.headers, true);
    assert.equal(options.user, 'u');
    assert.equal(options.pass, '[redacted]');
    assert.equal(options.auth_token, '[redacted]');
    assert.ok(!JSON.stringify(entries).includes(SECRET));
    assert.deepEqual(a!.request, { subject: `${S}.a`, payloadSize: 5, payload: 'hello' });
    assert.deepEqual(b!.request, { subject: `${S}.b`, replyTo: `reply.${process.pid}`, payloadSize: 0 });
    assert.equal(h!.request.headerSize, sent.hpub.hdr);
    assert.equal(h!.request.totalSize, sent.hpub.total);
    assert.deepEqual(h!.request.headers, {
      version: '1.0',
      headers: { 'X-Trace': 'abc', 'X-Multi': '1, 2' },
    });
    assert.equal(h!.request.payload, 'world');
    assert.equal(h!.requestSize, Buffer.byteLength(sent.hpub.wire));
    for (const e of [a, b, h]) {
      assert.equal(e!.responseSize, 5);
      assert.ok(e!.elapsedMs !== null && e!.elapsedMs >= 0);
    }
  });

  test('non-verbose: no status on operations; an unknown operation gets the server`s -ERR', () => {
    const rows = of(ports.plain).map((e) => [e.method, e.path, e.status]);
    assert.deepEqual(rows, [
      ['INFO', '', null],
      ['CONNECT', '', null],
      ['PUB', `${S}-plain`, null],
      ['PING', '', null],
      ['BOGUS', '', '-ERR'],
    ]);
    const err = /^-ERR '(.*)'\r$/m.exec(got.plain)!;
    const bogus = of(ports.plain)[4]!;
    assert.deepEqual(bogus.response, { verb: '-ERR', error: err[1] });
    assert.equal(bogus.request.line, 'BOGUS op');
    assert.equal(parseErrors, 1, 'the unknown operation is counted');
    assert.ok(entries.every((e) => e.error === null));
  });
});
