/**
 * The writer's durable state in its SQLite storage: every accepted learn, in
 * order, and which of them the last published version contains.
 */

export interface LogEntry {
  seq: number;
  /** Token ids actually trained, markers included. */
  ids: number[];
  lr: number;
  truncate: number;
  steps: number;
  clipNorm: number;
  maxStepNorm: number;
}

export interface Counters {
  learns: number;
  tokensLearned: number;
}

export interface PublishState {
  version: number;
  /** Last log seq the published version contains. */
  seq: number;
}

type Row = Record<string, SqlStorageValue>;

export class LearnLog {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS learn_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      sentence TEXT NOT NULL,
      ids TEXT NOT NULL,
      options TEXT NOT NULL,
      loss_before REAL NOT NULL,
      loss_after REAL NOT NULL
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  }

  /** Appends an accepted learn and bumps the counters, atomically; returns its seq. */
  append(tokens: readonly string[], e: Omit<LogEntry, "seq">, lossBefore: number, lossAfter: number): number {
    const { ids, ...options } = e;
    const counters = this.counters();
    this.setState("counters", { learns: counters.learns + 1, tokensLearned: counters.tokensLearned + tokens.length });
    const row = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO learn_log (at, sentence, ids, options, loss_before, loss_after) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq",
        new Date().toISOString(),
        tokens.join(" "),
        JSON.stringify(ids),
        JSON.stringify(options),
        lossBefore,
        lossAfter,
      )
      .one();
    return row.seq;
  }

  /** Entries after `seq`, in order. */
  since(seq: number): LogEntry[] {
    return this.sql
      .exec<Row>("SELECT seq, ids, options FROM learn_log WHERE seq > ? ORDER BY seq", seq)
      .toArray()
      .map((r) => ({ seq: Number(r.seq), ids: JSON.parse(String(r.ids)), ...JSON.parse(String(r.options)) }));
  }

  lastSeq(): number {
    return Number(this.sql.exec<Row>("SELECT COALESCE(MAX(seq), 0) AS seq FROM learn_log").one().seq);
  }

  count(): number {
    return Number(this.sql.exec<Row>("SELECT COUNT(*) AS n FROM learn_log").one().n);
  }

  published(): PublishState | null {
    return this.state<PublishState>("published");
  }

  setPublished(p: PublishState): void {
    this.setState("published", p);
  }

  counters(): Counters {
    return this.state<Counters>("counters") ?? { learns: 0, tokensLearned: 0 };
  }

  /** Starts the counters from the base model's, once. */
  initCounters(c: Counters): void {
    if (!this.state("counters")) this.setState("counters", c);
  }

  private state<T>(key: string): T | null {
    const row = this.sql.exec<Row>("SELECT value FROM state WHERE key = ?", key).toArray()[0];
    return row ? (JSON.parse(String(row.value)) as T) : null;
  }

  private setState(key: string, value: object): void {
    this.sql.exec("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", key, JSON.stringify(value));
  }
}
