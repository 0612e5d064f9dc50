import Table from 'cli-table3';

/** A plain table for the terminal: no colours, so it reads the same in logs and CI. */
export function table(head: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  return t.toString();
}

/** 1,460 */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Prints `hint` when there is one (such as how to list the next page). */
export function printHint(print: (text: string) => void, hint: string | undefined): void {
  if (hint !== undefined) print(hint);
}
