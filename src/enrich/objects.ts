/**
 * Kubernetes objects cut down to what naming needs. Every object that enters podwire, from a watch
 * event, a list page or a snapshot file, goes through `slim` first, so memory is proportional to
 * the fields kept (a pod keeps its name, owner, IPs and ports; not its spec, status or managed
 * fields). The input is untrusted JSON: every field is checked, nothing throws.
 *
 * The shape keeps `metadata.{name, namespace, uid, resourceVersion}` where the client's ListWatch
 * cache looks for them, so the slim objects are what that cache holds.
 */
import { type Labels, NO_LABELS } from './identity.js';
import type { KindName } from './kinds.js';
import { watchedKind } from './kinds.js';

export interface SlimMetadata {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
}

/** The controlling owner (ownerReferences[] with controller: true, else the first). */
export interface OwnerRef {
  kind: string;
  name: string;
}

interface SlimBase {
  metadata: SlimMetadata;
  labels: Labels;
  /** metadata.creationTimestamp, µs since the epoch; 0 when missing. */
  created: number;
  owner: OwnerRef | null;
}

export interface SlimPod extends SlimBase {
  kind: 'Pod';
  node: string | null;
  /** status.podIPs (or podIP). For a hostNetwork pod these are the node's addresses. */
  ips: readonly string[];
  /** status.hostIPs (or hostIP): where hostPorts are reached. */
  hostIps: readonly string[];
  hostNetwork: boolean;
  /** Ports the containers declare (containers and sidecar init containers). */
  containerPorts: readonly number[];
  /** Declared hostPorts (reached on the node's address). */
  hostPorts: readonly number[];
  /** When the pod holds its IP from: status.startTime, else creationTimestamp (µs). */
  start: number;
  /** Phase Succeeded or Failed: the sandbox (and its IP) is gone, the object may linger. */
  terminal: boolean;
  /** When a terminal pod's last container finished (µs), if the status says. */
  finished: number | null;
  /** The pod-template-hash label, which names the ReplicaSet's suffix. */
  templateHash: string | null;
}

export interface SlimService extends SlimBase {
  kind: 'Service';
  /** ClusterIPs, externalIPs and load-balancer ingress IPs. */
  ips: readonly string[];
}

export interface SlimNode extends SlimBase {
  kind: 'Node';
  /** InternalIP and ExternalIP addresses. */
  ips: readonly string[];
}

export interface SlimEndpoint {
  ips: readonly string[];
  /** targetRef name when it is a Pod. */
  pod: string | null;
  node: string | null;
  ready: boolean;
}

export interface SlimEndpointSlice extends SlimBase {
  kind: 'EndpointSlice';
  /** The kubernetes.io/service-name label. */
  service: string | null;
  endpoints: SlimEndpoint[];
}

export interface SlimWorkload extends SlimBase {
  kind: 'ReplicaSet' | 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';
}

export type SlimObject = SlimPod | SlimService | SlimNode | SlimEndpointSlice | SlimWorkload;

type Json = Record<string, unknown>;

/**
 * Strings that repeat across objects (namespaces, node names, owner names, label keys and values,
 * node addresses) are kept once: JSON.parse makes a new copy for every object. Bounded: the table
 * starts over when full, which costs only sharing.
 */
const MAX_INTERNED = 100_000;
const strings = new Map<string, string>();
function intern(s: string): string {
  const known = strings.get(s);
  if (known !== undefined) return known;
  if (strings.size >= MAX_INTERNED) strings.clear();
  strings.set(s, s);
  return s;
}

/** Pods of one workload carry the same labels: one frozen object per distinct set, bounded the same way. */
const labelSets = new Map<string, Labels>();

const NONE: readonly never[] = Object.freeze([]);

function obj(v: unknown): Json | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** An RFC 3339 time (or a Date) in µs since the epoch; null when absent or unreadable. */
export function micros(v: unknown): number | null {
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.getTime() * 1000 : null;
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) return null;
  // Date.parse keeps milliseconds only; RFC 3339 times from the API carry at most microseconds.
  const frac = /\.(\d+)/.exec(v);
  const extra = frac?.[1] && frac[1].length > 3 ? Number(frac[1].slice(3, 6).padEnd(3, '0')) : 0;
  return ms * 1000 + extra;
}

/** IPv6 in RFC 5952 form (as podwire's decoder prints addresses); IPv4 unchanged; null if not an address. */
export function canonicalIp(v: unknown): string | null {
  const s = str(v);
  if (!s) return null;
  if (!s.includes(':')) return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) ? s : null;
  try {
    const host = new URL(`http://[${s}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return null;
  }
}

/** Labels that only tell a controller's revision: noise in a name, kept out of identities. */
const HASH_LABELS = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
]);

function labelsOf(meta: Json): Labels {
  const l = obj(meta.labels);
  if (!l) return NO_LABELS;
  const kept = Object.entries(l).filter(
    (e): e is [string, string] => typeof e[1] === 'string' && !HASH_LABELS.has(e[0]),
  );
  if (kept.length === 0) return NO_LABELS;
  const key = kept.map(([k, v]) => `${k}\u0000${v}`).join('\u0001');
  const known = labelSets.get(key);
  if (known) return known;
  const out: Record<string, string> = {};
  for (const [k, v] of kept) out[intern(k)] = intern(v);
  if (labelSets.size >= MAX_INTERNED) labelSets.clear();
  labelSets.set(key, Object.freeze(out));
  return labelSets.get(key)!;
}

function ownerOf(meta: Json): OwnerRef | null {
  let first: OwnerRef | null = null;
  for (const r of list(meta.ownerReferences)) {
    const o = obj(r);
    const kind = str(o?.kind);
    const name = str(o?.name);
    if (!o || !kind || !name) continue;
    if (o.controller === true) return { kind: intern(kind), name: intern(name) };
    first ??= { kind: intern(kind), name: intern(name) };
  }
  return first;
}

function ips(values: unknown[]): readonly string[] {
  let out: string[] | null = null;
  for (const v of values) {
    const ip = canonicalIp(v);
    if (!ip) continue;
    // A literal, not push onto []: a pushed-to array reserves room for 16 more.
    if (out === null) out = [intern(ip)];
    else if (!out.includes(ip)) out = [...out, intern(ip)];
  }
  return out ?? NONE;
}

/** The `ip` fields of a list of `{ip}` objects (podIPs, hostIPs). */
function ipField(v: unknown): unknown[] {
  return list(v).map((x) => obj(x)?.ip);
}

function slimPod(base: SlimBase, raw: Json): SlimPod {
  const spec = obj(raw.spec) ?? {};
  const status = obj(raw.status) ?? {};
  const containerPorts: number[] = [];
  const hostPorts: number[] = [];
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    for (const p of list(obj(c)?.ports)) {
      const port = obj(p);
      const cp = port?.containerPort;
      const hp = port?.hostPort;
      if (typeof cp === 'number' && cp > 0 && cp < 65536 && !containerPorts.includes(cp))
        containerPorts.push(cp);
      if (typeof hp === 'number' && hp > 0 && hp < 65536 && !hostPorts.includes(hp)) hostPorts.push(hp);
    }
  }
  const phase = str(status.phase);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  let finished: number | null = null;
  if (terminal) {
    for (const cs of [...list(status.containerStatuses), ...list(status.initContainerStatuses)]) {
      const t = micros(obj(obj(obj(cs)?.state)?.terminated)?.finishedAt);
      if (t !== null && (finished === null || t > finished)) finished = t;
    }
  }
  const meta = obj(raw.metadata) ?? {};
  // podIP first, then the others of podIPs (dual-stack).
  const podIps = ips([status.podIP, ...ipField(status.podIPs)]);
  const hostNetwork = spec.hostNetwork === true;
  const node = str(spec.nodeName);
  const hash = str(obj(meta.labels)?.['pod-template-hash']);
  return {
    kind: 'Pod',
    metadata: base.metadata,
    labels: base.labels,
    created: base.created,
    owner: base.owner,
    node: node && intern(node),
    ips: podIps,
    // Host addresses matter only to reach hostPorts.
    hostIps: hostPorts.length ? ips([status.hostIP, ...ipField(status.hostIPs)]) : NONE,
    hostNetwork,
    // Container ports name a pod only where it shares the node's address.
    containerPorts: hostNetwork && containerPorts.length ? containerPorts : NONE,
    hostPorts: hostPorts.length ? hostPorts : NONE,
    start: micros(status.startTime) ?? base.created,
    terminal,
    finished,
    templateHash: hash && intern(hash),
  };
}

function slimService(base: SlimBase, raw: Json): SlimService {
  const spec = obj(raw.spec) ?? {};
  const lb = obj(obj(raw.status)?.loadBalancer);
  const clusterIps = list(spec.clusterIPs).length ? list(spec.clusterIPs) : [spec.clusterIP];
  return {
    kind: 'Service',
    metadata: base.metadata,
    labels: base.labels,
    created: base.created,
    owner: base.owner,
    // "None" (headless) is not an address and drops out here.
    ips: ips([...clusterIps, ...list(spec.externalIPs), ...ipField(lb?.ingress)]),
  };
}

function slimNode(base: SlimBase, raw: Json): SlimNode {
  const addrs = list(obj(raw.status)?.addresses)
    .map(obj)
    .filter((a) => a?.type === 'InternalIP' || a?.type === 'ExternalIP')
    .map((a) => a?.address);
  return {
    kind: 'Node',
    metadata: base.metadata,
    labels: base.labels,
    created: base.created,
    owner: base.owner,
    ips: ips(addrs),
  };
}

function slimEndpointSlice(base: SlimBase, raw: Json): SlimEndpointSlice {
  const endpoints: SlimEndpoint[] = [];
  for (const e of list(raw.endpoints)) {
    const ep = obj(e);
    if (!ep) continue;
    const ref = obj(ep.targetRef);
    const ready = obj(ep.conditions)?.ready;
    const node = str(ep.nodeName);
    endpoints.push({
      ips: ips(list(ep.addresses)),
      pod: ref?.kind === 'Pod' ? str(ref.name) : null,
      node: node && intern(node),
      // EndpointSlice API: a nil `ready` is to be read as ready.
      ready: ready !== false,
    });
  }
  const meta = obj(raw.metadata) ?? {};
  return {
    kind: 'EndpointSlice',
    metadata: base.metadata,
    labels: base.labels,
    created: base.created,
    owner: base.owner,
    service: str(obj(meta.labels)?.['kubernetes.io/service-name']),
    endpoints,
  };
}

// Each kind is built as one object literal, never by spreading a base: V8 gives objects made by a
// spread of many properties a map (hidden class) of their own once the spread site goes
// megamorphic, which cost ~500 bytes per pod in a 10,000-pod cluster.

/**
 * Cuts a Kubernetes object (as the API or `kubectl get -o json` gives it) down to a SlimObject.
 * `kind` is the object's kind when the object itself does not say (items of a typed list).
 * Returns null for kinds podwire does not read and for objects without a name.
 */
export function slim(raw: unknown, kind?: string): SlimObject | null {
  const o = obj(raw);
  if (!o) return null;
  const k = watchedKind(str(o.kind) ?? kind ?? '')?.kind;
  const meta = obj(o.metadata);
  const name = str(meta?.name);
  if (!k || !meta || !name) return null;
  const namespace = str(meta.namespace);
  const metadata: SlimMetadata = { name, uid: str(meta.uid) ?? `${k}/${namespace ?? ''}/${name}` };
  if (namespace) metadata.namespace = intern(namespace);
  const rv = str(meta.resourceVersion);
  if (rv) metadata.resourceVersion = rv;
  const base: SlimBase = {
    metadata,
    labels: labelsOf(meta),
    created: micros(meta.creationTimestamp) ?? 0,
    owner: ownerOf(meta),
  };
  switch (k as KindName) {
    case 'Pod':
      return slimPod(base, o);
    case 'Service':
      return slimService(base, o);
    case 'Node':
      return slimNode(base, o);
    case 'EndpointSlice':
      return slimEndpointSlice(base, o);
    default:
      return {
        kind: k as SlimWorkload['kind'],
        metadata: base.metadata,
        labels: base.labels,
        created: base.created,
        owner: base.owner,
      };
  }
}
