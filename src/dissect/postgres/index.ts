/**
 * PostgreSQL's Frontend/Backend Protocol 3.x (PostgreSQL 15+ documentation, chapter 55): the
 * startup (with SSLRequest / GSSENCRequest and authentication, passwords never kept), simple and
 * extended queries, COPY, LISTEN/NOTIFY, function calls. One entry per startup, per Query message,
 * per Execute (with the statement text carried from Parse through Bind) and per unexecuted prepare.
 * After SSLRequest is answered 'S' the connection is handed to the `tls` dissector.
 */
import type { TcpDissector } from '../dissector.js';
import { detectPostgres } from './detect.js';
import { PostgresSession } from './session.js';

export const postgresDissector: TcpDissector = {
  name: 'postgres',
  protocol: 'postgres',
  ports: [5432],
  spec: 'PostgreSQL Frontend/Backend Protocol 3.0 (PostgreSQL 15+ docs, chapter 55)',
  detect: detectPostgres,
  createSession: (ctx) => new PostgresSession(ctx),
};
