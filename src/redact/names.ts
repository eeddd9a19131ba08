/** How redaction reads a header, parameter or key name. */

/** Letters and digits only, lower case: `X-Api-Key`, `x_api_key` and `XApiKey` are all `xapikey`. */
export function normalName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The words of a name, lower case: split at anything but letters and digits and at camelCase humps
 * (`accessToken` -> access, token; `APIKey` -> api, key; `X-Amz-Security-Token` -> x, amz, security,
 * token).
 */
export function nameWords(name: string): string[] {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  const out: string[] = [];
  for (const w of spaced.toLowerCase().split(/[^a-z0-9]+/)) if (w) out.push(w);
  return out;
}
