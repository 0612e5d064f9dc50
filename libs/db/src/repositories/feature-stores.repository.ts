import { eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../database';
import { featureShards, featureStores } from '../schema';

export type FeatureStoreRow = typeof featureStores.$inferSelect;

/**
 * A store with what it holds: the shards (of any set) it wrote and their committed rows. A writer
 * of shards that never registered (a store not started since the registry came) has nulls.
 */
export type FeatureStoreHoldings = { [K in keyof FeatureStoreRow]: K extends 'id' ? string : FeatureStoreRow[K] | null } & { shards: number; rows: number };

/** The registry of feature-store replicas (feature_stores). */
export class FeatureStoresRepository {
  constructor(private readonly db: Database) {}

  /** A store starts: recorded, or its row taken over (same id: the same replica, restarted or moved). */
  async started(store: { id: string; host: string; version: string; heartbeatMs: number }): Promise<FeatureStoreRow> {
    const [row] = await this.db
      .insert(featureStores)
      .values(store)
      .onConflictDoUpdate({ target: featureStores.id, set: { host: store.host, version: store.version, heartbeatMs: store.heartbeatMs, startedAt: sql`now()`, lastSeenAt: sql`now()` } })
      .returning();
    return row!;
  }

  /** The store is alive now. */
  async seen(id: string): Promise<void> {
    await this.db.update(featureStores).set({ lastSeenAt: sql`now()` }).where(eq(featureStores.id, id));
  }

  /** The stores with these ids that are registered (a shard's writer may never have registered). */
  async byIds(ids: readonly string[]): Promise<FeatureStoreRow[]> {
    if (ids.length === 0) return [];
    return this.db.select().from(featureStores).where(inArray(featureStores.id, [...ids]));
  }

  /**
   * Every store, with the shards and committed rows it holds; writers of shards that never
   * registered are listed too, so that no shard is missing from the list.
   */
  async list(): Promise<FeatureStoreHoldings[]> {
    const held = await this.db
      .select({ writer: featureShards.writer, shards: sql<number>`count(*)::int`, rows: sql<number>`coalesce(sum(${featureShards.rows}), 0)::bigint` })
      .from(featureShards)
      .groupBy(featureShards.writer);
    const byWriter = new Map(held.map((h) => [h.writer, { shards: h.shards, rows: Number(h.rows) }]));
    const stores = await this.db.select().from(featureStores).orderBy(featureStores.id);
    const registered = stores.map((store) => ({ ...store, ...(byWriter.get(store.id) ?? { shards: 0, rows: 0 }) }));
    const ids = new Set(stores.map((s) => s.id));
    const unregistered = [...byWriter]
      .filter(([writer]) => !ids.has(writer))
      .map(([id, h]) => ({ id, host: null, version: null, heartbeatMs: null, startedAt: null, lastSeenAt: null, ...h }));
    return [...registered, ...unregistered].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The database's clock: a store's state is judged against it, as it wrote last_seen_at. */
  async now(): Promise<Date> {
    const result = await this.db.execute<{ now: Date | string }>(sql`select now() as now`);
    return new Date(result.rows[0]!.now);
  }
}
