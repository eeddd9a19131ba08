/**
 * `podwire hub`: the store, the query APIs, Grafana's Node Graph and k8spacket's TLS API, the
 * Prometheus metrics, and the endpoint agents stream to (`podwire agent --hub URL`).
 */
import { parseArgs } from 'node:util';
import { HubConfigError } from '../hub/auth.js';
import { Hub, type HubOptions } from '../hub/hub.js';
import { exitWith, untilSignal } from './agent.js';
import { namingFlags } from './naming-flags.js';
import type { FlagValues } from './pipeline-flags.js';
import { readToken, redactionFlags } from './security-flags.js';
import { parseCount, parseDuration, UsageError } from './usage-error.js';

export { namingFlags } from './naming-flags.js';

export const DEFAULT_HUB_LISTEN = '127.0.0.1:6676';

export const HUB_USAGE = `usage: podwire hub [options]

Stores what agents send ('podwire agent --hub URL'), and serves it: the REST and WebSocket APIs
(/api, docs/hub-api.md), Grafana's Node Graph API and k8spacket's TLS API (/nodegraph, /tlsparser),
and Prometheus metrics (/metrics). Listens on loopback unless told otherwise; any other address
needs a bearer token.

options:
  --listen HOST:PORT            where to listen (default ${DEFAULT_HUB_LISTEN}, k8spacket's port)
  --token-file FILE             the bearer token clients and agents must send (or $PODWIRE_TOKEN);
                                required when --listen is not a loopback address
  --store FILE                  the SQLite store (default podwire.db, here; :memory: for none); beside
                                it FILE-wal, FILE-shm, FILE-lock and FILE-details/ (the entries' bodies)
  --retention-age DURATION      drop entries older than this (default 7d; e.g. 12h, 30m)
  --retention-size SIZE         keep the store under this size (default 1GiB; e.g. 500MiB)
  --redact-header NAME          also redact this HTTP header (repeatable)
  --redact-key NAME             also redact this JSON key, query parameter or form field (repeatable)
  --no-redact                   store secrets as captured (headers, passwords, tokens): never in production
  --k8s SNAPSHOT                name endpoints from a cluster snapshot ('podwire snapshot')
  --kubeconfig FILE             name endpoints from the live cluster (list+watch); --in-cluster in a pod
  --in-cluster                  use the pod's service account (as the Helm chart runs the hub)
  --no-reverse-dns              do not name outside addresses by reverse DNS (with --k8s/--kubeconfig)
  --tls-dial                    read the certificate of servers whose TLS handshake did not show
                                one (TLS 1.3, resumed sessions) by dialling them, as k8spacket
                                does: a TLS connection from the hub, no data sent; at most once an
                                hour per server and SNI (off by default)
  --node NAME                   this hub's node, for k8spacket's node-only routes
  --show-source-port            label metrics with client ports (default: 'dynamic', as k8spacket's
                                hideSourcePort; client ports multiply series)
  --max-series N                label sets per metric before folding into 'other' (default 10000)
  -h, --help                    this help`;

export const HUB_FLAGS = {
  listen: { type: 'string' },
  'token-file': { type: 'string' },
  store: { type: 'string', default: 'podwire.db' },
  'retention-age': { type: 'string' },
  'retention-size': { type: 'string' },
  'redact-header': { type: 'string', multiple: true },
  'redact-key': { type: 'string', multiple: true },
  'no-redact': { type: 'boolean', default: false },
  k8s: { type: 'string', multiple: true },
  kubeconfig: { type: 'string' },
  'in-cluster': { type: 'boolean', default: false },
  'no-reverse-dns': { type: 'boolean', default: false },
  node: { type: 'string' },
  'tls-dial': { type: 'boolean', default: false },
  'show-source-port': { type: 'boolean', default: false },
  'max-series': { type: 'string' },
} as const;

function str(v: FlagValues, k: string): string | undefined {
  return typeof v[k] === 'string' ? (v[k] as string) : undefined;
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (loopback). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new UsageError(`--listen takes HOST:PORT (e.g. 127.0.0.1:6676, 0.0.0.0:6676), not '${text}'`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** `500MiB`, `2GB`, `1048576`. */
export function parseSize(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(text.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined)
    throw new UsageError(`--${flag} takes a size like 500MiB or 2GB, not '${text}'`);
  return Math.round(Number(m[1]) * unit);
}

/** Durations up to days (`7d`), on top of parseDuration's units; returns ms. */
function parseLongDuration(flag: string, text: string): number {
  const d = /^(\d+(?:\.\d+)?)d$/.exec(text.trim());
  return d ? Math.round(Number(d[1]) * 86_400_000) : parseDuration(flag, text) / 1000;
}

/** HubOptions from the flags (without naming, which needs I/O). */
export function hubOptions(v: FlagValues, log: (m: string) => void): HubOptions {
  const listen = parseListen(str(v, 'listen') ?? DEFAULT_HUB_LISTEN);
  const age = str(v, 'retention-age');
  const size = str(v, 'retention-size');
  const maxSeries = str(v, 'max-series');
  const token = readToken(v);
  const redaction = redactionFlags(v);
  const node = str(v, 'node');
  return {
    store: {
      path: str(v, 'store') ?? 'podwire.db',
      maxAgeMs: age === undefined ? 7 * 86_400_000 : parseLongDuration('retention-age', age),
      maxBytes: size === undefined ? 1024 ** 3 : parseSize('retention-size', size),
    },
    host: listen.host,
    port: listen.port,
    ...(token !== undefined ? { token } : {}),
    ...(redaction ? { redaction } : { redaction: null }),
    metrics: {
      hideSourcePort: !v['show-source-port'],
      ...(maxSeries !== undefined ? { maxSeries: parseCount('max-series', maxSeries) } : {}),
    },
    ...(node !== undefined ? { localNode: node } : {}),
    ...(v['tls-dial'] ? { tlsDial: true } : {}),
    log,
  };
}

export async function runHub(argv: string[]): Promise<number> {
  let v: FlagValues;
  try {
    v = parseArgs({
      args: argv,
      allowPositionals: false,
      options: { ...HUB_FLAGS, help: { type: 'boolean', short: 'h', default: false } },
    }).values as FlagValues;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (v.help) {
    process.stdout.write(`${HUB_USAGE}\n`);
    return 0;
  }
  const log = (m: string) => process.stderr.write(`podwire hub: ${m}\n`);
  const options = hubOptions(v, log);
  const naming = await namingFlags(v, log);
  let hub: Hub;
  try {
    hub = await Hub.start({ ...options, enricher: naming.enricher });
  } catch (err) {
    if (err instanceof HubConfigError || isStartError(err)) {
      log((err as Error).message);
      return exitWith(1);
    }
    throw err;
  }
  log(
    `listening on ${hub.url()} (store ${options.store.path}${options.token ? ', token required' : ', loopback only'})`,
  );
  const sig = await untilSignal();
  log(`${sig}: storing what is pending and stopping`);
  await hub.close();
  await naming.watcher?.stop();
  naming.namer?.close();
  return exitWith(0);
}

/** Errors of start-up that are the user's to fix: a port in use, a store that cannot be opened. */
export function isStartError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException & { name?: string };
  return (
    e?.code === 'EADDRINUSE' ||
    e?.code === 'EACCES' ||
    e?.code === 'EADDRNOTAVAIL' ||
    e?.name === 'StoreError' ||
    e?.name === 'SqliteError'
  );
}
