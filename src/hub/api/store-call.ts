/**
 * The store's errors in the API's words. The store throws only where it cannot go on (src/store/
 * errors.ts): for a request, that is a cursor it did not hand out or an argument out of its range
 * (a saved query past the store's cap). Anything else is the hub's fault, `hub.internal`.
 */
import { StoreError } from '../../store/index.js';
import { HubError } from '../errors.js';

export function storeCall<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof StoreError) {
      if (err.code === 'bad-cursor')
        throw new HubError(
          'hub.bad_cursor',
          err.message,
          'pass back the `cursor` of the previous page unchanged',
        );
      if (err.code === 'bad-argument') throw new HubError('hub.bad_parameter', err.message);
    }
    throw err;
  }
}
