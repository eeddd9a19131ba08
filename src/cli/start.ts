/**
 * `podwire start`: what a newcomer runs first. The agent on this host's interfaces with a minimal
 * local output until the hub exists: a live table of the latest entries when stdout is a terminal,
 * and every record appended as jsonl to a file. Ctrl-C flushes open connections and stops.
 */
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { Agent, AgentStartError, type AgentStatus } from '../agent/agent.js';
import type { Entry } from '../dissect/entry.js';
import {
  agentOptions,
  exitWith,
  healthFlags,
  LineWriter,
  parseFlags,
  serveHealth,
  untilSignal,
} from './agent.js';
import { formatBytes, renderEntries } from './table.js';

export const START_USAGE = `usage: podwire start [options]

Captures this host's interfaces (every interface that is up; lo only with --loopback) and shows
the traffic: a table of the latest entries, redrawn every second when stdout is a terminal, and
every entry, connection and the final summary appended as jsonl to --out. Ctrl-C stops, after
flushing open connections. Needs CAP_NET_RAW and CAP_NET_ADMIN, or root.

options:
  --out FILE                    where records are appended (default podwire.jsonl, here)
  --loopback                    capture lo too
  -i, --interface NAME          capture only NAME (repeatable)
  --interface-include REGEX     capture the interfaces whose name matches instead
  --interface-exclude REGEX     never capture the interfaces whose name matches
  --filter BPF                  capture filter in tcpdump's syntax
  --health-port N               the health endpoint, as for 'podwire agent' ('podwire agent
                                --status' reads it); --no-health for none
  and every capture and tracker option of 'podwire agent --help'
  -h, --help                    this help`;

/** Entries kept for the table. */
const RECENT = 200;

export async function runStart(argv: string[]): Promise<number> {
  const v = parseFlags(argv, {
    out: { type: 'string', default: 'podwire.jsonl' },
    loopback: { type: 'boolean', default: false },
  });
  if (v.help) {
    process.stdout.write(`${START_USAGE}\n`);
    return 0;
  }
  const outPath = resolve(String(v.out));
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
  const file = createWriteStream(outPath, { flags: 'a' });
  const out = new LineWriter(file, 500);
  let agent: Agent;
  try {
    await new Promise<void>((ok, fail) => {
      file.once('open', () => ok());
      file.once('error', (err) => fail(new AgentStartError(`cannot write ${outPath}: ${err.message}`)));
    });
    agent = new Agent(agentOptions(v, 'host', Boolean(v.loopback)), {
      connection: (rec, iface) => out.line({ ...rec, interface: iface }),
      entry: (e, iface) => {
        out.line({ ...e, interface: iface });
        recent.push(e);
        if (recent.length > RECENT) recent.shift();
      },
      log,
    });
    await agent.check();
    await serveHealth(agent, healthFlags(v), log);
    await agent.start();
  } catch (err) {
    if (err instanceof AgentStartError) {
      process.stderr.write(`podwire start: ${err.message}\n`);
      return exitWith(err.exitCode);
    }
    throw err;
  }
  const status = agent.status();
  if (!tty)
    process.stderr.write(
      `podwire start: capturing ${names(status)}; appending records to ${outPath}; Ctrl-C to stop\n`,
    );
  const draw = () => process.stdout.write(screen(agent.status(), recent, logs, outPath));
  const timer = tty ? setInterval(draw, 1000) : null;
  if (tty) draw();
  await untilSignal();
  if (timer) clearInterval(timer);
  const summary = await agent.stop();
  out.line(summary);
  await out.end();
  await new Promise<void>((r) => file.end(() => r()));
  const c = summary.capture;
  process.stdout.write(
    `${tty ? '\n' : ''}${c.packets.toLocaleString('en-US')} packets on ${c.interfaces} interface${c.interfaces === 1 ? '' : 's'} ` +
      `(${c.kernelDrops} dropped by the kernel), ${summary.connections} connections, ${summary.entries} entries; ` +
      `records in ${outPath}\n`,
  );
  return exitWith(0);
}

function names(s: AgentStatus): string {
  const on = s.interfaces.filter((i) => i.state === 'capturing').map((i) => i.name);
  return on.length ? on.join(', ') : 'no interface yet';
}

/** The whole terminal: a header of counters, the latest entries that fit, the last log lines. */
function screen(s: AgentStatus, recent: Entry[], logs: string[], outPath: string): string {
  const rows = process.stdout.rows || 24;
  const cols = process.stdout.columns || 100;
  const c = s.capture;
  const header = [
    `podwire · ${names(s)}`,
    `${c.packets.toLocaleString('en-US')} packets, ${formatBytes(c.bytes)}, ${c.kernelDrops} kernel drops · ` +
      `${s.pipeline.connections} connections (${s.pipeline.openConnections} open) · ${s.pipeline.entries} entries · ` +
      `→ ${outPath} · Ctrl-C stops`,
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
