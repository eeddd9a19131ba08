/**
 * The agent's health endpoint, on loopback by default (a DaemonSet's probes reach it with
 * hostNetwork): `/healthz` (the process answers: its event loop runs), `/readyz` (start-up done
 * and capturing, not stopping), `/status` (every counter as JSON, what `podwire agent --status`
 * prints) and `/metrics` (the same counters in Prometheus' text format).
 */
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentStatus, InterfaceStatus } from './agent.js';

export interface HealthSource {
  status(): AgentStatus;
  readonly ready: boolean;
}

/** Listens on `host:port` (port 0: any free one); resolves with the server once listening. */
export function startHealthServer(agent: HealthSource, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    switch (path) {
      case '/healthz':
        return send(200, 'text/plain', 'ok\n');
      case '/readyz':
        return agent.ready ? send(200, 'text/plain', 'ready\n') : send(503, 'text/plain', 'not ready\n');
      case '/status':
        return send(200, 'application/json', `${JSON.stringify(agent.status())}\n`);
      case '/metrics':
        return send(200, 'text/plain; version=0.0.4', metrics(agent.status()));
      default:
        return send(404, 'text/plain', 'not found: try /healthz, /readyz, /status or /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      // The agent must be able to exit whatever a scraper keeps open.
      server.unref();
      resolve(server);
    });
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** GETs `/status` from an agent's health endpoint. */
export function fetchStatus(host: string, port: number, timeoutMs = 5000): Promise<AgentStatus> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: '/status', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body.trim()}`));
        try {
          resolve(JSON.parse(body) as AgentStatus);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Per-interface counters as Prometheus series (the exposition format, version 0.0.4). */
const INTERFACE_SERIES: [keyof InterfaceStatus, string, string][] = [
  ['packets', 'podwire_capture_packets_total', 'Packets libpcap handed over.'],
  ['bytes', 'podwire_capture_bytes_total', 'Wire bytes of those packets.'],
  ['duplicates', 'podwire_capture_duplicates_total', 'Copies of a packet already seen on another interface.'],
  ['shed', 'podwire_capture_shed_total', 'Packets skipped unread because the agent was behind.'],
  ['kernelDrops', 'podwire_capture_kernel_drops_total', 'Packets the kernel dropped: the ring was full.'],
  ['ifDrops', 'podwire_capture_interface_drops_total', 'Packets the interface or its driver dropped.'],
  [
    'openFailures',
    'podwire_capture_open_failures_total',
    'Refreshes at which the interface could not be captured.',
  ],
  ['connections', 'podwire_capture_connections_total', 'TCP connections first seen on the interface.'],
  ['entries', 'podwire_capture_entries_total', 'Entries of connections first seen on the interface.'],
  ['gaps', 'podwire_capture_gaps_total', 'Stream gaps (bytes never seen) in those connections.'],
];

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function metrics(s: AgentStatus): string {
  const out: string[] = [];
  for (const [key, name, help] of INTERFACE_SERIES) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const i of s.interfaces) out.push(`${name}{interface="${label(i.name)}"} ${i[key]}`);
  }
  out.push(
    '# HELP podwire_capture_up Whether the interface is being captured now.',
    '# TYPE podwire_capture_up gauge',
  );
  for (const i of s.interfaces)
    out.push(`podwire_capture_up{interface="${label(i.name)}"} ${i.state === 'capturing' ? 1 : 0}`);
  out.push(
    '# HELP podwire_pipeline_errors_total Counted errors by code (docs/errors.md).',
    '# TYPE podwire_pipeline_errors_total counter',
  );
  for (const [code, n] of Object.entries(s.pipeline.errors))
    out.push(`podwire_pipeline_errors_total{code="${code}"} ${n}`);
  out.push(
    '# HELP podwire_parse_errors_total Dissector parse errors by protocol.',
    '# TYPE podwire_parse_errors_total counter',
  );
  for (const [p, v] of Object.entries(s.pipeline.protocols))
    out.push(`podwire_parse_errors_total{protocol="${p}"} ${v.parseErrors}`);
  out.push(
    '# HELP podwire_open_connections TCP connections followed now.',
    '# TYPE podwire_open_connections gauge',
  );
  out.push(`podwire_open_connections ${s.pipeline.openConnections}`);
  if (s.queue) {
    out.push(
      '# HELP podwire_capture_queue_bytes Bytes of packets read from the kernel and waiting for the pipeline.',
      '# TYPE podwire_capture_queue_bytes gauge',
      `podwire_capture_queue_bytes ${s.queue.bytes}`,
      '# HELP podwire_capture_queue_capacity_bytes The queue size (--queue-size); a full queue sheds packets.',
      '# TYPE podwire_capture_queue_capacity_bytes gauge',
      `podwire_capture_queue_capacity_bytes ${s.queue.capacity}`,
    );
  }
  return `${out.join('\n')}\n`;
}
