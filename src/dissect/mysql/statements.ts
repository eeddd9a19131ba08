/**
 * Prepared statements of one connection, by statement id (MySQL protocol: COM_STMT_PREPARE_OK), so
 * that COM_STMT_EXECUTE, COM_STMT_FETCH, COM_STMT_RESET and COM_STMT_CLOSE can name the statement
 * text they run. Bounded: at most `cap` statements (the least recently used leaves first; a client
 * that leaks statements must not grow the sniffer) and their text capped at MAX_STATEMENT.
 */

export interface Statement {
  id: number;
  /** Statement text, capped; `textLength` is the full length in bytes. */
  text: string;
  textLength: number;
  params: number;
  columns: number;
  /** Parameter types last bound by an execute (re-executions may omit them). */
  paramTypes: number[] | null;
  /** Column types from the prepare response, to read binary rows when a response omits metadata. */
  columnTypes: number[];
}

export const DEFAULT_STATEMENT_CAP = 1024;

export class StatementMap {
  private readonly map = new Map<number, Statement>();

  constructor(readonly cap = DEFAULT_STATEMENT_CAP) {}

  get size(): number {
    return this.map.size;
  }

  add(s: Statement): void {
    this.map.delete(s.id);
    while (this.map.size >= this.cap) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
    this.map.set(s.id, s);
  }

  /** Looks a statement up and marks it recently used. */
  get(id: number): Statement | null {
    const s = this.map.get(id);
    if (!s) return null;
    this.map.delete(id);
    this.map.set(id, s);
    return s;
  }

  delete(id: number): void {
    this.map.delete(id);
  }

  clear(): void {
    this.map.clear();
  }
}
