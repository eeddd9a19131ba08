/**
 * The store's coded errors (docs/store.md lists them). Thrown only where the caller cannot go on:
 * opening a file that is not a store, a store another process holds, a bad cursor or argument.
 */
export type StoreErrorCode =
  /** The file exists but is not a podwire store (not SQLite, or another application's database). */
  | 'not-a-store'
  /** Another process (another hub) has the store open. */
  | 'locked'
  /** The store was written by a newer podwire (a schema version this one does not know). */
  | 'newer-schema'
  /** The file cannot be opened or created (missing directory, permissions, a directory). */
  | 'cannot-open'
  /** A pagination cursor that this store did not hand out. */
  | 'bad-cursor'
  /** The store's writer thread stopped (the message says why): nothing more can be stored. */
  | 'writer-failed'
  /** A read ran past its deadline and was abandoned (a store with a reader thread). */
  | 'query-timeout'
  /** An argument out of its range (a saved query's name or text, a batch's sequence number). */
  | 'bad-argument';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/**
 * A store thread's answer to request `n` (writer-thread.ts, reader-thread.ts): the value, or the
 * error as data (a StoreError keeps its code across the threads).
 */
export type ThreadReply =
  | { n: number; ok: true; value: unknown }
  | { n: number; ok: false; message: string; code: StoreErrorCode | null };

/** The reply to request `n` that failed with `err` (on the store's thread). */
export function failedReply(n: number, err: unknown): ThreadReply {
  return {
    n,
    ok: false,
    message: (err as Error)?.message ?? String(err),
    code: err instanceof StoreError ? err.code : null,
  };
}

/** The error a failed reply stands for (on the caller's thread). */
export function replyError(m: Extract<ThreadReply, { ok: false }>): Error {
  return m.code ? new StoreError(m.code, m.message) : new Error(m.message);
}

/**
 * What a store thread threw, in words, from its `error` event. A thread's uncaught error crosses as
 * a structured clone: SQLite's errors (better-sqlite3's SqliteError) arrive as a plain object with
 * only their `code`, without message.
 */
export function threadFailure(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err !== null && typeof err === 'object') {
    const { message, code } = err as { message?: unknown; code?: unknown };
    if (typeof message === 'string') return message;
    if (typeof code === 'string') return code;
  }
  return String(err);
}
