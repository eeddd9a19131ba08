/**
 * The flags that keep captured secrets safe, shared by hub, agent and start: the bearer token
 * (--token-file or $PODWIRE_TOKEN) and the redaction rules (--redact-header, --redact-key, --no-redact).
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_RULES, extendRules, type RedactionRules } from '../redact/index.js';
import type { FlagValues } from './pipeline-flags.js';
import { UsageError } from './usage-error.js';

/** The token from --token-file or $PODWIRE_TOKEN (surrounding whitespace and newlines dropped). */
export function readToken(v: FlagValues): string | undefined {
  const file = typeof v['token-file'] === 'string' ? v['token-file'] : undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(
        `--token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const token = text.trim();
    if (!token) throw new UsageError(`--token-file ${file} is empty`);
    return token;
  }
  const env = process.env.PODWIRE_TOKEN?.trim();
  return env ? env : undefined;
}

/** The redaction rules: the defaults plus what the flags add; null with --no-redact. */
export function redactionFlags(v: FlagValues): RedactionRules | null {
  if (v['no-redact']) return null;
  const headers = (v['redact-header'] as string[] | undefined) ?? [];
  const keys = (v['redact-key'] as string[] | undefined) ?? [];
  if (!headers.length && !keys.length) return DEFAULT_RULES;
  try {
    return extendRules({ headers, jsonKeys: keys, queryParams: keys });
  } catch (err) {
    throw new UsageError(`--redact-header/--redact-key: ${(err as Error).message}`);
  }
}
