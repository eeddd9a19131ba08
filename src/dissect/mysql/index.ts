/**
 * MySQL and MariaDB (MySQL Client/Server Protocol; MariaDB's Client/Server Protocol for its
 * extensions): the connection phase, text and binary (prepared statement) commands, result sets,
 * LOCAL INFILE, the compression protocol, and the hand-over to TLS after an SSLRequest.
 */
import type { TcpDissector } from '../dissector.js';
import { detectMysql } from './detect.js';
import { MysqlSession } from './session.js';

export const mysqlDissector: TcpDissector = {
  name: 'mysql',
  protocol: 'mysql',
  ports: [3306],
  spec: 'MySQL Client/Server Protocol (dev.mysql.com); MariaDB Client/Server Protocol',
  detect: detectMysql,
  createSession: (ctx) => new MysqlSession(ctx),
};
