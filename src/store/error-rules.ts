/**
 * When an entry counts as an error (the `is_error` column, the service map's `errors`): one
 * definition for the store, the metrics and the UI, in src/dissect/outcome.ts.
 */
export { isErrorEntry } from '../dissect/outcome.js';
