/**
 * The label sets of each metric family, and how endpoints fill them. Names and orders are the
 * anchors' (CONTRACTS.md: "k8spacket Prometheus series", "kube-netc Prometheus series"), so their
 * dashboards' selectors (`ns=~"$ns"`, `src_name=~"$workload"`, `source_namespace="x"`) keep working.
 */
import type { Entry, EntryEndpoint } from '../dissect/entry.js';
import type { ConnectionRecord, Endpoint } from '../flows/connection.js';

/** k8spacket's TCP summaries. `ns` is the client's namespace. */
export const K8S_TCP_LABELS = [
  'ns',
  'src',
  'src_name',
  'src_port',
  'dst',
  'dst_name',
  'dst_port',
  'persistent',
] as const;

/** k8spacket's `k8s_packet_tls_record`. */
export const K8S_TLS_RECORD_LABELS = [
  'ns',
  'src',
  'src_name',
  'dst',
  'dst_name',
  'dst_port',
  'domain',
  'tls_version',
  'cipher_suite',
] as const;

/** k8spacket's `k8s_packet_tls_cert_expiry` and `k8s_packet_tls_cert_expiry_count`. */
export const K8S_TLS_CERT_LABELS = ['dst', 'dst_port', 'domain'] as const;

/**
 * kube-netc's byte gauges: the two endpoints, then the source object's `app.kubernetes.io/*` labels
 * (recommended labels: name, component, instance, version, part-of, managed-by).
 */
export const KUBE_NETC_LABELS = [
  'source_address',
  'destination_address',
  'source_name',
  'source_kind',
  'source_namespace',
  'source_node',
  'destination_name',
  'destination_kind',
  'destination_namespace',
  'destination_node',
  'name',
  'component',
  'instance',
  'version',
  'part_of',
  'managed_by',
] as const;

/** podwire's request count / errors / latency. */
export const REQUEST_LABELS = [
  'protocol',
  'src_namespace',
  'src_workload',
  'dst_namespace',
  'dst_workload',
] as const;

export const HIDDEN_PORT = 'dynamic';

/** A connection endpoint carries its object's recommended labels once named (src/enrich/enricher.ts). */
type Labelled = Endpoint | (EntryEndpoint & { labels?: Readonly<Record<string, string>> });

const APP_LABELS = ['name', 'component', 'instance', 'version', 'part-of', 'managed-by'] as const;

function appLabels(ep: Labelled): string[] {
  const l = ep.labels;
  return APP_LABELS.map((n) => (l ? (l[`app.kubernetes.io/${n}`] ?? '') : ''));
}

/** `IP:port`, with the IPv6 address in brackets (RFC 3986 §3.2.2) so the port stays readable. */
function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function k8sTcpValues(rec: ConnectionRecord, hideSourcePort: boolean, persistent: boolean): string[] {
  const { src, dst } = rec;
  return [
    src.namespace ?? '',
    src.ip,
    src.name ?? '',
    hideSourcePort ? HIDDEN_PORT : String(src.port),
    dst.ip,
    dst.name ?? '',
    String(dst.port),
    persistent ? 'true' : 'false',
  ];
}

export function kubeNetcValues(rec: ConnectionRecord): string[] {
  const { src, dst } = rec;
  return [
    src.ip,
    hostPort(dst.ip, dst.port),
    src.name ?? '',
    src.kind ?? '',
    src.namespace ?? '',
    src.node ?? '',
    dst.name ?? '',
    dst.kind ?? '',
    dst.namespace ?? '',
    dst.node ?? '',
    ...appLabels(src),
  ];
}

/** A workload names the traffic's owner; without enrichment fall back to the name, then the address. */
function workloadOf(ep: EntryEndpoint): string {
  return ep.workload ?? ep.name ?? ep.ip;
}

export function requestValues(e: Entry): string[] {
  return [e.protocol, e.src.namespace ?? '', workloadOf(e.src), e.dst.namespace ?? '', workloadOf(e.dst)];
}

/** From a `tls` entry: what the handshake negotiated (summary.ts: response.version / cipherSuite). */
export function tlsRecordValues(e: Entry): string[] {
  const r = e.response as { version?: unknown; cipherSuite?: unknown } | null;
  return [
    e.src.namespace ?? '',
    e.src.ip,
    e.src.name ?? '',
    e.dst.ip,
    e.dst.name ?? '',
    String(e.dst.port),
    e.path,
    typeof r?.version === 'string' ? r.version : '',
    typeof r?.cipherSuite === 'string' ? r.cipherSuite : '',
  ];
}

export function tlsCertValues(dst: { ip: string; port: number }, domain: string): string[] {
  return [dst.ip, String(dst.port), domain];
}
