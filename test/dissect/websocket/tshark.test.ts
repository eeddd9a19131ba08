/**
 * WebSocket messages against tshark on every capture of test/captures/websocket: tshark lists
 * frames, podwire lists messages (a data frame with its continuations, or one control frame), so
 * tshark's frames are folded into messages the same way (RFC 6455 §5.4) and compared per sender:
 * opcode, payload length on the wire, close code. Every message links to its upgrade entry.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

const files = readdirSync(join(CAPTURES, 'websocket')).map((f) => `websocket/${f}`);
const available = await tsharkAvailable();

const NAMES: Record<string, string> = { '1': 'text', '2': 'binary', '8': 'close', '9': 'ping', '10': 'pong' };

interface Msg {
  sender: string;
  method: string;
  size: number;
  close: string;
  /** Text of a one-frame text message (inflated when compressed), as tshark shows it. */
  text?: string;
}

/** tshark's frames, folded into messages. */
async function tsharkMessages(path: string, decodeAs: string[]): Promise<Msg[]> {
  const rows = await tsharkFields(
    path,
    'websocket',
    [
      'tcp.srcport',
      'websocket.opcode',
      'websocket.fin',
      'websocket.payload_length',
      'websocket.payload_length_ext_16',
      'websocket.payload_length_ext_64',
      'websocket.payload.close.status_code',
      'websocket.payload.text',
    ],
    decodeAs,
  );
  const out: Msg[] = [];
  const open = new Map<string, Msg>();
  for (const [sport, ops, fins, lens, ext16, ext64, codes, text] of rows) {
    const e16 = (ext16 ?? '').split(',').filter(Boolean);
    const e64 = (ext64 ?? '').split(',').filter(Boolean);
    const closeCodes = (codes ?? '').split(',').filter(Boolean);
    const opList = ops!.split(',');
    const lenList = lens!.split(',');
    for (const [i, op] of opList.entries()) {
      const l7 = Number(lenList[i]);
      const size = l7 === 126 ? Number(e16.shift()) : l7 === 127 ? Number(e64.shift()) : l7;
      if (op === '0') {
        const m = open.get(sport!);
        if (m) m.size += size;
        continue;
      }
      const m: Msg = { sender: sport!, method: NAMES[op] ?? op, size, close: '' };
      if (op === '8' && size >= 2) m.close = closeCodes.shift() ?? '';
      if (op === '1' && opList.length === 1 && fins === '1' && text) m.text = text;
      out.push(m);
      if (Number(op) < 8) open.set(sport!, m);
    }
  }
  return out;
}

describe('WebSocket messages agree with tshark', { skip: available ? false : 'tshark not installed' }, () => {
  for (const file of files) {
    test(file, async () => {
      const path = join(CAPTURES, file);
      const decodeAs = decodeAsFor(file);
      const { entries, summary } = await analyze(path, decodeAs);
      const ws = entries.filter((e) => e.protocol === 'websocket');
      const theirs = await tsharkMessages(path, decodeAs);
      const ours = ws.map((e) => ({
        sender: String(e.src.port),
        method: e.method,
        size: e.request.payloadSize as number,
        close: e.status === null ? '' : String(e.status),
        text: e.request.payload as string,
      }));
      // Per sender, in order (the two directions interleave by capture time on both sides); texts
      // compared where tshark shows one.
      for (const sender of new Set([...theirs, ...ours].map((m) => m.sender))) {
        const t = theirs.filter((m) => m.sender === sender);
        const o = ours
          .filter((m) => m.sender === sender)
          .map(({ text, ...m }, i): Msg => (t[i]?.text === undefined ? m : { ...m, text }));
        assert.deepEqual(o, t, `messages sent from port ${sender}`);
      }
      assert.equal(summary.protocols.websocket?.parseErrors ?? 0, 0, 'no parse errors');
      const upgrade = entries.find((e) => e.protocol === 'http' && e.status === 101);
      if (decodeAs.length === 0) {
        assert.ok(upgrade, 'the upgrade is an entry');
        for (const e of ws) {
          assert.equal(e.request.upgradeEntryId, upgrade.id);
          assert.equal(e.path, upgrade.path);
          assert.equal(e.error, null);
        }
      }
    });
  }
});
