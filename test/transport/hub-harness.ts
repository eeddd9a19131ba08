/** A hub for the transport tests: fastify + @fastify/websocket on loopback, and targets to store into. */
import type { AddressInfo } from 'node:net';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import {
  type AgentStream,
  type AgentStreamOptions,
  type IngestTarget,
  registerAgentStream,
} from '../../src/transport/index.js';

export interface TestHub {
  app: FastifyInstance;
  stream: AgentStream;
  port: number;
  url: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startHub(
  target: IngestTarget,
  options: Partial<AgentStreamOptions> & { port?: number } = {},
): Promise<TestHub> {
  const app = Fastify({ logger: false });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 << 20 } });
  const logs: string[] = [];
  const stream = registerAgentStream(app, { log: (m) => logs.push(m), ...options, target });
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, stream, port, url: `http://127.0.0.1:${port}`, logs, close: () => app.close() };
}

/**
 * A target that keeps everything in this process, as a durable store would across a restart of
 * the fastify app (the object outlives it). `gate` holds each ingest until released; `failOn`
 * throws once for that seq.
 */
export class MemoryTarget implements IngestTarget {
  readonly batches: { agent: string; seq: number; entries: Entry[]; connections: ConnectionRecord[] }[] = [];
  readonly watermarks = new Map<string, number>();
  calls = 0;
  refused = 0;
  delayMs = 0;
  gate: Promise<void> | null = null;
  failOn = new Set<number>();
  /** Called after a batch is stored, before ingest returns. */
  afterStore: ((seq: number) => void) | null = null;

  ingest(
    source: { agent: string; seq: number },
    entries: readonly Entry[],
    connections: readonly ConnectionRecord[],
  ): boolean | Promise<boolean> {
    this.calls++;
    if (this.gate || this.delayMs) return this.later(source, entries, connections);
    return this.store(source, entries, connections);
  }

  private async later(
    source: { agent: string; seq: number },
    entries: readonly Entry[],
    connections: readonly ConnectionRecord[],
  ): Promise<boolean> {
    if (this.gate) await this.gate;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.store(source, entries, connections);
  }

  private store(
    source: { agent: string; seq: number },
    entries: readonly Entry[],
    connections: readonly ConnectionRecord[],
  ): boolean {
    if (this.failOn.delete(source.seq)) throw new Error(`disk full (test, seq ${source.seq})`);
    if (source.seq <= this.watermark(source.agent)) {
      this.refused++;
      return false;
    }
    this.batches.push({
      agent: source.agent,
      seq: source.seq,
      entries: [...entries],
      connections: [...connections],
    });
    this.watermarks.set(source.agent, source.seq);
    this.afterStore?.(source.seq);
    return true;
  }

  watermark(agent: string): number {
    return this.watermarks.get(agent) ?? 0;
  }

  /** How many times each entry id was stored. */
  entryCounts(agent?: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const b of this.batches)
      if (agent === undefined || b.agent === agent)
        for (const e of b.entries) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    return counts;
  }
}

/** Asserts that ids `tag-0` .. `tag-(n-1)` were each stored exactly once, and nothing else. */
export function exactlyOnce(counts: Map<string, number>, tag: string, n: number): string | null {
  for (let i = 0; i < n; i++) {
    const c = counts.get(`${tag}-${i}`) ?? 0;
    if (c !== 1) return `${tag}-${i} stored ${c} times`;
  }
  const extra = [...counts.keys()].filter(
    (k) => k.startsWith(`${tag}-`) && Number(k.slice(tag.length + 1)) >= n,
  );
  return extra.length ? `unexpected ${extra.slice(0, 3)}` : null;
}

export interface RawClient {
  ws: WebSocket;
  messages: unknown[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
}

/** A bare WebSocket to the agent stream, to say what HubClient never would. */
export function rawClient(url: string, headers: Record<string, string> = {}): RawClient {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/api/agents/stream`, { headers });
  const messages: unknown[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve) => ws.on('open', () => resolve()));
  return { ws, messages, closed, opened };
}
