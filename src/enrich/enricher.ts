/**
 * Names the endpoints of entries and connection records: the Kubernetes identity the address had
 * at the record's time (an entry's request start, a connection's first packet), else `external`,
 * named by the external namer (reverse DNS, GeoIP) when there is one. Runs after the pipeline:
 * dissectors and the tracker never see Kubernetes.
 *
 * Connection records get the same endpoint fields as entries (`src.name`, `src.namespace`,
 * `src.kind`, `src.workload`, `src.node`), filled on their own `src`/`dst` objects, so a query or
 * a reader uses one set of names for both.
 */
import type { Entry, EntryEndpoint } from '../dissect/entry.js';
import type { ConnectionRecord, Endpoint } from '../flows/connection.js';
import type { ExternalName, ExternalNamer } from './external/index.js';
import type { Identity, Resolver } from './identity.js';

export type { ExternalName, ExternalNamer };

type Named = Pick<EntryEndpoint, 'name' | 'namespace' | 'kind' | 'workload' | 'node'>;

/** Kubernetes' recommended labels, the ones a connection record's endpoints carry (Endpoint.labels). */
export const RECOMMENDED_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/component',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
] as const;

/**
 * An identity's recommended labels, or null when it has none. The model shares one frozen labels
 * object among the pods of a workload (src/enrich/objects.ts), so the subset is made once per set.
 */
const recommendedOf = new WeakMap<object, Readonly<Record<string, string>> | null>();
function recommended(labels: Readonly<Record<string, string>>): Readonly<Record<string, string>> | null {
  let r = recommendedOf.get(labels);
  if (r === undefined) {
    const out: Record<string, string> = {};
    let any = false;
    for (const k of RECOMMENDED_LABELS) {
      const v = labels[k];
      if (typeof v === 'string') {
        out[k] = v;
        any = true;
      }
    }
    r = any ? Object.freeze(out) : null;
    recommendedOf.set(labels, r);
  }
  return r;
}

function identityFields(id: Identity): Named {
  const f: Named = { name: id.name, kind: id.kind };
  if (id.namespace !== null) f.namespace = id.namespace;
  if (id.workload !== null) f.workload = id.workload;
  if (id.node !== null) f.node = id.node;
  return f;
}

export class Enricher {
  constructor(
    private readonly resolver: Resolver | null,
    private readonly namer: ExternalNamer | null = null,
  ) {}

  /** Whether enrichment does anything (a cluster model or an external namer is set). */
  get active(): boolean {
    return this.resolver !== null || this.namer !== null;
  }

  /** Names an entry's endpoints. New endpoint objects: entries of a connection share theirs. */
  entry(e: Entry): void {
    if (!this.active) return;
    e.src = { ip: e.src.ip, port: e.src.port, ...this.fields(e.src.ip, e.src.port, e.timestamp) };
    e.dst = { ip: e.dst.ip, port: e.dst.port, ...this.fields(e.dst.ip, e.dst.port, e.timestamp) };
  }

  /** Names a connection record's endpoints (its own objects, filled in place). */
  connection(c: ConnectionRecord): void {
    if (!this.active) return;
    this.nameEndpoint(c.src, c.start);
    this.nameEndpoint(c.dst, c.start);
  }

  /** A connection endpoint's fields, and its object's recommended labels (for kube-netc's series). */
  private nameEndpoint(ep: Endpoint, ts: number): void {
    const id = this.resolver?.resolve(ep.ip, ep.port, ts) ?? null;
    Object.assign(ep, id ? identityFields(id) : this.outsideFields(ep.ip));
    const labels = id ? recommended(id.labels) : null;
    if (labels) ep.labels = labels;
    else delete ep.labels;
  }

  /**
   * For output printed at the end (table, json): waits for the external namer's answers on the
   * addresses these records name external, then names those endpoints again with what it found.
   */
  async settle(entries: readonly Entry[], connections: readonly ConnectionRecord[]): Promise<void> {
    if (!this.namer) return;
    // Outside addresses: `external` ones, or any without a name when there is no cluster model.
    const outside = (ep: Endpoint | EntryEndpoint) => ep.kind === 'external' || (!ep.kind && !ep.name);
    const externals = new Set<string>();
    for (const x of [...entries, ...connections]) {
      if (outside(x.src)) externals.add(x.src.ip);
      if (outside(x.dst)) externals.add(x.dst.ip);
    }
    if (externals.size === 0) return;
    await this.namer.settle(externals);
    const again = (ep: Endpoint | EntryEndpoint) => {
      if (!outside(ep)) return;
      const dns = this.namer?.peek(ep.ip)?.dns;
      if (dns) ep.name = dns;
    };
    for (const e of entries) {
      again(e.src);
      again(e.dst);
    }
    for (const c of connections) {
      again(c.src);
      again(c.dst);
    }
  }

  close(): void {
    this.namer?.close();
  }

  private fields(ip: string, port: number, ts: number): Named {
    const id = this.resolver?.resolve(ip, port, ts) ?? null;
    return id ? identityFields(id) : this.outsideFields(ip);
  }

  /** An address the cluster model does not know (or any address, without a model). */
  private outsideFields(ip: string): Named {
    const dns = this.namer?.peek(ip)?.dns;
    // No cluster model: whether an address is the cluster's is unknown, so no kind; a DNS name if any.
    if (this.resolver === null) return dns ? { name: dns } : {};
    return dns ? { name: dns, kind: 'external' } : { kind: 'external' };
  }
}
