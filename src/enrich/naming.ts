/**
 * Enrichment and filtering as a command applies them between the pipeline and its output: name
 * each record's endpoints, keep the ones the filters admit. Streaming output asks per record;
 * output printed at the end lets `finish` wait for outside names first.
 */
import type { Entry } from '../dissect/entry.js';
import type { ConnectionRecord } from '../flows/connection.js';
import { Enricher, type ExternalNamer } from './enricher.js';
import type { ExternalNamerOptions } from './external/index.js';
import { EndpointFilter, FilterError, type FilterPatterns } from './filter.js';
import type { Resolver } from './identity.js';
import { loadSnapshots, SnapshotError } from './snapshot.js';

/** A mistake in the naming options (a snapshot that cannot be read, a bad pattern): the message says which. */
export class NamingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NamingError';
  }
}

export interface NamingOptions extends FilterPatterns {
  /** Cluster snapshot files (--k8s). */
  snapshots?: readonly string[];
  /** A resolver to use instead of snapshots (the agent's live model). */
  resolver?: Resolver | null;
  /** Names outside addresses (src/enrich/external/); none: they stay `external` without a name. */
  externalNamer?: ExternalNamer | null;
  /**
   * Or how to make one (reverse DNS, GeoIP files): `open()` does, and only with a cluster model,
   * since without one no address is known to be outside.
   */
  external?: Partial<ExternalNamerOptions> | null;
}

export class Naming {
  private enricher: Enricher;
  private readonly filter: EndpointFilter;

  private constructor(
    private readonly resolver: Resolver | null,
    private namer: ExternalNamer | null,
    filter: EndpointFilter,
    private readonly external: Partial<ExternalNamerOptions> | null,
  ) {
    this.enricher = new Enricher(resolver, namer);
    this.filter = filter;
  }

  /** Builds it from options; throws NamingError on a bad snapshot or pattern. */
  static create(options: NamingOptions): Naming {
    let filter: EndpointFilter;
    try {
      filter = new EndpointFilter(options);
    } catch (err) {
      if (err instanceof FilterError) throw new NamingError(err.message);
      throw err;
    }
    let resolver = options.resolver ?? null;
    if (options.snapshots?.length) {
      try {
        resolver = loadSnapshots(options.snapshots).model;
      } catch (err) {
        if (err instanceof SnapshotError) throw new NamingError(`--k8s ${err.message}`);
        throw err;
      }
    }
    if (!resolver && (options.namespaceInclude || options.namespaceExclude))
      throw new NamingError(
        `--namespace-${options.namespaceInclude ? 'include' : 'exclude'} needs to know namespaces: add --k8s SNAPSHOT`,
      );
    return new Naming(resolver, options.externalNamer ?? null, filter, options.external ?? null);
  }

  /**
   * Opens what takes I/O before records flow: the external namer from `external` (its GeoIP files).
   * Throws NamingError when a file or option is bad. Nothing to do without a cluster model.
   */
  async open(): Promise<void> {
    if (!this.external || !this.resolver || this.namer) return;
    // Loaded here: a run without a cluster model never needs the DNS and MaxMind code.
    const { createExternalNamer, ExternalNamerError } = await import('./external/index.js');
    try {
      this.namer = await createExternalNamer(this.external);
    } catch (err) {
      if (err instanceof ExternalNamerError) throw new NamingError(err.message);
      throw err;
    }
    this.enricher = new Enricher(this.resolver, this.namer);
  }

  /** Names the entry's endpoints; true when the filters keep it. */
  entry(e: Entry): boolean {
    this.enricher.entry(e);
    return this.filter.empty || this.filter.admits(e.src, e.dst);
  }

  /** Names the connection's endpoints; true when the filters keep it. */
  connection(c: ConnectionRecord): boolean {
    this.enricher.connection(c);
    return this.filter.empty || this.filter.admits(c.src, c.dst);
  }

  /**
   * For output printed at the end: waits for outside names (bounded by the namer's timeout), then
   * removes from both arrays, in place, the records the filters do not keep.
   */
  async finish(entries: Entry[], connections: ConnectionRecord[]): Promise<void> {
    await this.enricher.settle(entries, connections);
    if (this.filter.empty) return;
    keep(entries, (e) => this.filter.admits(e.src, e.dst));
    keep(connections, (c) => this.filter.admits(c.src, c.dst));
  }

  close(): void {
    this.enricher.close();
  }
}

function keep<T>(list: T[], admits: (x: T) => boolean): void {
  let n = 0;
  for (const x of list) if (admits(x)) list[n++] = x;
  list.length = n;
}
