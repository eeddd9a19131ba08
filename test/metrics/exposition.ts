/**
 * A reader of the Prometheus text exposition format 0.0.4 for the tests (written from the format's
 * description in Prometheus's docs/instrumenting/exposition_formats.md, not from prom-client), so the
 * tests read what a scraper would read: `name{label="value",...} value` lines, `\\`, `\"` and `\n`
 * escapes in label values, `#` comments.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    let name: string;
    const labels: Record<string, string> = {};
    let rest: string;
    if (brace !== -1 && brace < space) {
      name = line.slice(0, brace);
      let i = brace + 1;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const key = line.slice(i, eq);
        if (line[eq + 1] !== '"') throw new Error(`bad label in: ${line}`);
        let j = eq + 2;
        let value = '';
        while (line[j] !== '"') {
          if (line[j] === '\\') {
            const c = line[j + 1];
            value += c === 'n' ? '\n' : c;
            j += 2;
          } else {
            value += line[j];
            j++;
          }
          if (j >= line.length) throw new Error(`unterminated label value in: ${line}`);
        }
        labels[key] = value;
        i = j + 1;
        if (line[i] === ',') i++;
      }
      rest = line.slice(i + 1).trim();
    } else {
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const v = rest.split(' ')[0]!;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    out.push({ name, labels, value });
  }
  return out;
}

/** The samples of one metric name whose labels include `match`. */
export function select(samples: Sample[], name: string, match: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the values of `name` whose labels include `match`. */
export function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return select(samples, name, match).reduce((a, s) => a + s.value, 0);
}
