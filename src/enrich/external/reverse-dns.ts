/**
 * One PTR lookup (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa) through node:dns's c-ares
 * resolver, answered as a value: a name, "no name", or a failure. Never rejects, never takes longer
 * than the timeout: a timer of our own decides it. c-ares gets one try per server and twice the
 * timeout, so that its own timer never fires first: when it does, its reverse lookup goes on to the
 * hosts file ("fb" lookup order) and answers ENOTFOUND, and a server that never answered would be
 * taken for one that said "no such name" (seen under load: 1 of 3 silent lookups counted as
 * timeouts).
 */
import { Resolver } from 'node:dns/promises';

export type PtrAnswer =
  | { kind: 'name'; name: string }
  /** NXDOMAIN or no PTR record: the address has no name. */
  | { kind: 'none' }
  /** The question got no usable answer: `code` is c-ares's (`ETIMEOUT`, `ESERVFAIL`, `EREFUSED`...). */
  | { kind: 'failure'; code: string };

/** Longest name kept: a DNS name is at most 253 characters in text form (RFC 1035 §2.3.4). */
const MAX_NAME = 253;
/** Printable ASCII without space: what a host name may hold (c-ares already escapes odd bytes as `\DDD`). */
const NAME_CHARS = /^[\x21-\x7e]+$/;

export class ReverseDns {
  private readonly resolver: Resolver;
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Throws on a server address `setServers` does not accept. */
  constructor(
    private readonly timeoutMs: number,
    servers?: readonly string[],
  ) {
    this.resolver = new Resolver({ timeout: Math.max(1, Math.round(timeoutMs * 2)), tries: 1 });
    if (servers?.length) this.resolver.setServers([...servers]);
  }

  lookup(ip: string): Promise<PtrAnswer> {
    return new Promise<PtrAnswer>((resolve) => {
      let done = false;
      const finish = (a: PtrAnswer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.timers.delete(timer);
        resolve(a);
      };
      const timer = setTimeout(() => finish({ kind: 'failure', code: 'ETIMEOUT' }), this.timeoutMs);
      this.timers.add(timer);
      this.resolver.reverse(ip).then(
        (names) => finish(ptrName(names[0])),
        (err: NodeJS.ErrnoException) => finish(errorAnswer(err)),
      );
    });
  }

  /** Ends every lookup in flight (each answers `ECANCELLED`). */
  close(): void {
    this.resolver.cancel();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** The first PTR name, without the root's final dot; anything that cannot be a host name is no name. */
function ptrName(raw: string | undefined): PtrAnswer {
  if (raw === undefined) return { kind: 'none' };
  const name = raw.endsWith('.') ? raw.slice(0, -1) : raw;
  if (name.length === 0 || name.length > MAX_NAME || !NAME_CHARS.test(name)) return { kind: 'none' };
  return { kind: 'name', name };
}

function errorAnswer(err: NodeJS.ErrnoException): PtrAnswer {
  const code = typeof err.code === 'string' ? err.code : 'EUNKNOWN';
  // ENOTFOUND is NXDOMAIN, ENODATA an empty answer: both say "this address has no name".
  if (code === 'ENOTFOUND' || code === 'ENODATA') return { kind: 'none' };
  return { kind: 'failure', code };
}
