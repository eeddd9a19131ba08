/**
 * The main thread's handle on the store's reader thread (reader-thread.ts), where the reads that
 * take a client's filter run: a page of entries, the service map. better-sqlite3 cannot interrupt a
 * statement, and a filter on a field no index holds reads every row of its window (half a second
 * per 83,000 entries for one inside the JSON): on the hub's own thread, that held every agent and
 * every other request. Here such a read holds only the reader thread, and one that outlives its
 * deadline is abandoned: the thread is ended (and a new one started for the next reads) and the
 * read fails with `query-timeout`. Reads waiting behind it go to the new thread, their deadlines
 * counted again from there.
 */
import { Worker } from 'node:worker_threads';
import { replyError, StoreError, type ThreadReply, threadFailure } from './errors.js';
import type { EntriesQuery, EntryPage, ServiceMapQuery } from './queries.js';
import type { ServiceMap } from './service-map.js';

export type ReaderRequest =
  | { n: number; kind: 'entries'; q: EntriesQuery }
  | { n: number; kind: 'serviceMap'; q: ServiceMapQuery };

/** A module the reader thread imports, and the function of it that registers SQL functions on a connection. */
export interface SqlSetup {
  module: string;
  export: string;
}

export interface ReaderThreadData {
  path: string;
  setup: SqlSetup | null;
}

interface Waiting {
  request: ReaderRequest;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class ReaderThread {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private next = 1;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly setup: SqlSetup | null,
    /** How long a read may take, from when it was asked. */
    private readonly timeoutMs: number,
  ) {}

  entries(q: EntriesQuery): Promise<EntryPage> {
    return this.request({ n: 0, kind: 'entries', q }) as Promise<EntryPage>;
  }

  serviceMap(q: ServiceMapQuery): Promise<ServiceMap> {
    return this.request({ n: 0, kind: 'serviceMap', q }) as Promise<ServiceMap>;
  }

  /** Ends the thread; reads waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.rejectAll(new StoreError('bad-argument', 'the store is closed'));
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private request(r: ReaderRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new StoreError('bad-argument', 'the store is closed'));
    r.n = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(r.n, { request: r, resolve, reject, timer: this.deadline(r.n) });
      this.thread().postMessage(r);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const data: ReaderThreadData = { path: this.path, setup: this.setup };
    const w = new Worker(new URL('./reader-thread.js', import.meta.url), { workerData: data });
    w.unref();
    w.on('message', (m: ThreadReply) => {
      const p = this.waiting.get(m.n);
      if (!p) return;
      this.waiting.delete(m.n);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(replyError(m));
    });
    w.on('error', (err) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.rejectAll(new Error(`the store's reader thread failed: ${threadFailure(err)}`));
    });
    w.on('exit', () => {
      if (this.worker !== w) return;
      this.worker = null;
      this.rejectAll(new Error("the store's reader thread exited"));
    });
    this.worker = w;
    return w;
  }

  /** The timer of read `n`'s deadline, from now (it does not keep the process alive). */
  private deadline(n: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.overdue(n), this.timeoutMs);
    timer.unref();
    return timer;
  }

  /** Read `n` is past its deadline: the thread goes, with it; the others are asked again of a new one. */
  private overdue(n: number): void {
    const late = this.waiting.get(n);
    if (!late) return;
    this.waiting.delete(n);
    late.reject(
      new StoreError(
        'query-timeout',
        `the query ran longer than ${this.timeoutMs / 1000} s and was abandoned: narrow the time window, or filter on an indexed field (protocol, status, names, namespaces)`,
      ),
    );
    const old = this.worker;
    this.worker = null;
    void old?.terminate();
    // The reads that waited behind it were not at fault: asked again, with a deadline of their own.
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.timer = this.deadline(w.request.n);
      this.thread().postMessage(w.request);
    }
  }

  private rejectAll(err: Error): void {
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
  }
}
