/**
 * `podwire start`: what a newcomer runs first. The agent on this host's interfaces and the hub with
 * its store in one process, on loopback: the APIs, Grafana's Node Graph and /metrics at
 * http://127.0.0.1:6676, a live table of the latest entries when stdout is a terminal, and with
 * --out every record appended as jsonl to a file too. Ctrl-C flushes open connections and stops.
 */
import { createWriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Agent, AgentStartError, type AgentStatus } from '../agent/agent.js';
import type { Entry } from '../dissect/entry.js';
import { HubConfigError } from '../hub/auth.js';
import { Hub } from '../hub/hub.js';
import {
  agentOptions,
  exitWith,
  healthFlags,
  LineWriter,
  parseFlags,
  serveHealth,
  untilSignal,
} from './agent.js';
import { DEFAULT_HUB_LISTEN, HUB_FLAGS, hubOptions, isStartError, namingFlags } from './hub.js';
import { formatBytes, renderEntries } from './table.js';

export const START_USAGE = `usage: podwire start [options]

Captures this host's interfaces (every interface that is up; lo only with --loopback) and runs a
hub in the same process: entries and connections are stored (--store) and served on --listen
(the REST and WebSocket APIs, Grafana's Node Graph API, /metrics; docs/hub-api.md), and shown in
a table of the latest entries, redrawn every second when stdout is a terminal. Ctrl-C stops, after
flushing open connections. Needs CAP_NET_RAW and CAP_NET_ADMIN, or root.

options:
  --listen HOST:PORT            the hub's address (default ${DEFAULT_HUB_LISTEN}); not loopback
                                needs --token-file
  --store FILE                  the SQLite store (default podwire.db, here; :memory: for none)
  --out FILE                    also append every record as jsonl to FILE
  --loopback                    capture lo too
  -i, --interface NAME          capture only NAME (repeatable)
  --interface-include REGEX     capture the interfaces whose name matches instead
  --interface-exclude REGEX     never capture the interfaces whose name matches
  --filter BPF                  capture filter in tcpdump's syntax
  --health-port N               the health endpoint, as for 'podwire agent' ('podwire agent
                                --status' reads it); --no-health for none
  and every capture and tracker option of 'podwire agent --help', and the store, retention,
  redaction and naming options of 'podwire hub --help'
  -h, --help                    this help`;

/** Entries kept for the table. */
const RECENT = 200;

export async function runStart(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    ...HUB_FLAGS,
    out: { type: 'string' },
    loopback: { type: 'boolean', default: false },
  });
  if (v.help) {
    process.stdout.write(`${START_USAGE}\n`);
    return 0;
  }
  const outPath = typeof v.out === 'string' ? resolve(v.out) : null;
  const tty = Boolean(process.stdout.isTTY);
  const logs: string[] = [];
  // On a terminal the table owns the screen: log lines are kept and shown under it.
  const log = (m: string) => {
    if (tty) {
      logs.push(m);
      if (logs.length > 3) logs.shift();
    } else {
      process.stderr.write(`podwire start: ${m}\n`);
    }
  };
  const recent: Entry[] = [];
  const file = outPath ? createWriteStream(outPath, { flags: 'a' }) : null;
  const out = file ? new LineWriter(file, 500) : null;
  const node = typeof v.node === 'string' ? v.node : hostname();
  const hubOpts = { ...hubOptions(v, log), localNode: node };
  let naming: Awaited<ReturnType<typeof namingFlags>> | null = null;
  let hub = null as Hub | null;
  let agent: Agent;
  try {
    if (file)
      await new Promise<void>((ok, fail) => {
        file.once('open', () => ok());
        file.once('error', (err) => fail(new AgentStartError(`cannot write ${outPath}: ${err.message}`)));
      });
    const options = { ...agentOptions(v, 'host', Boolean(v.loopback)), node, openReportMs: 30_000 };
    agent = new Agent(options, {
      connection: (rec, iface) => {
        out?.line({ ...rec, interface: iface });
        hub?.connection(rec);
      },
      entry: (e, iface) => {
        out?.line({ ...e, interface: iface });
        hub?.entry(e);
        recent.push(e);
        if (recent.length > RECENT) recent.shift();
      },
      log,
    });
    await agent.check();
    naming = await namingFlags(v, log);
    try {
      const running = agent;
      hub = await Hub.start({
        ...hubOpts,
        enricher: naming.enricher,
        activeConnections: () => running.pipeline.tracker.table.size,
      });
    } catch (err) {
      if (err instanceof HubConfigError || isStartError(err))
        throw new AgentStartError((err as Error).message);
      throw err;
    }
    await serveHealth(agent, healthFlags(v), log);
    await agent.start();
  } catch (err) {
    await hub?.close();
    if (err instanceof AgentStartError) {
      process.stderr.write(`podwire start: ${err.message}\n`);
      return exitWith(err.exitCode);
    }
    throw err;
  }
  const where = `${hub.url()} (store ${hubOpts.store.path}${outPath ? `, jsonl to ${outPath}` : ''})`;
  const status = agent.status();
  if (!tty)
    process.stderr.write(`podwire start: capturing ${names(status)}; serving ${where}; Ctrl-C to stop\n`);
  const draw = () => process.stdout.write(screen(agent.status(), recent, logs, where));
  const timer = tty ? setInterval(draw, 1000) : null;
  if (tty) draw();
  await untilSignal();
  if (timer) clearInterval(timer);
  const summary = await agent.stop();
  await hub.close();
  await naming?.watcher?.stop();
  naming?.namer?.close();
  if (out && file) {
    out.line(summary);
    await out.end();
    await new Promise<void>((r) => file.end(() => r()));
  }
  const c = summary.capture;
  process.stdout.write(
    `${tty ? '\n' : ''}${c.packets.toLocaleString('en-US')} packets on ${c.interfaces} interface${c.interfaces === 1 ? '' : 's'} ` +
      `(${c.kernelDrops} dropped by the kernel), ${summary.connections} connections, ${summary.entries} entries; ` +
      `stored in ${hubOpts.store.path}${outPath ? ` and ${outPath}` : ''}\n`,
  );
  return exitWith(0);
}

function names(s: AgentStatus): string {
  const on = s.interfaces.filter((i) => i.state === 'capturing').map((i) => i.name);
  return on.length ? on.join(', ') : 'no interface yet';
}

/** The whole terminal: a header of counters, the latest entries that fit, the last log lines. */
function screen(s: AgentStatus, recent: Entry[], logs: string[], where: string): string {
  const rows = process.stdout.rows || 24;
  const cols = process.stdout.columns || 100;
  const c = s.capture;
  const header = [
    `podwire · ${names(s)}`,
    `${c.packets.toLocaleString('en-US')} packets, ${formatBytes(c.bytes)}, ${c.kernelDrops} kernel drops · ` +
      `${s.pipeline.connections} connections (${s.pipeline.openConnections} open) · ${s.pipeline.entries} entries · ` +
      `→ ${where} · Ctrl-C stops`,
    '',
  ];
  const room = Math.max(1, rows - header.length - logs.length - 2);
  const body = recent.length ? renderEntries(recent.slice(-room)) : 'waiting for traffic...';
  const lines = [...header, ...body.split('\n'), '', ...logs].map((l) =>
    l.length > cols ? l.slice(0, cols) : l,
  );
  // Home, clear screen, then the frame.
  return `\x1b[H\x1b[2J${lines.join('\n')}`;
}
