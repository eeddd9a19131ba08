/**
 * The cluster model: which object held which address when. Fed by informers (live) or a snapshot
 * file (offline), read by `resolve(ip, port, tsMicros)` on every entry and connection.
 *
 * An address maps to a slot holding everything that ever had it, each with a lifetime
 * [start, end): pods (a reused pod IP keeps the earlier pods until they expire), host ports of
 * hostNetwork and hostPort pods, Services (ClusterIPs, externalIPs, load-balancer IPs) and nodes.
 * Resolution is one Map lookup and a scan of a handful of lifetimes; identities are built once
 * and shared, so a lookup allocates nothing.
 */
import type { Identity, Resolver } from './identity.js';
import type {
  OwnerRef,
  SlimEndpointSlice,
  SlimNode,
  SlimObject,
  SlimPod,
  SlimService,
  SlimWorkload,
} from './objects.js';

export type ModelEvent = 'add' | 'update' | 'delete';

export interface ModelOptions {
  /** How long an ended lifetime is kept for late lookups (µs); `expire` drops older ones. Default 15 min. */
  retentionMicros?: number;
  /** Lifetimes kept per address and kind of holder; the oldest ended one goes first. Default 8. */
  maxPerAddress?: number;
}

/**
 * Clock skew tolerated between the capture's clock and the API server's timestamps (µs): a lookup
 * that falls in no lifetime is retried with each lifetime widened by this much on both sides.
 */
export const CLOCK_SKEW_MICROS = 2_000_000;

const NONE: readonly never[] = Object.freeze([]);

interface Lifetime {
  start: number;
  /** Infinity while the holder exists. */
  end: number;
}

class PodState implements Lifetime {
  start: number;
  end = Number.POSITIVE_INFINITY;
  /** Built for `gen`; rebuilt when owners change (ended pods keep theirs). */
  identity: Identity | null = null;
  gen = -1;
  /** Where the pod is registered: slot IPs, and host-port bindings as `ip|port`. */
  ips: readonly string[] = NONE;
  bindings: readonly string[] = NONE;
  /** Dropped by `expire`: a finished pod object that lingers is not registered again. */
  expired = false;
  constructor(public slim: SlimPod) {
    this.start = slim.start;
  }
}

class ServiceState implements Lifetime {
  start: number;
  end = Number.POSITIVE_INFINITY;
  identity: Identity | null = null;
  gen = -1;
  ips: readonly string[] = NONE;
  constructor(public slim: SlimService) {
    this.start = slim.created;
  }
}

class NodeState implements Lifetime {
  start: number;
  end = Number.POSITIVE_INFINITY;
  identity: Identity;
  ips: readonly string[] = NONE;
  constructor(public slim: SlimNode) {
    this.start = slim.created;
    this.identity = nodeIdentity(slim);
  }
}

interface Binding {
  port: number;
  pod: PodState;
}

class Slot {
  pods: PodState[] | null = null;
  bindings: Binding[] | null = null;
  services: ServiceState[] | null = null;
  nodes: NodeState[] | null = null;

  get empty(): boolean {
    return !this.pods?.length && !this.bindings?.length && !this.services?.length && !this.nodes?.length;
  }
}

/** The holder whose lifetime contains ts (latest start wins), else the same within the clock skew. */
function pick<T extends Lifetime>(list: T[], ts: number): T | null {
  let best: T | null = null;
  let near: T | null = null;
  for (let i = 0; i < list.length; i++) {
    const h = list[i]!;
    if (h.start <= ts && ts < h.end) {
      if (best === null || h.start > best.start) best = h;
    } else if (best === null && h.start - CLOCK_SKEW_MICROS <= ts && ts < h.end + CLOCK_SKEW_MICROS) {
      if (near === null || h.start > near.start) near = h;
    }
  }
  return best ?? near;
}

function pickBinding(list: Binding[], port: number, ts: number): PodState | null {
  let best: PodState | null = null;
  let near: PodState | null = null;
  for (let i = 0; i < list.length; i++) {
    const b = list[i]!;
    if (b.port !== port) continue;
    const h = b.pod;
    if (h.start <= ts && ts < h.end) {
      if (best === null || h.start > best.start) best = h;
    } else if (best === null && h.start - CLOCK_SKEW_MICROS <= ts && ts < h.end + CLOCK_SKEW_MICROS) {
      if (near === null || h.start > near.start) near = h;
    }
  }
  return best ?? near;
}

/**
 * Adds `h` to a bounded list of lifetimes (made on first use), dropping the one that ended first
 * when full; returns the list. Lists start as a one-element literal: `[].push` reserves 16 more slots.
 */
function addBounded<T extends Lifetime>(list: T[] | null, h: T, max: number): T[] {
  if (list === null) return [h];
  if (list.includes(h)) return list;
  if (list.length >= max) {
    let victim = 0;
    for (let i = 1; i < list.length; i++) {
      const a = list[i]!;
      const v = list[victim]!;
      if (a.end < v.end || (a.end === v.end && a.start < v.start)) victim = i;
    }
    list.splice(victim, 1);
  }
  list.push(h);
  return list;
}

function remove<T>(list: T[] | null, match: (x: T) => boolean): void {
  if (!list) return;
  for (let i = list.length - 1; i >= 0; i--) if (match(list[i]!)) list.splice(i, 1);
}

function nodeIdentity(n: SlimNode): Identity {
  return Object.freeze({
    name: n.metadata.name,
    namespace: null,
    kind: 'node',
    workload: null,
    workloadKind: null,
    node: n.metadata.name,
    labels: n.labels,
  });
}

function ownerKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export interface Backend {
  ip: string;
  pod: string | null;
  node: string | null;
  ready: boolean;
}

export interface ModelStats {
  pods: number;
  services: number;
  nodes: number;
  endpointSlices: number;
  workloads: number;
  /** Addresses with at least one holder (current or remembered). */
  addresses: number;
}

export class ClusterModel implements Resolver {
  private readonly slots = new Map<string, Slot>();
  private readonly pods = new Map<string, PodState>();
  /** Current pods by namespace, then name (no key strings built per pod). */
  private readonly podsByName = new Map<string, Map<string, PodState>>();
  private readonly services = new Map<string, ServiceState>();
  private readonly servicesByName = new Map<string, ServiceState>();
  private readonly nodes = new Map<string, NodeState>();
  private readonly nodesByName = new Map<string, NodeState>();
  private readonly slices = new Map<string, SlimEndpointSlice>();
  private readonly slicesByService = new Map<string, Set<string>>();
  /** Workload objects by kind/namespace/name: their controlling owner, or null at the top. */
  private readonly owners = new Map<string, OwnerRef | null>();
  /** Ended holders, in the order they ended, for `expire`. */
  private ended: (PodState | ServiceState | NodeState)[] = [];
  /** Bumped when owners change (pod workloads) and when slices change (service workloads). */
  private ownersGen = 0;
  private slicesGen = 0;
  private readonly retention: number;
  private readonly maxPerAddress: number;

  constructor(options: ModelOptions = {}) {
    this.retention = options.retentionMicros ?? 15 * 60 * 1_000_000;
    this.maxPerAddress = options.maxPerAddress ?? 8;
  }

  resolve(ip: string, port: number, tsMicros: number): Identity | null {
    const slot = this.slots.get(ip);
    if (slot === undefined) return null;
    if (slot.bindings !== null) {
      const p = pickBinding(slot.bindings, port, tsMicros);
      if (p !== null) return this.podIdentity(p);
    }
    if (slot.pods !== null) {
      const p = pick(slot.pods, tsMicros);
      if (p !== null) return this.podIdentity(p);
    }
    if (slot.services !== null) {
      const s = pick(slot.services, tsMicros);
      if (s !== null) return this.serviceIdentity(s);
    }
    if (slot.nodes !== null) {
      const n = pick(slot.nodes, tsMicros);
      if (n !== null) return n.identity;
    }
    return null;
  }

  /**
   * Applies one object change. `observedAt` (µs) is when it was seen: it ends the lifetime of a
   * deleted object (and of a finished pod whose status gives no finish time).
   */
  apply(event: ModelEvent, o: SlimObject, observedAt: number): void {
    switch (o.kind) {
      case 'Pod':
        if (event === 'delete') this.deletePod(o, observedAt);
        else this.upsertPod(o, observedAt);
        return;
      case 'Service':
        if (event === 'delete') this.deleteService(o, observedAt);
        else this.upsertService(o, observedAt);
        return;
      case 'Node':
        if (event === 'delete') this.deleteNode(o, observedAt);
        else this.upsertNode(o, observedAt);
        return;
      case 'EndpointSlice':
        this.applySlice(event, o);
        return;
      default:
        this.applyWorkload(event, o);
    }
  }

  /** Forgets holders that ended more than the retention before `nowMicros`. */
  expire(nowMicros: number): void {
    const limit = nowMicros - this.retention;
    let n = 0;
    // `ended` is in the order lifetimes ended as observed; one that ended earlier by its status
    // (a finished pod) may sit behind a later one and waits for it, which only delays it.
    while (n < this.ended.length && this.ended[n]!.end < limit) n++;
    if (n === 0) return;
    for (const h of this.ended.slice(0, n)) this.unregister(h);
    this.ended = this.ended.slice(n);
  }

  /** The endpoints of a Service, from its EndpointSlices (for the service map). */
  backends(namespace: string, service: string): Backend[] {
    const out: Backend[] = [];
    for (const uid of this.slicesByService.get(`${namespace}/${service}`) ?? []) {
      const s = this.slices.get(uid);
      if (!s) continue;
      for (const e of s.endpoints)
        for (const ip of e.ips) out.push({ ip, pod: e.pod, node: e.node, ready: e.ready });
    }
    return out;
  }

  /** The pods that exist now, with their addresses (for the agent: which interfaces to capture). */
  *currentPods(): Iterable<{ name: string; namespace: string; node: string | null; ips: readonly string[] }> {
    for (const p of this.pods.values()) {
      yield {
        name: p.slim.metadata.name,
        namespace: p.slim.metadata.namespace ?? '',
        node: p.slim.node,
        ips: p.slim.ips,
      };
    }
  }

  stats(): ModelStats {
    return {
      pods: this.pods.size,
      services: this.services.size,
      nodes: this.nodes.size,
      endpointSlices: this.slices.size,
      workloads: this.owners.size,
      addresses: this.slots.size,
    };
  }

  // Pods

  private upsertPod(o: SlimPod, observedAt: number): void {
    const ns = o.metadata.namespace ?? '';
    let st = this.pods.get(o.metadata.uid);
    if (!st) {
      // A pod recreated under the same name (a StatefulSet's) while the watch was down shows up in
      // the relist as the same name with a new uid: the old one is gone.
      const prev = this.podByName(ns, o.metadata.name);
      if (prev && this.pods.get(prev.slim.metadata.uid) === prev) this.deletePod(prev.slim, observedAt);
      st = new PodState(o);
      this.pods.set(o.metadata.uid, st);
    } else {
      st.slim = o;
      st.start = o.start;
      st.gen = -1;
    }
    let names = this.podsByName.get(ns);
    if (!names) {
      names = new Map();
      this.podsByName.set(ns, names);
    }
    names.set(o.metadata.name, st);
    if (o.terminal && st.end === Number.POSITIVE_INFINITY) {
      st.end = o.finished ?? observedAt;
      this.ended.push(st);
    }
    if (st.expired) return;
    // A hostNetwork pod shares the node's addresses: it is found by its ports there, never by IP alone.
    const ips = o.hostNetwork ? NONE : o.ips;
    let bindings: readonly string[] = NONE;
    if (o.hostPorts.length || o.hostNetwork) {
      const b: string[] = [];
      if (o.hostNetwork) for (const ip of o.ips) for (const p of o.containerPorts) b.push(`${ip}|${p}`);
      for (const ip of o.hostIps) for (const p of o.hostPorts) b.push(`${ip}|${p}`);
      bindings = b;
    }
    this.registerPod(st, ips, bindings);
  }

  private deletePod(o: SlimPod, observedAt: number): void {
    const st = this.pods.get(o.metadata.uid);
    if (!st) return;
    this.pods.delete(o.metadata.uid);
    const names = this.podsByName.get(o.metadata.namespace ?? '');
    if (names?.get(o.metadata.name) === st) {
      names.delete(o.metadata.name);
      if (names.size === 0) this.podsByName.delete(o.metadata.namespace ?? '');
    }
    if (st.end === Number.POSITIVE_INFINITY) {
      st.end = observedAt;
      this.ended.push(st);
    }
    // The final state may carry addresses the pod got late (a delete right after scheduling).
    if (!st.ips.length && !st.bindings.length && o.ips.length) {
      st.slim = o;
      this.registerPod(st, o.hostNetwork ? NONE : o.ips, NONE);
    }
  }

  private podByName(namespace: string, name: string): PodState | undefined {
    return this.podsByName.get(namespace)?.get(name);
  }

  private registerPod(st: PodState, ips: readonly string[], bindings: readonly string[]): void {
    for (const ip of st.ips) if (!ips.includes(ip)) remove(this.slots.get(ip)?.pods ?? null, (p) => p === st);
    for (const b of st.bindings) {
      if (bindings.includes(b)) continue;
      const [ip] = b.split('|');
      remove(this.slots.get(ip!)?.bindings ?? null, (x) => x.pod === st);
    }
    for (const ip of ips) {
      const slot = this.slot(ip);
      slot.pods = addBounded(slot.pods, st, this.maxPerAddress);
    }
    for (const b of bindings) {
      if (st.bindings.includes(b)) continue;
      const [ip, port] = b.split('|');
      const slot = this.slot(ip!);
      const binding = { port: Number(port), pod: st };
      if (slot.bindings === null) {
        slot.bindings = [binding];
        continue;
      }
      // Bounded like the other lists: drop the binding of the pod that ended first.
      const same = slot.bindings.filter((x) => x.port === binding.port);
      if (same.length >= this.maxPerAddress) {
        const victim = same.reduce((a, x) => (x.pod.end < a.pod.end ? x : a));
        slot.bindings.splice(slot.bindings.indexOf(victim), 1);
      }
      slot.bindings.push(binding);
    }
    st.ips = ips;
    st.bindings = bindings;
  }

  private podIdentity(p: PodState): Identity {
    if (p.identity !== null && (p.gen === this.ownersGen || p.end !== Number.POSITIVE_INFINITY))
      return p.identity;
    const s = p.slim;
    const w = this.workloadOf(s);
    p.identity = Object.freeze({
      name: s.metadata.name,
      namespace: s.metadata.namespace ?? null,
      kind: 'pod',
      workload: w.name,
      workloadKind: w.kind,
      node: s.node,
      labels: s.labels,
    });
    p.gen = this.ownersGen;
    return p.identity;
  }

  /**
   * The top of a pod's owner chain. Owners not (yet) known are named from the reference itself; a
   * ReplicaSet missing from the model is read as its Deployment when its name ends with the pod's
   * pod-template-hash, as the Deployment controller names it.
   */
  private workloadOf(s: SlimPod): { name: string; kind: string } {
    const ns = s.metadata.namespace ?? '';
    let ref = s.owner;
    // A mirror pod (static pod) is "owned" by its Node: the pod is its own workload.
    if (!ref || ref.kind === 'Node') return { name: s.metadata.name, kind: 'Pod' };
    for (let depth = 0; depth < 8; depth++) {
      const key = ownerKey(ref.kind, ns, ref.name);
      if (!this.owners.has(key)) {
        if (ref.kind === 'ReplicaSet' && s.templateHash && ref.name.endsWith(`-${s.templateHash}`))
          return { name: ref.name.slice(0, -s.templateHash.length - 1), kind: 'Deployment' };
        break;
      }
      const up = this.owners.get(key);
      if (!up) break;
      ref = up;
    }
    return { name: ref.name, kind: ref.kind };
  }

  // Services

  private upsertService(o: SlimService, observedAt: number): void {
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    let st = this.services.get(o.metadata.uid);
    if (!st) {
      const prev = this.servicesByName.get(key);
      if (prev && this.services.get(prev.slim.metadata.uid) === prev)
        this.deleteService(prev.slim, observedAt);
      st = new ServiceState(o);
      this.services.set(o.metadata.uid, st);
      this.servicesByName.set(key, st);
    }
    st.slim = o;
    st.gen = -1;
    for (const ip of st.ips)
      if (!o.ips.includes(ip)) remove(this.slots.get(ip)?.services ?? null, (x) => x === st);
    for (const ip of o.ips) {
      const slot = this.slot(ip);
      slot.services = addBounded(slot.services, st, this.maxPerAddress);
    }
    st.ips = o.ips;
  }

  private deleteService(o: SlimService, observedAt: number): void {
    const st = this.services.get(o.metadata.uid);
    if (!st) return;
    this.services.delete(o.metadata.uid);
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (this.servicesByName.get(key) === st) this.servicesByName.delete(key);
    st.end = observedAt;
    this.ended.push(st);
  }

  private serviceIdentity(s: ServiceState): Identity {
    const gen = this.ownersGen + this.slicesGen;
    if (s.identity !== null && (s.gen === gen || s.end !== Number.POSITIVE_INFINITY)) return s.identity;
    const o = s.slim;
    const ns = o.metadata.namespace ?? '';
    // The workload behind the Service, when all its endpoints belong to one.
    let w: { name: string; kind: string } | null = null;
    let mixed = false;
    for (const uid of this.slicesByService.get(`${ns}/${o.metadata.name}`) ?? []) {
      for (const e of this.slices.get(uid)?.endpoints ?? []) {
        const pod = e.pod ? this.podByName(ns, e.pod) : undefined;
        if (!pod) continue;
        const pw = this.workloadOf(pod.slim);
        if (w === null) w = pw;
        else if (w.name !== pw.name || w.kind !== pw.kind) mixed = true;
      }
    }
    if (mixed) w = null;
    s.identity = Object.freeze({
      name: o.metadata.name,
      namespace: o.metadata.namespace ?? null,
      kind: 'service',
      workload: w?.name ?? null,
      workloadKind: w?.kind ?? null,
      node: null,
      labels: o.labels,
    });
    s.gen = gen;
    return s.identity;
  }

  // Nodes

  private upsertNode(o: SlimNode, observedAt: number): void {
    let st = this.nodes.get(o.metadata.uid);
    if (!st) {
      const prev = this.nodesByName.get(o.metadata.name);
      if (prev && this.nodes.get(prev.slim.metadata.uid) === prev) this.deleteNode(prev.slim, observedAt);
      st = new NodeState(o);
      this.nodes.set(o.metadata.uid, st);
      this.nodesByName.set(o.metadata.name, st);
    } else {
      st.slim = o;
      st.identity = nodeIdentity(o);
    }
    for (const ip of st.ips)
      if (!o.ips.includes(ip)) remove(this.slots.get(ip)?.nodes ?? null, (x) => x === st);
    for (const ip of o.ips) {
      const slot = this.slot(ip);
      slot.nodes = addBounded(slot.nodes, st, this.maxPerAddress);
    }
    st.ips = o.ips;
  }

  private deleteNode(o: SlimNode, observedAt: number): void {
    const st = this.nodes.get(o.metadata.uid);
    if (!st) return;
    this.nodes.delete(o.metadata.uid);
    if (this.nodesByName.get(o.metadata.name) === st) this.nodesByName.delete(o.metadata.name);
    st.end = observedAt;
    this.ended.push(st);
  }

  // EndpointSlices and workloads

  private applySlice(event: ModelEvent, o: SlimEndpointSlice): void {
    // By name, as the watch cache keys them: a slice recreated under its name replaces the old one.
    const uid = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const old = this.slices.get(uid);
    if (old?.service) {
      const key = `${old.metadata.namespace ?? ''}/${old.service}`;
      this.slicesByService.get(key)?.delete(uid);
      if (this.slicesByService.get(key)?.size === 0) this.slicesByService.delete(key);
    }
    if (event === 'delete') {
      this.slices.delete(uid);
    } else {
      this.slices.set(uid, o);
      if (o.service) {
        const key = `${o.metadata.namespace ?? ''}/${o.service}`;
        const set = this.slicesByService.get(key) ?? new Set<string>();
        this.slicesByService.set(key, set);
        set.add(uid);
      }
    }
    this.slicesGen++;
  }

  private applyWorkload(event: ModelEvent, o: SlimWorkload): void {
    const key = ownerKey(o.kind, o.metadata.namespace ?? '', o.metadata.name);
    if (event === 'delete') {
      if (this.owners.delete(key)) this.ownersGen++;
      return;
    }
    const before = this.owners.get(key);
    const owner = o.owner;
    if (before === undefined || before?.kind !== owner?.kind || before?.name !== owner?.name) {
      this.owners.set(key, owner);
      this.ownersGen++;
    }
  }

  // Slots

  private slot(ip: string): Slot {
    let s = this.slots.get(ip);
    if (!s) {
      s = new Slot();
      this.slots.set(ip, s);
    }
    return s;
  }

  private unregister(h: PodState | ServiceState | NodeState): void {
    const ips = h.ips;
    h.ips = NONE;
    for (const ip of ips) {
      const slot = this.slots.get(ip);
      if (!slot) continue;
      if (h instanceof PodState) remove(slot.pods, (x) => x === h);
      else if (h instanceof ServiceState) remove(slot.services, (x) => x === h);
      else remove(slot.nodes, (x) => x === h);
      if (slot.empty) this.slots.delete(ip);
    }
    if (h instanceof PodState) {
      h.expired = true;
      const bindings = h.bindings;
      h.bindings = NONE;
      for (const b of bindings) {
        const [ip] = b.split('|');
        const slot = this.slots.get(ip!);
        if (!slot) continue;
        remove(slot.bindings, (x) => x.pod === h);
        if (slot.empty) this.slots.delete(ip!);
      }
    }
  }
}
