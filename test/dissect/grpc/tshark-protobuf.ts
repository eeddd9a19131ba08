/**
 * Protobuf with a schema, read by tshark (the independent reference: Wireshark's own .proto parser
 * and decoder, `protobuf_search_paths` and `protobuf.pbf_as_hf`), and by podwire, as comparable
 * lists: one line `Type path=value` per scalar of every decoded message. Paths are field names joined
 * with dots, without indices (a repeated field's elements each give a line), a map entry is
 * `map.key`. Values as text: integers in decimal (64-bit ones too), enums by name, bytes in base64,
 * booleans `true`/`false`. Only what both can show is listed: tshark names no undeclared field and
 * no message of a method it does not know; podwire's `$unknown` and oneof virtual fields are left out.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';

const run = promisify(execFile);

/**
 * tshark has no built-in google/protobuf/*.proto; these are the two fields of timestamp.proto
 * (protobuf's src/google/protobuf/timestamp.proto, less comments and options).
 */
function wellKnownDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-wkt-'));
  mkdirSync(join(dir, 'google', 'protobuf'), { recursive: true });
  writeFileSync(
    join(dir, 'google', 'protobuf', 'timestamp.proto'),
    'syntax = "proto3";\npackage google.protobuf;\nmessage Timestamp { int64 seconds = 1; int32 nanos = 2; }\n',
  );
  return dir;
}

interface PdmlField {
  name: string;
  show: string;
  showname: string;
  children: PdmlField[];
}

const attr = (tag: string, name: string): string => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : '';
};

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|quot|amp|lt|gt|apos);/gi, (_, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(
        e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)),
      );
    return ({ quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" } as Record<string, string>)[e.toLowerCase()]!;
  });
}

/** The `protobuf` protos of a PDML document: the message type each decoded, and its field tree. */
function protobufProtos(pdml: string): { type: string; fields: PdmlField[] }[] {
  const out: { type: string; fields: PdmlField[] }[] = [];
  const tagRe = /<(\/?)(proto|field)\b([^>]*?)(\/?)>/g;
  let current: { type: string; fields: PdmlField[] } | null = null;
  const stack: PdmlField[] = [];
  let protoDepth = 0;
  for (let m = tagRe.exec(pdml); m; m = tagRe.exec(pdml)) {
    const [, close, kind, attrs = '', selfClose] = m;
    if (kind === 'proto') {
      if (close) {
        if (current && --protoDepth === 0) current = null;
        continue;
      }
      if (attr(attrs, 'name') === 'protobuf') {
        const t = /\(Message: ([\w.]+)\)$/.exec(attr(attrs, 'showname'));
        current = { type: t ? t[1]! : '', fields: [] };
        out.push(current);
        protoDepth = 1;
        stack.length = 0;
      } else if (current) protoDepth++;
      if (selfClose && current) protoDepth--;
      continue;
    }
    if (!current) continue;
    if (close) {
      stack.pop();
      continue;
    }
    const f: PdmlField = {
      name: attr(attrs, 'name'),
      show: attr(attrs, 'show'),
      showname: attr(attrs, 'showname'),
      children: [],
    };
    (stack.at(-1)?.children ?? current.fields).push(f);
    if (!selfClose) stack.push(f);
  }
  return out;
}

function tsharkLines(type: string, fields: PdmlField[], prefix: string, out: string[]): void {
  for (const f of fields) {
    // Wireshark's tree puts the field's own items (number, wire type) beside the pbf.* value.
    if (!f.name.startsWith('pbf.')) {
      tsharkLines(type, f.children, prefix, out);
      continue;
    }
    const field = f.name.slice(f.name.lastIndexOf('.') + 1);
    const sub = f.children.filter((c) => c.name.startsWith('pbf.') || c.children.length);
    if (/MapEntry\)$/.test(f.showname)) {
      // A map entry: key, then value (scalar or message).
      const key = f.children.find((c) => c.name.endsWith('MapEntry.key'));
      const value = f.children.find((c) => c.name.endsWith('MapEntry.value'));
      if (!key || !value) continue;
      tsharkLines(type, [{ ...value, name: `pbf.${key.show}` }], `${prefix}${field}.`, out);
      continue;
    }
    if (sub.some((c) => c.name.startsWith('pbf.') || c.children.some((d) => d.name.startsWith('pbf.')))) {
      tsharkLines(type, f.children, `${prefix}${field}.`, out);
      continue;
    }
    out.push(`${type} ${prefix}${field}=${tsharkValue(field, f)}`);
  }
}

function tsharkValue(field: string, f: PdmlField): string {
  const shown = f.showname.slice(field.length + 2);
  if (/^\d+$|^-\d+$/.test(f.show) && shown.endsWith(` (${f.show})`))
    return shown.slice(0, -` (${f.show})`.length);
  if (shown === 'True' || shown === 'False') return shown === 'True' ? 'true' : 'false';
  if (/^\(\d+ bytes\)$/.test(shown)) return Buffer.from(f.show.replace(/:/g, ''), 'hex').toString('base64');
  return f.show;
}

/** tshark's lines for a capture, given decode-as rules and .proto search paths (loaded in full). */
export async function tsharkProtobufLines(
  file: string,
  decodeAs: string[],
  protoDirs: string[],
): Promise<string[]> {
  const wkt = wellKnownDir();
  const args = ['-r', file, '-Y', 'protobuf', '-T', 'pdml', '-o', 'protobuf.pbf_as_hf:TRUE'];
  for (const d of decodeAs) args.push('-d', d);
  for (const p of [...protoDirs, wkt]) args.push('-o', `uat:protobuf_search_paths:"${p}","TRUE"`);
  let stdout: string;
  try {
    ({ stdout } = await run('tshark', args, { maxBuffer: 256 << 20 }));
  } finally {
    rmSync(wkt, { recursive: true, force: true });
  }
  const out: string[] = [];
  for (const p of protobufProtos(stdout)) if (p.type) tsharkLines(p.type, p.fields, '', out);
  return out.sort();
}

function podwireLine(type: string, path: string, v: unknown, out: string[]): void {
  if (Array.isArray(v)) {
    for (const x of v) podwireLine(type, path, x, out);
    return;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      // A oneof's virtual field names the member that is set: podwire's, not on the wire.
      if (k === '$unknown' || (ONEOF_NAMES.has(k) && typeof x === 'string' && Object.hasOwn(v, x))) continue;
      podwireLine(type, path ? `${path}.${k}` : k, x, out);
    }
    return;
  }
  out.push(`${type} ${path}=${String(v)}`);
}

/** The oneofs of the test .proto files (their virtual fields are podwire's, not on the wire). */
const ONEOF_NAMES = new Set(['payment']);

/** podwire's lines for the same messages: those decoded with a schema (`json`). */
export function podwireProtobufLines(entries: Entry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.protocol !== 'grpc') continue;
    const sides: [Record<string, unknown> | null, string][] = [
      [e.request as Record<string, unknown>, 'requestType'],
      [e.response as Record<string, unknown> | null, 'responseType'],
    ];
    for (const [side, typeKey] of sides) {
      if (!side) continue;
      const type = String(side[typeKey] ?? '');
      for (const m of (side.messages as Record<string, unknown>[]) ?? [])
        if (m.json) podwireLine(type, '', m.json, out);
    }
  }
  return out.sort();
}
