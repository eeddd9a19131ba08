/**
 * Redis between real programs: redis-cli and redis-benchmark against the machine's redis-server on
 * 127.0.0.1:6379, tcpdump on the loopback. What the entries say is checked against what the client
 * printed (values, nil, error texts), what redis-cli --pipe counted (replies, errors), and what the
 * server itself counted (INFO commandstats, for redis-benchmark's pipelined SETs and GETs). Keys carry
 * a prefix of this run and are deleted at the end.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { captureInterface } from '../../support/netns.js';

const run = promisify(execFile);

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
if (!(await works('redis-benchmark', ['--version']))) missing.push('redis-benchmark');
if (!(await works('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'PING'])))
  missing.push('redis-server on 127.0.0.1:6379');

const P = `pwtest${process.pid}:`;
const PASSWORD = `not-the-password-${process.pid}`;

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', '6379', ...args], { timeout: 5000 });
  return stdout.replace(/\n+$/, '');
}

async function pipe(input: string): Promise<string> {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', '6379', '--pipe'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stdin.end(input);
  await new Promise((r) => child.on('exit', r));
  return out;
}

/** Starts a subscriber and resolves once its confirmation is printed. */
async function subscriber(args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', '6379', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitUntil(() => out.includes('subscribe'));
  return { child, output: () => out };
}

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function commandCalls(): Promise<Record<string, number>> {
  const out = await cli('INFO', 'commandstats');
  const calls: Record<string, number> = {};
  for (const m of out.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  return calls;
}

describe('Redis on real redis-cli and redis-benchmark traffic', {
  skip: missing.length ? `needs ${missing.join(', ')}` : false,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-redis-'));
  const pcap = join(dir, 'redis.pcap');
  let entries: Entry[] = [];
  let parseErrors = -1;
  let dropped = -1;
  const printed: Record<string, string> = {};
  let pipeOut = '';
  let benchSet = 0;
  let benchGet = 0;
  let benchKeyExisted = false;
  const subOut: string[] = [];

  before(async () => {
    const cap = await captureInterface('lo', pcap, ['tcp', 'port', '6379']);
    try {
      printed.set = await cli('SET', `${P}k`, 'v1');
      printed.get = await cli('GET', `${P}k`);
      printed.nil = await cli('GET', `${P}missing`);
      printed.wrongtype = await cli('LPUSH', `${P}k`, 'x');
      printed.auth = await cli('AUTH', PASSWORD);
      printed.setname = await cli('CLIENT', 'SETNAME', 'podwire-test');
      // A pipeline: RESP commands, an inline one, and one that fails.
      pipeOut = await pipe(
        [`SET ${P}p1 a`, `SET ${P}p2 b`, `SET ${P}p3 c`]
          .map((l) => {
            const w = l.split(' ');
            return `*${w.length}\r\n${w.map((x) => `$${x.length}\r\n${x}\r\n`).join('')}`;
          })
          .join('') + `GET ${P}p1\r\nLPUSH ${P}p1 x\r\n`,
      );
      // Pub/sub: a RESP2 and a RESP3 subscriber, one publisher.
      const s2 = await subscriber(['SUBSCRIBE', `${P}chan`]);
      const s3 = await subscriber(['-3', 'SUBSCRIBE', `${P}chan`]);
      printed.publish = await cli('PUBLISH', `${P}chan`, 'hello');
      await waitUntil(() => s2.output().includes('hello') && s3.output().includes('hello'));
      subOut.push(s2.output(), s3.output());
      s2.child.kill();
      s3.child.kill();
      // RESP3: HELLO 3 (sent by redis-cli -3) and a map reply.
      await cli('-3', 'HSET', `${P}h`, 'f1', 'a', 'f2', 'b');
      printed.hgetall = await cli('-3', 'HGETALL', `${P}h`);
      // redis-benchmark pipelining 16 deep; the server counts what it ran.
      benchKeyExisted = (await cli('EXISTS', 'key:__rand_int__')) === '1';
      const before = await commandCalls();
      await run(
        'redis-benchmark',
        ['-h', '127.0.0.1', '-p', '6379', '-n', '1000', '-t', 'set,get', '-P', '16', '-q'],
        {
          timeout: 60000,
        },
      );
      const afterCalls = await commandCalls();
      benchSet = (afterCalls.set ?? 0) - (before.set ?? 0);
      benchGet = (afterCalls.get ?? 0) - (before.get ?? 0);
    } finally {
      dropped = await cap.stop();
      await cli('DEL', `${P}k`, `${P}p1`, `${P}p2`, `${P}p3`, `${P}h`);
      if (!benchKeyExisted) await cli('DEL', 'key:__rand_int__');
    }
    const result = await analyze(pcap);
    entries = result.entries.filter((e) => e.protocol === 'redis');
    parseErrors = result.summary.protocols.redis?.parseErrors ?? 0;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const one = (method: string, path: string): Entry => {
    const found = entries.filter((e) => e.method === method && e.path === path);
    assert.equal(found.length, 1, `${method} ${path}: ${found.length} entries`);
    return found[0]!;
  };

  test('the capture is whole (tcpdump dropped nothing)', () => {
    assert.equal(dropped, 0);
  });

  test('SET, GET, a nil GET and a WRONGTYPE error, as redis-cli printed them', () => {
    assert.equal(printed.set, 'OK');
    assert.deepEqual(one('SET', `${P}k`).response, { type: 'simple', value: 'OK' });
    const get = one('GET', `${P}k`);
    assert.equal(get.status, 'OK');
    assert.equal(get.response!.value, printed.get);
    const nil = one('GET', `${P}missing`);
    assert.equal(nil.status, 'NIL');
    assert.equal(printed.nil, '');
    const wrong = one('LPUSH', `${P}k`);
    assert.equal(wrong.status, 'ERROR');
    assert.equal(wrong.response!.value, printed.wrongtype);
    assert.equal(wrong.response!.code, 'WRONGTYPE');
    for (const e of [get, nil, wrong]) {
      assert.equal(e.error, null);
      assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0 && e.elapsedMs < 1000);
      assert.ok(e.requestSize > 0 && e.responseSize > 0);
    }
  });

  test('AUTH: the error is shown, the password is not kept anywhere', () => {
    const auth = entries.filter((e) => e.method === 'AUTH');
    assert.equal(auth.length, 1);
    assert.equal(auth[0]!.status, 'ERROR');
    assert.equal(auth[0]!.response!.value, printed.auth);
    assert.deepEqual(auth[0]!.request.args, ['AUTH', '[redacted]']);
    assert.ok(!JSON.stringify(entries).includes(PASSWORD));
  });

  test('a two-word command: CLIENT SETNAME', () => {
    const e = entries.find((x) => x.method === 'CLIENT SETNAME');
    assert.ok(e);
    assert.equal(e.path, '');
    assert.equal(e.response!.value, printed.setname);
  });

  test('redis-cli --pipe: every reply it counted is an entry, with its errors', () => {
    const m = /errors: (\d+), replies: (\d+)/.exec(pipeOut);
    assert.ok(m, pipeOut);
    const port = one('SET', `${P}p1`).src.port;
    const conn = entries.filter((e) => e.src.port === port);
    // redis-cli appends an ECHO of a random marker to know when the last reply came.
    assert.equal(conn.length, Number(m[2]) + 1);
    assert.equal(conn[conn.length - 1]!.method, 'ECHO');
    assert.equal(conn.filter((e) => e.status === 'ERROR').length, Number(m[1]));
    const inline = one('GET', `${P}p1`);
    assert.equal(inline.request.inline, true);
    assert.equal(inline.response!.value, 'a');
    assert.ok(conn.every((e) => e.error === null));
  });

  test('pub/sub: SUBSCRIBE confirmations pair, each subscriber`s message is an entry from the server', () => {
    const subs = entries.filter((e) => e.method === 'SUBSCRIBE');
    assert.equal(subs.length, 2);
    assert.deepEqual(subs.map((s) => s.response!.type).sort(), ['array', 'push']);
    for (const s of subs)
      assert.deepEqual((s.response!.confirmations as unknown[][])[0], ['subscribe', `${P}chan`, 1]);
    const pub = one('PUBLISH', `${P}chan`);
    assert.equal(pub.response!.value, Number(printed.publish));
    assert.equal(pub.response!.value, 2);
    const msgs = entries.filter((e) => e.method === 'MESSAGE');
    assert.equal(msgs.length, 2);
    for (const msg of msgs) {
      assert.equal(msg.path, `${P}chan`);
      assert.equal(msg.request.payload, 'hello');
      assert.equal(msg.src.port, 6379);
      assert.ok(
        subs.some((s) => s.src.port === msg.dst.port),
        'to a subscriber',
      );
    }
    assert.deepEqual(msgs.map((m) => m.request.push).sort(), [false, true]);
    for (const out of subOut) assert.match(out, /hello/);
  });

  test('RESP3: HELLO 3 and a map reply', () => {
    const hello = entries.filter((e) => e.method === 'HELLO');
    assert.ok(hello.length >= 2);
    for (const h of hello) {
      assert.equal(h.response!.type, 'map');
      assert.equal((h.response!.value as Record<string, unknown>).proto, 3);
    }
    const h = one('HGETALL', `${P}h`);
    assert.equal(h.response!.type, 'map');
    assert.deepEqual(h.response!.value, { f1: 'a', f2: 'b' });
    // redis-cli prints a RESP3 map as "key value" lines.
    assert.deepEqual(printed.hgetall!.split('\n'), ['f1 a', 'f2 b']);
  });

  test('redis-benchmark -P 16: one entry per command the server ran', () => {
    const bench = entries.filter((e) => e.path === 'key:__rand_int__');
    const sets = bench.filter((e) => e.method === 'SET');
    const gets = bench.filter((e) => e.method === 'GET');
    assert.ok(benchSet >= 1000 && benchGet >= 1000, `server ran ${benchSet} SET, ${benchGet} GET`);
    assert.equal(sets.length, benchSet);
    assert.equal(gets.length, benchGet);
    assert.ok(bench.every((e) => e.status === 'OK' && e.error === null));
    assert.equal(parseErrors, 0);
  });
});
