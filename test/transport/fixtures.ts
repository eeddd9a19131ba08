/** Records and helpers the transport tests share. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';

/** An HTTP entry shaped as the dissector makes them (src/dissect/entry.ts), numbered by `n`. */
export function entry(n: number, tag = 'e'): Entry {
  return {
    type: 'entry',
    id: `${tag}-${n}`,
    protocol: 'http',
    timestamp: 1_700_000_000_000_000 + n * 1000,
    elapsedMs: 1.5,
    src: { ip: '10.0.0.1', port: 40000 + (n % 20000) },
    dst: { ip: '10.0.0.2', port: 8080 },
    method: 'GET',
    path: `/items/${n}?page=2`,
    status: 200,
    request: { httpVersion: '1.1', headers: { host: 'shop', 'user-agent': 'curl/8.5.0', accept: '*/*' } },
    response: {
      headers: { 'content-type': 'application/json', 'content-length': '24' },
      body: '{"ok":true,"items":[1,2]}',
    },
    requestSize: 96,
    responseSize: 160,
    connectionId: n,
    error: null,
  };
}

export function connection(n: number): ConnectionRecord {
  const dir = {
    packets: 6,
    bytes: 420,
    wireBytes: 820,
    retransmissions: 0,
    outOfOrder: 0,
    gaps: 0,
    gapBytes: 0,
  };
  return {
    type: 'connection',
    id: n,
    src: { ip: '10.0.0.1', port: 40000 + (n % 20000) },
    dst: { ip: '10.0.0.2', port: 8080 },
    ipVersion: 4,
    start: 1_700_000_000_000_000 + n * 1000,
    end: 1_700_000_000_002_000 + n * 1000,
    durationMs: 2,
    closeReason: 'fin',
    closedBy: 'src',
    midstream: false,
    handshake: { rttMs: 0.1, synToSynAckMs: 0.05, synAckToAckMs: 0.05 },
    sent: dir,
    received: { ...dir },
  };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `podwire-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The spool segment files of an agent. */
export function segmentFiles(spoolDir: string, agent: string): string[] {
  try {
    return readdirSync(join(spoolDir, agent)).filter((n) => n.endsWith('.seg'));
  } catch {
    return [];
  }
}

/** Waits until `check` holds, polling; fails with `what` after timeoutMs. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
