/**
 * Certificates for tests that run real TLS servers (nginx, openssl s_server, node:tls): a
 * self-signed P-256 certificate made by openssl itself, so the certificate a test reads back is
 * checked against what an independent tool wrote.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificateFiles {
  /** PEM files in the directory given. */
  key: string;
  cert: string;
}

/**
 * `openssl req -x509` with a new P-256 key (no passphrase): `subject` as openssl takes it
 * (`/CN=host/O=org`), valid for `days` from now, with the subjectAltName entries given
 * (`DNS:host`, `IP:198.18.13.10`), if any. Writes `key.pem` and `cert.pem` in `dir`.
 */
export async function selfSignedCertificate(
  dir: string,
  subject: string,
  days: number,
  subjectAltNames: string[] = [],
): Promise<CertificateFiles> {
  const files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    files.key,
    '-out',
    files.cert,
    '-days',
    String(days),
    '-subj',
    subject,
    ...(subjectAltNames.length ? ['-addext', `subjectAltName=${subjectAltNames.join(',')}`] : []),
  ]);
  return files;
}
