/**
 * A stand-in Kubernetes API server for tests: no real one can run on this machine. It speaks the
 * parts of the API protocol an informer uses, as the Kubernetes API concepts document describes
 * them (https://kubernetes.io/docs/reference/using-api/api-concepts/):
 *
 * - GET a collection (`/api/v1/pods`, `/apis/apps/v1/namespaces/shop/replicasets`...) returns a
 *   typed list (`PodList`) whose `metadata.resourceVersion` is the store's revision; items carry no
 *   kind or apiVersion, as the real server sends them. `limit` cuts it into pages with a
 *   `continue` token (and `remainingItemCount`), served from the list's consistent snapshot.
 * - `?watch=true|1&resourceVersion=N` streams, chunked, one JSON event per line
 *   (`{"type":"ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR","object":...}`): every change after
 *   N, then changes as they happen. Without a resourceVersion (or "0") it first sends the current
 *   objects as ADDED. `allowWatchBookmarks=true` lets `bookmark()` send BOOKMARKs; `timeoutSeconds`
 *   ends the stream.
 * - A resourceVersion older than the last `compact()` gets `410 Gone`: on a watch, an ERROR event
 *   holding a Status with code 410 (reason Expired), then the stream ends; on a continue token,
 *   HTTP 410.
 * - Requests must carry the bearer token of the kubeconfig `kubeconfig()` writes (else 401).
 *
 * Tests change the cluster with create/update/remove, break watches with `dropWatches` (mid-line
 * if asked), end them with a 410 with `expireWatches`, make requests fail with `failNext`, and
 * read `log`, one line per request.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** The resources the server serves (the server's own table, independent of podwire's). */
const RESOURCES: Resource[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  {
    group: 'discovery.k8s.io',
    version: 'v1',
    plural: 'endpointslices',
    kind: 'EndpointSlice',
    namespaced: true,
  },
  { group: 'apps', version: 'v1', plural: 'replicasets', kind: 'ReplicaSet', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true },
  { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', namespaced: true },
];

export interface LoggedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  status: number;
  watch: boolean;
  at: number;
}

interface StoredEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: Resource;
  object: Obj;
}

interface Watcher {
  res: ServerResponse;
  resource: Resource;
  namespace: string | null;
  bookmarks: boolean;
  timer: NodeJS.Timeout | null;
}

interface Continuation {
  resource: Resource;
  rv: number;
  items: Obj[];
}

function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function statusObject(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function clone<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

export class ApiServer {
  readonly log: LoggedRequest[] = [];
  readonly token = `podwire-test-${randomUUID()}`;
  private server: Server | null = null;
  private port = 0;
  /** The store's revision (etcd's): every change takes the next one. */
  private revision = 1000;
  private compacted = 0;
  private readonly store = new Map<Resource, Map<string, Obj>>();
  private events: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly continuations = new Map<string, Continuation>();
  private failures: { match: (path: string, watch: boolean) => boolean; status: number; left: number }[] = [];
  /** Called with each request before it is answered (a test can change the cluster at that moment). */
  onRequest: ((r: LoggedRequest) => void) | null = null;

  constructor() {
    for (const r of RESOURCES) this.store.set(r, new Map());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get resourceVersion(): string {
    return String(this.revision);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) this.endWatch(w, true);
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  /** Writes a kubeconfig for this server (plain http, so insecure-skip-tls-verify as the client requires). */
  kubeconfig(dir: string, name = 'kubeconfig'): string {
    const path = join(dir, name);
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: standin',
        '  cluster:',
        `    server: ${this.url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: tester',
        '  user:',
        `    token: ${this.token}`,
        'contexts:',
        '- name: standin',
        '  context:',
        '    cluster: standin',
        '    user: tester',
        '    namespace: default',
        'current-context: standin',
        '',
      ].join('\n'),
    );
    return path;
  }

  // The cluster

  /** Stores objects as they are (their resourceVersions renumbered), without watch events: the state before a test. */
  load(objects: Obj[]): void {
    for (const o of objects) {
      const r = this.resourceOfKind(o.kind);
      const c = clone(o);
      c.metadata.uid ??= randomUUID();
      c.metadata.resourceVersion = String(++this.revision);
      this.store.get(r)!.set(this.key(c), c);
    }
  }

  create(o: Obj): Obj {
    const r = this.resourceOfKind(o.kind);
    const c = clone(o);
    if (this.store.get(r)!.has(this.key(c))) throw new Error(`${o.kind} ${this.key(c)} exists`);
    c.metadata.uid ??= randomUUID();
    c.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    this.change(r, 'ADDED', c);
    return clone(c);
  }

  update(o: Obj): Obj {
    const r = this.resourceOfKind(o.kind);
    const c = clone(o);
    const old = this.store.get(r)!.get(this.key(c));
    if (!old) throw new Error(`${o.kind} ${this.key(c)} does not exist`);
    c.metadata.uid = old.metadata.uid;
    this.change(r, 'MODIFIED', c);
    return clone(c);
  }

  remove(kind: string, namespace: string | undefined, name: string): void {
    const r = this.resourceOfKind(kind);
    const key = `${r.namespaced ? (namespace ?? '') : ''}/${name}`;
    const old = this.store.get(r)!.get(key);
    if (!old) throw new Error(`${kind} ${key} does not exist`);
    this.change(r, 'DELETED', clone(old));
  }

  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    const r = this.resourceOfKind(kind);
    const o = this.store.get(r)!.get(`${r.namespaced ? (namespace ?? '') : ''}/${name}`);
    return o ? clone(o) : undefined;
  }

  /** Every stored object of a kind. */
  list(kind: string): Obj[] {
    return [...this.store.get(this.resourceOfKind(kind))!.values()].map(clone);
  }

  // Failures

  /**
   * Forgets history before the current revision, as etcd's compaction does: a watch from an older
   * resourceVersion, or a continue token of a list taken before, gets 410 Gone.
   */
  compact(): void {
    this.compacted = this.revision;
    this.events = [];
  }

  /** Sends a BOOKMARK (the current resourceVersion) to every watch that allowed bookmarks. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      this.send(w, {
        type: 'BOOKMARK',
        object: {
          kind: w.resource.kind,
          apiVersion: apiVersionOf(w.resource),
          metadata: { resourceVersion: String(this.revision) },
        },
      });
    }
  }

  /**
   * Breaks every open watch connection (the socket is destroyed, no chunked terminator). With
   * `midLine`, half an event line is written first, as when a connection dies mid-write.
   */
  dropWatches(options: { midLine?: boolean } = {}): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) {
      if (options.midLine)
        w.res.write('{"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"na');
      this.endWatch(w, true);
    }
    return n;
  }

  /** Ends every open watch with a 410 ERROR event, as the server does when a watcher falls too far behind. */
  expireWatches(): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) {
      this.send(w, {
        type: 'ERROR',
        object: statusObject(
          410,
          'Expired',
          `too old resource version: ${this.compacted} (${this.revision})`,
        ),
      });
      this.endWatch(w, false);
    }
    return n;
  }

  /** The next `times` requests matching answer `status` with a Status body. */
  failNext(match: (path: string, watch: boolean) => boolean, status: number, times = 1): void {
    this.failures.push({ match, status, left: times });
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  /** The collections being watched now, one line per open watch. */
  openWatchPaths(): string[] {
    return [...this.watchers].map((w) => `${w.resource.plural}${w.namespace ? ` in ${w.namespace}` : ''}`);
  }

  // HTTP

  private handle(req: IncomingMessage, res: ServerResponse): undefined {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const watch = query.watch === 'true' || query.watch === '1';
    const entry: LoggedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query,
      status: 0,
      watch,
      at: Date.now(),
    };
    this.log.push(entry);
    this.onRequest?.(entry);
    const reply = (status: number, body: unknown): undefined => {
      entry.status = status;
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return reply(401, statusObject(401, 'Unauthorized', 'Unauthorized'));
    if (req.method !== 'GET') return reply(405, statusObject(405, 'MethodNotAllowed', 'only GET is served'));
    const route = this.route(url.pathname);
    if (!route)
      return reply(404, statusObject(404, 'NotFound', 'the server could not find the requested resource'));
    const failure = this.failures.find((f) => f.left > 0 && f.match(url.pathname, watch));
    if (failure) {
      failure.left--;
      return reply(failure.status, statusObject(failure.status, 'InternalError', 'injected failure'));
    }
    if (watch) return this.watch(route.resource, route.namespace, query, res, entry);
    this.listCollection(route.resource, route.namespace, query, reply);
    return undefined;
  }

  private route(path: string): { resource: Resource; namespace: string | null } | null {
    const core = /^\/api\/(v1)\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/.exec(path);
    const named = /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/.exec(path);
    let group = '';
    let version: string;
    let namespace: string | null;
    let plural: string;
    if (core) {
      version = core[1]!;
      namespace = core[2] ?? null;
      plural = core[3]!;
    } else if (named) {
      group = named[1]!;
      version = named[2]!;
      namespace = named[3] ?? null;
      plural = named[4]!;
    } else return null;
    const resource = RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
    if (!resource || (namespace && !resource.namespaced)) return null;
    return { resource, namespace };
  }

  private listCollection(
    r: Resource,
    namespace: string | null,
    query: Record<string, string>,
    reply: (status: number, body: unknown) => undefined,
  ): undefined {
    const limit = query.limit ? Number(query.limit) : 0;
    let c: Continuation;
    let offset = 0;
    if (query.continue) {
      let token: { id: string; offset: number };
      try {
        token = JSON.parse(Buffer.from(query.continue, 'base64').toString());
      } catch {
        return reply(400, statusObject(400, 'BadRequest', 'continue key is not valid'));
      }
      const found = this.continuations.get(token.id);
      if (!found || found.rv < this.compacted)
        return reply(
          410,
          statusObject(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          ),
        );
      c = found;
      offset = token.offset;
    } else {
      const items = [...this.store.get(r)!.values()]
        .filter((o) => !namespace || o.metadata.namespace === namespace)
        .sort((a, b) => this.key(a).localeCompare(this.key(b)));
      c = { resource: r, rv: this.revision, items };
    }
    const end = limit > 0 ? Math.min(c.items.length, offset + limit) : c.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(c.rv) };
    if (end < c.items.length) {
      const id = randomUUID();
      this.continuations.set(id, c);
      metadata.continue = Buffer.from(JSON.stringify({ id, offset: end })).toString('base64');
      metadata.remainingItemCount = c.items.length - end;
    }
    // List items carry no kind or apiVersion: the list's kind says what they are.
    const items = c.items.slice(offset, end).map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    return reply(200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata, items });
  }

  private watch(
    r: Resource,
    namespace: string | null,
    query: Record<string, string>,
    res: ServerResponse,
    entry: LoggedRequest,
  ): undefined {
    entry.status = 200;
    // No content-length: node sends the body chunked, one chunk per write, as the API server does.
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const w: Watcher = {
      res,
      resource: r,
      namespace,
      bookmarks: query.allowWatchBookmarks === 'true',
      timer: null,
    };
    const from =
      query.resourceVersion && query.resourceVersion !== '0' ? Number(query.resourceVersion) : null;
    if (from !== null && from < this.compacted) {
      this.sendTo(res, {
        type: 'ERROR',
        object: statusObject(410, 'Expired', `too old resource version: ${from} (${this.compacted})`),
      });
      res.end();
      return;
    }
    this.watchers.add(w);
    res.on('close', () => this.endWatch(w, false));
    if (from === null) {
      for (const o of this.store.get(r)!.values())
        if (!namespace || o.metadata.namespace === namespace) this.send(w, { type: 'ADDED', object: o });
    } else {
      for (const e of this.events)
        if (e.resource === r && e.rv > from && (!namespace || e.object.metadata.namespace === namespace))
          this.send(w, { type: e.type, object: e.object });
    }
    const timeout = Number(query.timeoutSeconds);
    if (timeout > 0) {
      w.timer = setTimeout(() => this.endWatch(w, false), timeout * 1000);
      w.timer.unref();
    }
  }

  private change(r: Resource, type: StoredEvent['type'], o: Obj): void {
    o.metadata.resourceVersion = String(++this.revision);
    o.apiVersion = apiVersionOf(r);
    o.kind = r.kind;
    const map = this.store.get(r)!;
    if (type === 'DELETED') map.delete(this.key(o));
    else map.set(this.key(o), o);
    const e: StoredEvent = { rv: this.revision, type, resource: r, object: clone(o) };
    this.events.push(e);
    for (const w of this.watchers)
      if (w.resource === r && (!w.namespace || w.namespace === o.metadata.namespace))
        this.send(w, { type, object: e.object });
  }

  private send(w: Watcher, event: { type: string; object: unknown }): void {
    this.sendTo(w.res, event);
  }

  private sendTo(res: ServerResponse, event: { type: string; object: unknown }): void {
    if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
  }

  private endWatch(w: Watcher, destroy: boolean): void {
    if (!this.watchers.delete(w)) return;
    if (w.timer) clearTimeout(w.timer);
    if (destroy) w.res.socket?.destroy();
    else if (!w.res.writableEnded) w.res.end();
  }

  private resourceOfKind(kind: string | undefined): Resource {
    const r = RESOURCES.find((x) => x.kind === kind);
    if (!r) throw new Error(`the stand-in server does not serve kind ${kind}`);
    return r;
  }

  private key(o: Obj): string {
    const r = this.resourceOfKind(o.kind);
    return `${r.namespaced ? (o.metadata.namespace ?? '') : ''}/${o.metadata.name}`;
  }
}
