import type { ReactNode } from 'react';

export function ErrorMessage({ error }: { error?: Error }) {
  return error ? (
    <p role="alert" className="error">
      {error.message}
    </p>
  ) : null;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status}</span>;
}

export function Page({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="page">
      <header className="page-header">
        <h1>{title}</h1>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export const shortId = (id: string) => id.slice(0, 8);

/** A table of rows under header cells, scrolling sideways on narrow screens. */
export function DataTable({ columns, children, testId }: { columns: string[]; children: ReactNode; testId?: string }) {
  return (
    <div className="table-scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** "Load more" under a paged list while the API has rows past those shown. */
export function MorePages({ pages, what }: { pages: { hasMore: boolean; loading: boolean; more(): void }; what: string }) {
  return pages.hasMore ? (
    <p>
      <button onClick={pages.more} disabled={pages.loading}>
        Load more {what}
      </button>
    </p>
  ) : null;
}
