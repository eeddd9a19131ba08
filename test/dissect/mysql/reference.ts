/**
 * tshark's MySQL dissection of a capture, read from its PDML output (`tshark -T pdml`): every MySQL
 * PDU it shows, in stream order, grouped per connection into commands (PDUs with `mysql.command`
 * and sequence id 0) and what the server sent after each, as tshark labels it ("column count",
 * "row packet", "response OK", ...). This is the reference the MySQL tests compare podwire with.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TsPdu {
  frame: number;
  /** "MySQL Protocol - row packet" etc. */
  show: string;
  fields: Map<string, string[]>;
}

export interface TsCommand {
  frame: number;
  command: number;
  query: string | null;
  /** The server's PDUs until the next command on this connection. */
  answer: TsPdu[];
}

export interface TsConnection {
  /** `clientPort>serverPort`. */
  key: string;
  /** PDUs before the first command: greeting, login request, auth exchange. */
  login: TsPdu[];
  commands: TsCommand[];
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e] ?? m;
  });
}

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : null;
}

export function first(p: TsPdu, field: string): string | null {
  return p.fields.get(field)?.[0] ?? null;
}

/** Runs tshark and groups its MySQL PDUs. `serverPorts`: which port is the server's on each connection. */
export async function tsharkMysql(
  file: string,
  decodeAs: string[],
  serverPorts: number[],
): Promise<TsConnection[]> {
  const args = ['-n', '-r', file];
  for (const d of decodeAs) args.push('-d', d);
  args.push('-Y', 'mysql', '-T', 'pdml');
  const { stdout } = await run('tshark', args, { maxBuffer: 512 << 20 });
  const conns = new Map<string, TsConnection>();
  for (const packet of stdout.split('<packet>').slice(1)) {
    const fieldOf = (name: string): string | null => {
      const m = new RegExp(`<field name="${name.replace(/\./g, '\\.')}"[^>]*>`).exec(packet);
      return m ? attr(m[0], 'show') : null;
    };
    const frame = Number(fieldOf('frame.number'));
    const sport = Number(fieldOf('tcp.srcport'));
    const dport = Number(fieldOf('tcp.dstport'));
    const fromServer = serverPorts.includes(sport);
    const key = fromServer ? `${dport}>${sport}` : `${sport}>${dport}`;
    let conn = conns.get(key);
    if (!conn) {
      conn = { key, login: [], commands: [] };
      conns.set(key, conn);
    }
    const protoRe = /<proto name="mysql" showname="([^"]*)"[^>]*>([\s\S]*?)<\/proto>/g;
    for (let m = protoRe.exec(packet); m; m = protoRe.exec(packet)) {
      const fields = new Map<string, string[]>();
      for (const f of m[2]!.matchAll(/<field [^>]*>/g)) {
        const name = attr(f[0], 'name');
        const show = attr(f[0], 'show');
        if (!name || show === null) continue;
        const list = fields.get(name) ?? [];
        list.push(show);
        fields.set(name, list);
      }
      const pdu: TsPdu = { frame, show: unescapeXml(m[1]!), fields };
      const seq = first(pdu, 'mysql.packet_number');
      const cmd = first(pdu, 'mysql.command');
      if (!fromServer && cmd !== null && seq === '0') {
        conn.commands.push({ frame, command: Number(cmd), query: first(pdu, 'mysql.query'), answer: [] });
      } else if (conn.commands.length > 0) {
        if (fromServer) conn.commands[conn.commands.length - 1]!.answer.push(pdu);
      } else {
        conn.login.push(pdu);
      }
    }
  }
  return [...conns.values()];
}

/** What tshark's PDUs say of one answer, in the terms of podwire's entry. */
export interface TsAnswer {
  errorCode: number | null;
  /** Rows of the result sets ("row packet" PDUs). */
  rows: number;
  /** Column count of the first result set, or of a prepared statement, or field list definitions. */
  columns: number | null;
  affectedRows: number | null;
  statementId: number | null;
  params: number | null;
}

export function summarise(c: TsCommand): TsAnswer {
  const out: TsAnswer = {
    errorCode: null,
    rows: 0,
    columns: null,
    affectedRows: null,
    statementId: null,
    params: null,
  };
  let resultSet = false;
  let fieldList = 0;
  for (const p of c.answer) {
    const err = first(p, 'mysql.error_code');
    if (err !== null && out.errorCode === null) out.errorCode = Number(err);
    if (p.show.endsWith('- row packet')) out.rows++;
    if (p.show.endsWith('- column count')) {
      if (!resultSet) out.columns = Number(first(p, 'mysql.num_fields'));
      resultSet = true;
    }
    if (p.show.endsWith('- response to SHOW FIELDS')) fieldList++;
    if (p.show.endsWith('- response to PREPARE')) {
      out.statementId = Number(first(p, 'mysql.stmt_id'));
      out.columns = Number(first(p, 'mysql.num_fields'));
      out.params = Number(first(p, 'mysql.num_params'));
    }
    // The OK that ends a result set or a field list (CLIENT_DEPRECATE_EOF) is not the answer's own.
    const affected = first(p, 'mysql.affected_rows');
    if (!resultSet && fieldList === 0 && affected !== null && out.affectedRows === null)
      out.affectedRows = Number(affected);
  }
  if (fieldList > 0) out.columns = fieldList;
  return out;
}
