/** Running fast-check properties under node:test. */
import fc from 'fast-check';

/**
 * fc.assert, with the failing assertion's message in the report (node:test shows only the
 * message): the cause, then the counterexample, seed and path to replay it.
 */
export function holds<T>(property: fc.IProperty<T>, params: fc.Parameters<T>): void {
  const out = fc.check(property, params);
  if (out.failed) {
    const cause = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
    throw new Error(
      `${cause}\ncounterexample: ${fc.stringify(out.counterexample)}\nseed: ${out.seed}, path: ${out.counterexamplePath}`,
    );
  }
}
