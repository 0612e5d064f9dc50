import { writeFileSync } from 'node:fs';

/**
 * A bench's figures as JSON in the file BENCH_JSON names, when it names one: how `npm run
 * bench:train` gathers the other benches' figures into its summary table.
 */
export function writeBenchJson(figures: unknown): void {
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(figures, null, 2));
}
