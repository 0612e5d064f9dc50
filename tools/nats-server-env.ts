/**
 * The environment featx starts nats-server with (`npm run dev` and `npm run demo` where no NATS
 * answers, the read-path benchmark; docker-compose.yml sets the same): Go's collector at GOGC=400,
 * FEATX_NATS_GOGC to change it.
 *
 * Why: relaying shard replies (1 MiB messages), nats-server spent about a third of its CPU per GB
 * more at Go's default of 100. `npm run bench:read` (bus, 8 MiB in flight, 2-core Zen 5, medians of
 * five runs): nats-server 3.2-3.5 CPU s per GB at 100, 1.9-2.3 at 400, 1.5-1.9 at 800; bus reads
 * 421-482 → 561-636 MB/s at 400; nats-server's peak RSS 43 → 98 MiB (149 at 800). Not 800: the
 * heap goal is a multiple of the live heap, and a JetStream server with many streams lives larger.
 */
export const DEFAULT_NATS_GOGC = '400';

/** `env` with the GOGC featx runs nats-server at. */
export function natsServerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, GOGC: env.FEATX_NATS_GOGC ?? DEFAULT_NATS_GOGC };
}
