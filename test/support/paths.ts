/** Paths tests share. Tests run from dist/test/..., fixtures stay in test/ in the source tree. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CAPTURES = join(ROOT, 'test', 'captures');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const PODWIRE = join(ROOT, 'bin', 'podwire');
