/**
 * The store's errors in the API's words. The store throws only where it cannot go on (src/store/
 * errors.ts): for a request, that is a cursor it did not hand out or an argument out of its range
 * (a saved query past the store's cap), or a read abandoned past its deadline. Anything else is the
 * hub's fault, `hub.internal`.
 */
import { StoreError } from '../../store/index.js';
import { HubError } from '../errors.js';

export function storeCall<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw apiError(err);
  }
}

/** storeCall() for the store's reads that answer with a promise (on its reader thread). */
export async function storeRead<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw apiError(err);
  }
}

/** The API's error for a store's error (HubError), or the error itself when it is not the client's. */
function apiError(err: unknown): unknown {
  if (!(err instanceof StoreError)) return err;
  if (err.code === 'query-timeout') return new HubError('hub.query_timeout', err.message);
  if (err.code === 'bad-cursor')
    return new HubError(
      'hub.bad_cursor',
      err.message,
      'pass back the `cursor` of the previous page unchanged',
    );
  if (err.code === 'bad-argument') return new HubError('hub.bad_parameter', err.message);
  return err;
}
