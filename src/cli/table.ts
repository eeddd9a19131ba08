/** Human-readable output: the connection table and the summary. */
import type { Entry } from '../dissect/entry.js';
import { displayEndpoint } from '../enrich/display.js';
import type { ConnectionRecord } from '../flows/connection.js';
import type { AnalyzeSummary } from './analyze.js';

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

export function formatMs(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)}s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor(whole / 60) % 60).padStart(2, '0')}m`;
}

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function pad(cells: string[][], right: Set<number>): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderConnections(conns: ConnectionRecord[]): string {
  const rows = [
    ['ID', 'CLIENT', 'SERVER', 'STATE', 'DURATION', 'RTT', 'PKTS >/<', 'BYTES >/<', 'RETX', 'NOTE'],
  ];
  for (const c of conns) {
    const notes: string[] = [];
    if (c.midstream) notes.push('mid-stream');
    const gaps = c.sent.gaps + c.received.gaps;
    if (gaps) notes.push(`${gaps} gap${gaps > 1 ? 's' : ''}`);
    const ooo = c.sent.outOfOrder + c.received.outOfOrder;
    if (ooo) notes.push(`${ooo} out-of-order`);
    rows.push([
      String(c.id),
      c.src.name ? displayEndpoint(c.src, false) : endpoint(c.src.ip, c.src.port),
      c.dst.name ? displayEndpoint(c.dst, true) : endpoint(c.dst.ip, c.dst.port),
      c.closeReason + (c.closedBy ? ` (${c.closedBy})` : ''),
      formatMs(c.durationMs),
      c.handshake ? formatMs(c.handshake.rttMs) : '-',
      `${c.sent.packets}/${c.received.packets}`,
      `${formatBytes(c.sent.bytes)}/${formatBytes(c.received.bytes)}`,
      String(c.sent.retransmissions + c.received.retransmissions),
      notes.join(', '),
    ]);
  }
  return pad(rows, new Set([0, 4, 5, 6, 7, 8]));
}

function clock(us: number): string {
  return new Date(us / 1000).toISOString().slice(11, 23);
}

function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** The traffic list: one line per entry, Kubeshark's columns. */
export function renderEntries(entries: Entry[]): string {
  const rows = [['TIME', 'PROTO', 'SOURCE', 'DESTINATION', 'METHOD', 'PATH', 'STATUS', 'ELAPSED']];
  for (const e of entries) {
    rows.push([
      clock(e.timestamp),
      e.protocol,
      e.src.name ? displayEndpoint(e.src, false) : endpoint(e.src.ip, e.src.port),
      e.dst.name ? displayEndpoint(e.dst, true) : endpoint(e.dst.ip, e.dst.port),
      cut(e.method, 12),
      cut(e.path, 60),
      e.status === null ? '-' : String(e.status),
      e.elapsedMs === null ? '-' : formatMs(e.elapsedMs),
    ]);
  }
  return pad(rows, new Set([7]));
}

export function renderSummary(s: AnalyzeSummary): string {
  const lines = [
    `${s.packets.toLocaleString('en-US')} packets, ${formatBytes(s.bytes)} in ${s.files.length} file${s.files.length === 1 ? '' : 's'}` +
      ` (${s.tcpPackets.toLocaleString('en-US')} TCP, ${s.udpPackets.toLocaleString('en-US')} UDP, ${s.otherPackets.toLocaleString('en-US')} other` +
      `${s.tunnelledPackets ? `; ${s.tunnelledPackets.toLocaleString('en-US')} inside tunnels` : ''})`,
    `${s.connections.toLocaleString('en-US')} TCP connections` +
      (s.connections
        ? ` (${Object.entries(s.closeReasons)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')})`
        : ''),
  ];
  if (s.entries) {
    const per = Object.entries(s.protocols)
      .map(([p, v]) => `${v.entries} ${p}${v.parseErrors ? ` (${v.parseErrors} parse errors)` : ''}`)
      .join(', ');
    lines.push(`${s.entries.toLocaleString('en-US')} entries: ${per}`);
  }
  const errs = Object.entries(s.errors);
  if (errs.length) lines.push(`errors: ${errs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  else lines.push('errors: none');
  for (const f of s.files) if (f.error) lines.push(`${f.path}: ${f.error}`);
  return lines.join('\n');
}
