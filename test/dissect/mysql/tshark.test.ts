/**
 * MySQL entries against tshark on every capture of test/captures/mysql, per connection: the same
 * commands in the same order (command, and statement text for COM_QUERY and COM_STMT_PREPARE), and
 * for each the same answer — error code, affected rows, result set columns and row count, prepared
 * statement id and parameter count — and the same login (user, schema, server version, outcome).
 *
 * One capture tshark cannot read as it is: deepflow__partial-packet-compressed.pcap starts after the
 * login that negotiated compression, which tshark needs to see to inflate it (it reads the first
 * compressed packet as COM_SLEEP). There the reference is tshark on the same streams inflated: the
 * test undoes the compression framing with node:zlib, writes the plain MySQL streams to a new
 * capture behind a synthetic login (tshark also needs the login to know that CLIENT_DEPRECATE_EOF
 * is on, which the streams show: no EOF after the column definitions, an OK_Packet with a 0xfe
 * header at the end), and runs tshark on that.
 *
 * MariaDB 10 prefixes its version with "5.5.5-" for clients that predate it; podwire reports the
 * version without it (MariaDB: Connection, Initial Handshake Packet), so tshark's is compared so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { EtherType, ethernet, IpProtocol, ipv4, tcpConversation } from '../../support/packets.js';
import { CAPTURES } from '../../support/paths.js';
import { tempDir, writeFile, writePcap } from '../../support/pcap-writer.js';
import { BASE_CAPS, CAPS, greeting, handshakeResponse, ok, packet } from './build.js';
import { first, summarise, type TsConnection, tsharkMysql } from './reference.js';

const available = await tsharkAvailable();
const COMPRESSED = 'mysql/deepflow__partial-packet-compressed.pcap';
const files = readdirSync(join(CAPTURES, 'mysql')).map((f) => `mysql/${f}`);

/** MySQL protocol: Command Phase — the command byte's name, as the specification lists them. */
const COMMANDS: Record<number, string> = {
  1: 'QUIT',
  2: 'INIT_DB',
  3: 'QUERY',
  4: 'FIELD_LIST',
  14: 'PING',
  22: 'STMT_PREPARE',
  23: 'STMT_EXECUTE',
  25: 'STMT_CLOSE',
  26: 'STMT_RESET',
  31: 'RESET_CONNECTION',
};

function serverPorts(decodeAs: string[]): number[] {
  const ports = decodeAs.map((d) => Number(/port==(\d+)/.exec(d)?.[1]));
  return ports.length > 0 ? ports : [3306];
}

function byConnection(entries: Entry[]): Map<string, Entry[]> {
  const m = new Map<string, Entry[]>();
  for (const e of entries) {
    if (e.protocol !== 'mysql') continue;
    const k = `${e.src.port}>${e.dst.port}`;
    m.set(k, [...(m.get(k) ?? []), e]);
  }
  return m;
}

/** The per-command view both sides are reduced to. */
function tsCommands(c: TsConnection): string[] {
  return c.commands.map((cmd) => {
    const name = COMMANDS[cmd.command] ?? `COM_${cmd.command}`;
    const text = cmd.command === 3 || cmd.command === 22 ? ` ${cmd.query}` : '';
    const a = summarise(cmd);
    const answered = cmd.answer.length > 0;
    const parts = [`${name}${text}`, `status=${answered ? (a.errorCode ?? 'OK') : null}`];
    if (a.affectedRows !== null && a.errorCode === null) parts.push(`affected=${a.affectedRows}`);
    if (a.columns !== null) parts.push(`columns=${a.columns}`);
    if (a.rows > 0 || (a.columns !== null && cmd.command !== 22 && cmd.command !== 4))
      parts.push(`rows=${a.rows}`);
    if (a.statementId !== null) parts.push(`stmt=${a.statementId} params=${a.params}`);
    return parts.join(' ');
  });
}

function pwCommands(entries: Entry[]): string[] {
  return entries
    .filter((e) => e.method !== 'LOGIN')
    .map((e) => {
      const name = String(e.request.command);
      const text = name === 'QUERY' || name === 'STMT_PREPARE' ? ` ${e.request.query}` : '';
      const r = e.response ?? {};
      const parts = [`${name}${text}`, `status=${e.status}`];
      if (r.affectedRows !== undefined && r.columns === undefined && r.errorCode === undefined)
        parts.push(`affected=${r.affectedRows}`);
      if (r.columns !== undefined) parts.push(`columns=${r.columns}`);
      if (r.rows !== undefined) parts.push(`rows=${r.rows}`);
      if (r.statementId !== undefined) parts.push(`stmt=${r.statementId} params=${r.params}`);
      return parts.join(' ');
    });
}

function tsLogin(c: TsConnection): string | null {
  const greeting = c.login.find((p) => first(p, 'mysql.version') !== null);
  const req = c.login.find((p) => p.fields.has('mysql.caps.client'));
  if (!req && !greeting) return null;
  const after = c.login.filter((p) => p.frame > (req?.frame ?? 0) && p !== req && p !== greeting);
  const err = after.map((p) => first(p, 'mysql.error_code')).find((x) => x !== null);
  const ok = after.some((p) => p.show.endsWith('- response OK'));
  const status = err ? Number(err) : ok ? 'OK' : null;
  const user = req ? (first(req, 'mysql.user') ?? '') : '';
  const schema = req ? (first(req, 'mysql.schema') ?? '') : '';
  let version = greeting ? first(greeting, 'mysql.version') : null;
  if (version?.startsWith('5.5.5-') && /mariadb/i.test(version)) version = version.slice(6);
  return `user=${user} schema=${schema} version=${version} status=${status}`;
}

function pwLogin(entries: Entry[]): string | null {
  const e = entries.find((x) => x.method === 'LOGIN');
  if (!e) return null;
  return `user=${e.request.user ?? ''} schema=${e.path} version=${e.response?.serverVersion ?? null} status=${e.status}`;
}

describe('MySQL entries agree with tshark', { skip: available ? false : 'tshark not installed' }, () => {
  for (const file of files.filter((f) => f !== COMPRESSED)) {
    test(file, async () => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const { entries, summary } = await analyze(path, decodeAs);
      const ours = byConnection(entries);
      const theirs = await tsharkMysql(path, decodeAs, serverPorts(decodeAs));
      assert.ok(theirs.length > 0, 'tshark sees MySQL');
      let compared = 0;
      for (const c of theirs) {
        const mine = ours.get(c.key) ?? [];
        assert.deepEqual(pwCommands(mine), tsCommands(c), `${c.key}: commands and answers`);
        assert.equal(pwLogin(mine), tsLogin(c), `${c.key}: login`);
        compared += c.commands.length;
      }
      assert.equal(ours.size, theirs.length, 'the same connections');
      assert.ok(compared > 0 || theirs.some((c) => c.login.length > 0));
      assert.equal(summary.protocols.mysql?.parseErrors ?? 0, 0, 'no parse errors');
    });
  }

  test(`${COMPRESSED} (tshark on the inflated streams)`, async () => {
    const path = join(CAPTURES, COMPRESSED);
    const decodeAs = decodeAsFor(COMPRESSED);
    const { entries, summary } = await analyze(path, decodeAs);
    assert.equal(summary.protocols.mysql?.parseErrors ?? 0, 0, 'no parse errors');
    // The client's and the server's TCP payloads, in order, from tshark itself.
    const rows = execFileSync(
      'tshark',
      ['-n', '-r', path, '-Y', 'tcp.len > 0', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.payload'],
      { maxBuffer: 64 << 20 },
    )
      .toString()
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    const server = 30130;
    // MySQL protocol: Compression — 3-byte compressed length, sequence id, 3-byte uncompressed
    // length (0: stored as is), the payload; undone here independently of podwire's framer.
    const messages: { fromClient: boolean; data: Uint8Array }[] = [];
    const held = new Map<boolean, Buffer>();
    for (const [sport, hex] of rows) {
      const fromClient = Number(sport) !== server;
      let buf = Buffer.concat([held.get(fromClient) ?? Buffer.alloc(0), Buffer.from(hex!, 'hex')]);
      const plain: Buffer[] = [];
      while (buf.length >= 7 && buf.length >= 7 + buf.readUIntLE(0, 3)) {
        const clen = buf.readUIntLE(0, 3);
        const body = buf.subarray(7, 7 + clen);
        plain.push(buf.readUIntLE(4, 3) === 0 ? body : inflateSync(body));
        buf = buf.subarray(7 + clen);
      }
      held.set(fromClient, buf);
      // Cut into segments of at most 60000 bytes (an IPv4 packet holds 65535).
      const data = Buffer.concat(plain);
      for (let i = 0; i < data.length; i += 60000)
        messages.push({ fromClient, data: data.subarray(i, i + 60000) });
    }
    const client = { ip: '198.18.0.10', port: 20871 };
    const srv = { ip: '198.18.0.20', port: server };
    const caps = BASE_CAPS | CAPS.DEPRECATE_EOF;
    const login = [
      { fromClient: false, data: packet(0, greeting({ caps })) },
      { fromClient: true, data: packet(1, handshakeResponse({ caps })) },
      { fromClient: false, data: packet(2, ok()) },
    ];
    const packets = tcpConversation(client, srv, [...login, ...messages]).map((s, i) => ({
      sec: 1_700_000_000,
      frac: i * 10,
      data: ethernet(
        { etherType: EtherType.IPV4 },
        ipv4({ src: s.src.ip, dst: s.dst.ip, protocol: IpProtocol.TCP }, s.bytes),
      ),
    }));
    const { dir, cleanup } = tempDir('podwire-mysql-');
    try {
      const inflated = writeFile(dir, 'inflated.pcap', writePcap({ linkType: 1 }, packets).bytes);
      const theirs = await tsharkMysql(inflated, [`tcp.port==${server},mysql`], [server]);
      assert.equal(theirs.length, 1);
      const c = theirs[0]!;
      assert.equal(c.commands.length, 2, 'two commands');
      const mine = byConnection(entries).get(`${client.port}>${server}`) ?? [];
      assert.deepEqual(pwCommands(mine), tsCommands(c));
      assert.ok(mine.every((e) => e.request.compressed === true));
      assert.ok((mine[0]?.response?.rows as number) > 1000, 'the large answer spans many compressed packets');
    } finally {
      cleanup();
    }
  });
});
