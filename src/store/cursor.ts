/**
 * Pagination cursors: the sort key (time, row id) of the last row of a page, opaque to clients.
 * Lists are newest first by (time, id), and the next page is every row strictly after that key
 * in that order, so rows inserted while a client pages (newer ones, or late ones landing in
 * pages already read) never make a row appear twice or vanish from the pages still to come.
 */
import { StoreError } from './errors.js';

export interface CursorKey {
  /** The sort time of the last row returned (µs). */
  ts: number;
  id: number;
}

/** `kind` tells an entries cursor from a connections one, so one is not replayed against the other. */
export function encodeCursor(kind: 'e' | 'c', key: CursorKey): string {
  return Buffer.from(`${kind}:${key.ts}:${key.id}`).toString('base64url');
}

export function decodeCursor(kind: 'e' | 'c', cursor: string): CursorKey {
  const m = /^([ec]):(-?\d{1,17}):(\d{1,17})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  const ts = m ? Number(m[2]) : Number.NaN;
  const id = m ? Number(m[3]) : Number.NaN;
  if (!m || m[1] !== kind || !Number.isSafeInteger(ts) || !Number.isSafeInteger(id))
    throw new StoreError('bad-cursor', `not a cursor of this list: ${JSON.stringify(cursor.slice(0, 80))}`);
  return { ts, id };
}
