/** Small named JSON values in the writer's SQLite storage (counters, identity, version counter). */

type Row = Record<string, SqlStorageValue>;

export class StateTable {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  }

  get<T>(key: string): T | null {
    const row = this.sql.exec<Row>("SELECT value FROM state WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(String(row.value)) as T) : null;
  }

  set(key: string, value: object | number): void {
    this.sql.exec("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", key, JSON.stringify(value));
  }
}
