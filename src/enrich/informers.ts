/**
 * Live cluster state: one list+watch per kind with @kubernetes/client-node's ListWatch (the
 * informer of `makeInformer`), feeding the cluster model.
 *
 * What the client does itself: list, then watch from the list's resourceVersion; on a watch that
 * ends, watch again from the last resourceVersion seen; on `410 Gone` (an ERROR event with code
 * 410, or HTTP 410), list again and report objects gone meanwhile as deleted.
 * What podwire adds around it:
 * - objects are cut down (`slim`) as they arrive, in the list function and in the watch callback,
 *   so the client's cache and the model hold only the fields naming needs;
 * - lists are paged (`limit`/`continue`), so a big cluster never arrives as one response;
 * - watches ask for bookmarks (`allowWatchBookmarks`), which keep the resourceVersion fresh and
 *   make a 410 after a reconnect rarer, and for a server-side timeout (`timeoutSeconds`, random
 *   in [T, 2T) as client-go does), and a watch silent past that timeout is aborted;
 * - the client stops on any other error (server unreachable, 5xx, a dropped connection): podwire
 *   restarts it after a backoff (exponential with jitter, reset by the next successful list or
 *   event), resuming from the last resourceVersion; a watch the server ends at once with no event
 *   is retried after the same backoff instead of in a tight loop.
 */
import { type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import { listAll } from './client.js';
import { collectionPath, KIND_NAMES, type KindName, type WatchedKind, watchedKind } from './kinds.js';
import { ClusterModel } from './model.js';
import { type SlimObject, slim } from './objects.js';

export interface WatcherOptions {
  /** Kinds to watch (default: all ten of kinds.ts). Without the workload kinds, workloads are named from references. */
  kinds?: readonly KindName[];
  /** Watch only these namespaces (one list+watch per namespace and kind; nodes stay cluster-wide). */
  namespaces?: readonly string[];
  /** Objects per list page (default 500, as kubectl). */
  pageSize?: number;
  /** First and largest retry delay in ms (default 500 and 30000). */
  backoffMs?: { initial: number; max: number };
  /** Server-side watch timeout: each watch asks for a random time in [T, 2T) seconds (default 300). */
  watchTimeoutSeconds?: number;
  /** Clock in µs since the epoch (default Date.now), stamped on deletions. */
  now?: () => number;
  /** How often ended lifetimes past the model's retention are dropped (ms, default 60000). */
  expireEveryMs?: number;
  /** Told about every error the watcher recovers from (for logs); the watcher retries regardless. */
  onError?: (kind: KindName, path: string, err: unknown, retryInMs: number) => void;
}

export interface InformerStatus {
  kind: KindName;
  path: string;
  synced: boolean;
  /** Completed lists: the first, then one per 410 or restart after an error. */
  lists: number;
  /** Watch events received (bookmarks included). */
  events: number;
  errors: number;
  lastError: string | null;
}

type Slim = SlimObject & KubernetesObject;

/** The client's Watch, with bookmarks and a server-side timeout asked for, and objects cut down on arrival. */
class SlimWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly informer: KindInformer,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const inf = this.informer;
    // ListWatch.stop() aborts the request it holds, not one still being opened: a watch asked for
    // while stopping would stay open. Check before and after opening it.
    if (inf.stopped) return new AbortController();
    const timeout = inf.watchTimeoutSeconds * (1 + Math.random());
    const params = {
      ...queryParams,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.floor(timeout),
    };
    const started = Date.now();
    let events = 0;
    let controller: AbortController | null = null;
    let idle: NodeJS.Timeout | null = null;
    // A connection that silently died (no FIN, no RST) would hang forever: the server ends every
    // watch by `timeoutSeconds`, so silence well past that means the connection is gone.
    const arm = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => controller?.abort(), (timeout + 30) * 1000);
      idle.unref();
    };
    arm();
    controller = await super.watch(
      path,
      params,
      (phase, obj, raw) => {
        events++;
        arm();
        inf.onEvent();
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
          const s = slim(obj, inf.kind.kind);
          if (s) callback(phase, s);
          return;
        }
        callback(phase, obj, raw);
      },
      (err) => {
        if (idle) clearTimeout(idle);
        if (!err && events === 0 && Date.now() - started < 1000) inf.later(() => done(null));
        else done(err);
      },
    );
    if (inf.stopped) controller.abort();
    return controller;
  }
}

class KindInformer {
  readonly path: string;
  readonly lw: ListWatch<Slim>;
  readonly status: InformerStatus;
  readonly watchTimeoutSeconds: number;
  private attempt = 0;
  private timers = new Set<NodeJS.Timeout>();
  stopped = false;
  private onSynced: (() => void) | null = null;
  readonly synced: Promise<void>;

  constructor(
    private readonly kc: KubeConfig,
    readonly kind: WatchedKind,
    namespace: string | undefined,
    private readonly model: ClusterModel,
    private readonly options: WatcherOptions,
  ) {
    this.path = collectionPath(kind, namespace);
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.status = {
      kind: kind.kind,
      path: this.path,
      synced: false,
      lists: 0,
      events: 0,
      errors: 0,
      lastError: null,
    };
    this.synced = new Promise((resolve) => {
      this.onSynced = resolve;
    });
    this.lw = new ListWatch<Slim>(this.path, new SlimWatch(kc, this), () => this.list(), false);
    const now = options.now ?? (() => Date.now() * 1000);
    this.lw.on('add', (o) => this.model.apply('add', o, now()));
    this.lw.on('update', (o) => this.model.apply('update', o, now()));
    this.lw.on('delete', (o) => this.model.apply('delete', o, now()));
    this.lw.on('error', (err) => this.retry(err));
  }

  start(): void {
    this.stopped = false;
    this.lw.start().catch((err: unknown) => this.retry(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.lw.stop();
  }

  /** The list function ListWatch calls: every page, cut down. */
  private async list(): Promise<{ metadata: { resourceVersion: string }; items: Slim[] }> {
    const items: Slim[] = [];
    const rv = await listAll(
      this.kc,
      this.path,
      this.options.pageSize ?? 500,
      (page) => {
        for (const raw of page) {
          const s = slim(raw, this.kind.kind);
          if (s) items.push(s);
        }
      },
      () => {
        items.length = 0;
      },
    );
    this.status.lists++;
    this.attempt = 0;
    if (!this.status.synced) {
      this.status.synced = true;
      this.onSynced?.();
    }
    return { metadata: { resourceVersion: rv }, items };
  }

  onEvent(): void {
    this.status.events++;
    this.attempt = 0;
  }

  private delay(): number {
    const b = this.options.backoffMs ?? { initial: 500, max: 30_000 };
    const d = Math.min(b.max, b.initial * 2 ** this.attempt++);
    return Math.round(d * (0.5 + Math.random() / 2));
  }

  /** Runs `fn` after the backoff (unless stopped meanwhile). */
  later(fn: () => void): number {
    const ms = this.delay();
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
    return ms;
  }

  private retry(err: unknown): void {
    // Stopping aborts the watch, which the client reports as an error: not one to retry.
    if (this.stopped) return;
    this.status.errors++;
    this.status.lastError = err instanceof Error ? err.message : String(err);
    const ms = this.later(() => this.start());
    this.options.onError?.(this.kind.kind, this.path, err, ms);
  }
}

/** Keeps a ClusterModel in step with the API server. */
export class ClusterWatcher {
  readonly model: ClusterModel;
  private readonly informers: KindInformer[] = [];
  private expireTimer: NodeJS.Timeout | null = null;

  constructor(
    kc: KubeConfig,
    model: ClusterModel = new ClusterModel(),
    private readonly options: WatcherOptions = {},
  ) {
    this.model = model;
    for (const name of options.kinds ?? KIND_NAMES) {
      const kind = watchedKind(name);
      if (!kind) throw new Error(`unknown kind ${name}`);
      const namespaces = kind.namespaced && options.namespaces?.length ? options.namespaces : [undefined];
      for (const ns of namespaces) this.informers.push(new KindInformer(kc, kind, ns, model, options));
    }
  }

  /**
   * Starts every list+watch; resolves once each kind has been listed. A kind that cannot be listed
   * (RBAC, a kind the cluster does not serve) is retried with backoff and keeps this waiting;
   * `onError` says why. Lookups work meanwhile with what is known.
   */
  async start(): Promise<void> {
    for (const i of this.informers) i.start();
    const now = this.options.now ?? (() => Date.now() * 1000);
    this.expireTimer = setInterval(() => this.model.expire(now()), this.options.expireEveryMs ?? 60_000);
    this.expireTimer.unref();
    await Promise.all(this.informers.map((i) => i.synced));
  }

  async stop(): Promise<void> {
    if (this.expireTimer) clearInterval(this.expireTimer);
    this.expireTimer = null;
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  status(): InformerStatus[] {
    return this.informers.map((i) => ({ ...i.status }));
  }
}
