/**
 * Every dissector podwire has, in detection priority order. A dissector is added here with one
 * import and one array element; nothing else needs to know it exists.
 */
import { amqpDissector } from './amqp/index.js';
import type { TcpDissector, UdpDissector } from './dissector.js';
import { dnsTcpDissector, dnsUdpDissector } from './dns/index.js';
import { http1Dissector } from './http1/index.js';
import { http2Dissector } from './http2/index.js';
import { kafkaDissector } from './kafka/index.js';
import { mqttDissector } from './mqtt/index.js';
import { mysqlDissector } from './mysql/index.js';
import { natsDissector } from './nats/index.js';
import { postgresDissector } from './postgres/index.js';
import { redisDissector } from './redis/index.js';
import { tlsDissector } from './tls/index.js';
import { websocketDissector } from './websocket/index.js';

export const TCP_DISSECTORS: readonly TcpDissector[] = [
  dnsTcpDissector,
  tlsDissector,
  http2Dissector,
  http1Dissector,
  kafkaDissector,
  mqttDissector,
  postgresDissector,
  amqpDissector,
  redisDissector,
  mysqlDissector,
  natsDissector,
  websocketDissector,
];

export const UDP_DISSECTORS: readonly UdpDissector[] = [dnsUdpDissector];

/** tshark's dissector names (its `-d tcp.port==N,NAME`) where they differ from podwire's. */
const TSHARK_NAMES: Record<string, string> = {
  http: 'http1',
  grpc: 'http2',
  pgsql: 'postgres',
  resp: 'redis',
  ssl: 'tls',
};

/**
 * Parses a decode-as rule, `PORT=NAME` or tshark's `tcp.port==PORT,NAME` (tshark's names are
 * accepted: `http2`, `pgsql`, `resp`...). Returns null when the rule is malformed or names no
 * dissector; the CLI turns that into a usage error that lists the names.
 */
export function parseDecodeAs(rule: string): { port: number; name: string } | null {
  const m = /^(?:(?:tcp|udp)\.port==(\d+),([\w-]+)|(\d+)=([\w-]+))$/.exec(rule.trim());
  if (!m) return null;
  const port = Number(m[1] ?? m[3]);
  const raw = (m[2] ?? m[4]!).toLowerCase();
  const name = TSHARK_NAMES[raw] ?? raw;
  if (port < 1 || port > 65535 || !dissectorNames().includes(name)) return null;
  return { port, name };
}

export function dissectorNames(): string[] {
  return [...TCP_DISSECTORS.map((d) => d.name), ...UDP_DISSECTORS.map((d) => d.name)];
}
