/** A column as JSON has it: timestamps become ISO strings (a nullable one stays nullable). */
export type JsonColumn<T> = T extends Date ? string : T;

/** The named columns of a row, as JSON has them. */
export type RowView<R, K extends keyof R> = { [C in K]: JsonColumn<R[C]> };

/**
 * The named columns of a row, in that order, with timestamps as ISO strings: what a view of a
 * table row is, so each view lists its columns instead of copying them one by one.
 */
export function rowView<R extends object, K extends keyof R>(row: R, columns: readonly K[]): RowView<R, K> {
  const view: Partial<Record<K, unknown>> = {};
  for (const column of columns) {
    const value = row[column];
    view[column] = value instanceof Date ? value.toISOString() : value;
  }
  return view as RowView<R, K>;
}
