import type { Augment } from '../messages/features';
/**
 * Feature-store replicas as the registry (feature_stores) knows them, and the one rule that says
 * whether a store is up: it records itself every `heartbeatMs`; one not seen for
 * MISSED_HEARTBEATS_DOWN of them is down.
 */

/** up: seen lately; down: silent for MISSED_HEARTBEATS_DOWN heartbeats; unregistered: holds shards but never recorded itself. */
export const FEATURE_STORE_STATES = ['up', 'down', 'unregistered'] as const;
export type FeatureStoreState = (typeof FEATURE_STORE_STATES)[number];

/** Heartbeats a store may miss before it counts as down (a pause for garbage collection or a busy disk is not one). */
export const MISSED_HEARTBEATS_DOWN = 3;

/** The state of a store at `now` (the database's clock), from its registry row (undefined: none). */
export function featureStoreState(store: { lastSeenAt: Date | null; heartbeatMs: number | null } | undefined, now: Date): FeatureStoreState {
  if (!store || store.lastSeenAt === null || store.heartbeatMs === null) return 'unregistered';
  return now.getTime() - store.lastSeenAt.getTime() > store.heartbeatMs * MISSED_HEARTBEATS_DOWN ? 'down' : 'up';
}

/** `GET /feature-stores`: a store, its state, and what it holds. */
export interface FeatureStoreView {
  id: string;
  state: FeatureStoreState;
  /** Host it last ran on; null if unregistered. */
  host: string | null;
  version: string | null;
  heartbeatMs: number | null;
  startedAt: string | null;
  lastSeenAt: string | null;
  /** Shards it wrote (and serves), of every feature set, and their committed rows. */
  shards: number;
  rows: number;
}

/** A feature set's shards grouped by the store that holds them (`GET /feature-sets/:id`). */
export interface FeatureSetStoreView {
  store: string;
  state: FeatureStoreState;
  lastSeenAt: string | null;
  host: string | null;
  shards: Array<{ id: string; split: string; augment: Augment; index: number; rows: number; status: 'open' | 'sealed' }>;
  rows: number;
}
