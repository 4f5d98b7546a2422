/**
 * The writer's record of its model's published versions, in SQLite (strongly consistent, unlike a
 * KV listing): each retained version, the weights blob it names and the log seq it contains; the
 * model's identity; the version counter; and the pins children hold on its blobs.
 *
 * A version names its own blob (model:{id}:weights:v{N}), an older own blob (a rollback), or a blob
 * borrowed from another model (copy-on-write creation). A blob is released only when no retained
 * version and no child's pin names it: an own blob is then deleted from KV, a borrowed one is
 * unpinned at the model that lent it ("upstream"), which may in turn release it.
 */

import type { VersionRef } from "../store/kv-layout.ts";
import { StateTable } from "./sql-state.ts";

/** What never changes about a model once it exists. */
export interface Identity {
  id: string;
  vocabHash: string;
  createdAt: string;
  base?: VersionRef;
}

export interface VersionRow {
  version: number;
  weightsKey: string;
  bytes: number;
  /** Log entries up to this seq are in these weights (or were discarded by a rollback): replay starts after it. */
  seq: number;
  /** Counters of the weights, as the manifest reports them. */
  learns: number;
  tokensLearned: number;
  /** When this version's manifest was written. */
  updatedAt: string;
  /** For a borrowed blob, the model whose writer holds our pin on it; null for our own blobs. */
  upstream: string | null;
}

/** A blob nothing here names any more. */
export interface Release {
  weightsKey: string;
  upstream: string | null;
}

type Row = Record<string, SqlStorageValue>;

function toRow(r: Row): VersionRow {
  return {
    version: Number(r.version),
    weightsKey: String(r.weights_key),
    bytes: Number(r.bytes),
    seq: Number(r.seq),
    learns: Number(r.learns),
    tokensLearned: Number(r.tokens_learned),
    updatedAt: String(r.updated_at),
    upstream: r.upstream === null ? null : String(r.upstream),
  };
}

export class VersionTable {
  private readonly sql: SqlStorage;
  private readonly state: StateTable;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    this.state = new StateTable(sql);
    sql.exec(`CREATE TABLE IF NOT EXISTS versions (
      version INTEGER PRIMARY KEY,
      weights_key TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      learns INTEGER NOT NULL,
      tokens_learned INTEGER NOT NULL,
      updated_at TEXT NOT NULL,
      upstream TEXT
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS pins (
      weights_key TEXT NOT NULL,
      child TEXT NOT NULL,
      upstream TEXT,
      PRIMARY KEY (weights_key, child)
    )`);
  }

  identity(): Identity | null {
    return this.state.get<Identity>("identity");
  }

  /** Starts the record with the model's first version (seeded, created, or found in KV). */
  init(identity: Identity, first: VersionRow): VersionRow {
    this.state.set("identity", identity);
    this.add(first);
    return first;
  }

  /** The newest version: what the manifest names and the in-memory weights start from. */
  current(): VersionRow | null {
    const r = this.sql.exec<Row>("SELECT * FROM versions ORDER BY version DESC LIMIT 1").toArray()[0];
    return r ? toRow(r) : null;
  }

  get(version: number): VersionRow | null {
    const r = this.sql.exec<Row>("SELECT * FROM versions WHERE version = ?", version).toArray()[0];
    return r ? toRow(r) : null;
  }

  /** Retained versions, ascending. */
  list(): number[] {
    return this.sql
      .exec<Row>("SELECT version FROM versions ORDER BY version")
      .toArray()
      .map((r) => Number(r.version));
  }

  add(row: VersionRow): void {
    this.sql.exec(
      "INSERT INTO versions (version, weights_key, bytes, seq, learns, tokens_learned, updated_at, upstream) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      row.version,
      row.weightsKey,
      row.bytes,
      row.seq,
      row.learns,
      row.tokensLearned,
      row.updatedAt,
      row.upstream,
    );
    if (row.version >= this.nextVersion()) this.state.set("nextVersion", row.version + 1);
  }

  /** The number the next publish or rollback will take. */
  nextVersion(): number {
    return this.state.get<number>("nextVersion") ?? 0;
  }

  /**
   * Takes a version number (at least `floor`) before anything is written to KV, so a publish
   * that fails half-way burns its number instead of ever writing a weights key twice.
   */
  reserve(floor: number): number {
    const version = Math.max(this.nextVersion(), floor);
    this.state.set("nextVersion", version + 1);
    return version;
  }

  /** Records that `child` names `weightsKey` (which must be one of our current blobs). */
  pin(weightsKey: string, child: string, upstream: string | null): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO pins (weights_key, child, upstream) VALUES (?, ?, ?)",
      weightsKey,
      child,
      upstream,
    );
  }

  /** Drops `child`'s pin; returns the blob if nothing names it any more. */
  unpin(weightsKey: string, child: string): Release | null {
    const r = this.sql
      .exec<Row>("DELETE FROM pins WHERE weights_key = ? AND child = ? RETURNING upstream", weightsKey, child)
      .toArray()[0];
    if (!r || this.named(weightsKey)) return null;
    return { weightsKey, upstream: r.upstream === null ? null : String(r.upstream) };
  }

  /** Forgets all but the newest `keep` versions; returns the blobs nothing names any more. */
  prune(keep: number): Release[] {
    const doomed = this.sql
      .exec<Row>(
        "DELETE FROM versions WHERE version NOT IN (SELECT version FROM versions ORDER BY version DESC LIMIT ?) RETURNING *",
        keep,
      )
      .toArray()
      .map(toRow);
    const released = new Map<string, Release>();
    for (const { weightsKey, upstream } of doomed) {
      if (!this.named(weightsKey)) released.set(weightsKey, { weightsKey, upstream });
    }
    return [...released.values()];
  }

  /** Whether a retained version or a child's pin names the blob. */
  private named(weightsKey: string): boolean {
    const r = this.sql
      .exec<Row>(
        "SELECT (SELECT COUNT(*) FROM versions WHERE weights_key = ?1) + (SELECT COUNT(*) FROM pins WHERE weights_key = ?1) AS n",
        weightsKey,
      )
      .one();
    return Number(r.n) > 0;
  }
}
