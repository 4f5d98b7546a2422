/**
 * Every accepted learn, in the order it was applied, in the writer's SQLite storage;
 * plus the learn counters the metadata reports. Entries are never deleted: replay
 * after a restart reads the tail after the current version's seq (see versions.ts).
 */

import { addCount } from "../model/count.ts";
import type { LearnOptions } from "../model/lm.ts";
import { ADMIN } from "../trust/subject.ts";
import { StateTable } from "./sql-state.ts";

/** What replaying a learn needs: the token ids actually trained (markers included) and the options used. */
export interface LearnStep extends LearnOptions {
  ids: number[];
}

export interface LogEntry extends LearnStep {
  seq: number;
  /** The tokens as learned, joined by spaces. */
  sentence: string;
  /** Who taught it (src/trust/subject.ts): unlearning drops a subject's entries by it. */
  sub: string;
}

export interface Counters {
  learns: number;
  tokensLearned: number;
}

type Row = Record<string, SqlStorageValue>;

/** Weight of the newest learn in the moving average of the learn loss (about the last 20 learns). */
export const LOSS_AVG_ALPHA = 0.05;

function entry(r: Row): LogEntry {
  return {
    seq: Number(r.seq),
    sentence: String(r.sentence),
    sub: String(r.sub),
    ids: JSON.parse(String(r.ids)) as number[],
    ...(JSON.parse(String(r.options)) as LearnOptions),
  };
}

export class LearnLog {
  private readonly sql: SqlStorage;
  private readonly state: StateTable;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    this.state = new StateTable(sql);
    sql.exec(`CREATE TABLE IF NOT EXISTS learn_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      sentence TEXT NOT NULL,
      ids TEXT NOT NULL,
      options TEXT NOT NULL,
      loss_before REAL NOT NULL,
      loss_after REAL NOT NULL
    )`);
    // Logs from before subjects were recorded: their learns came with the admin token.
    const columns = sql
      .exec<Row>("PRAGMA table_info(learn_log)")
      .toArray()
      .map((r) => String(r.name));
    if (!columns.includes("sub")) sql.exec(`ALTER TABLE learn_log ADD COLUMN sub TEXT NOT NULL DEFAULT '${ADMIN}'`);
  }

  /** Appends an accepted learn and bumps the counters (one implicit transaction); returns its seq. */
  append(tokens: readonly string[], step: LearnStep, sub: string, lossBefore: number, lossAfter: number): number {
    const { ids, ...options } = step;
    const c = this.counters();
    this.setCounters({ learns: addCount(c.learns, 1), tokensLearned: addCount(c.tokensLearned, tokens.length) });
    // The loss before learning a sentence falls as the model adapts to its users: a health signal.
    const avg = this.lossAvg();
    this.state.set("lossAvg", { value: avg === null ? lossBefore : avg + LOSS_AVG_ALPHA * (lossBefore - avg) });
    return this.sql
      .exec<{ seq: number }>(
        "INSERT INTO learn_log (at, sentence, ids, options, sub, loss_before, loss_after) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        new Date().toISOString(),
        tokens.join(" "),
        JSON.stringify(ids),
        JSON.stringify(options),
        sub,
        lossBefore,
        lossAfter,
      )
      .one().seq;
  }

  /** Entries after `seq`, in order. */
  since(seq: number): LogEntry[] {
    return this.sql
      .exec<Row>("SELECT seq, sentence, ids, options, sub FROM learn_log WHERE seq > ? ORDER BY seq", seq)
      .toArray()
      .map(entry);
  }

  /** The last `n` entries, in order. */
  last(n: number): LogEntry[] {
    return this.sql
      .exec<Row>(
        "SELECT * FROM (SELECT seq, sentence, ids, options, sub FROM learn_log ORDER BY seq DESC LIMIT ?) ORDER BY seq",
        n,
      )
      .toArray()
      .map(entry);
  }

  lastSeq(): number {
    return Number(this.sql.exec<Row>("SELECT COALESCE(MAX(seq), 0) AS seq FROM learn_log").one().seq);
  }

  /** Learns and tokens in the in-memory weights (a rollback sets them back to its version's). */
  counters(): Counters {
    return this.state.get<Counters>("counters") ?? { learns: 0, tokensLearned: 0 };
  }

  setCounters(c: Counters): void {
    this.state.set("counters", c);
  }

  /** Exponential moving average of the per-token loss before each learn (null before the first). */
  lossAvg(): number | null {
    return this.state.get<{ value: number }>("lossAvg")?.value ?? null;
  }
}
