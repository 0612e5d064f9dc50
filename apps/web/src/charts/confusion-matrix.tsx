import { useId, useState } from 'react';

interface ConfusionMatrixProps {
  title: string;
  classes: string[];
  /** confusion[true][predicted] = rows. */
  confusion: number[][];
  /** Makes each cell a button (click, Enter or Space) that opens its images. */
  onSelect?: (cell: { t: number; p: number }) => void;
  /** The cell whose images are open, outlined. */
  selected?: { t: number; p: number } | null;
}

const CELL = 44;
const LABEL = 96;

/**
 * The confusion matrix as SVG: rows are the true class, columns the predicted one, each cell's
 * shade its share of the row. Hovering or focusing a cell tells what it holds; with `onSelect`,
 * activating it opens its images.
 */
export function ConfusionMatrix({ title, classes, confusion, onSelect, selected }: ConfusionMatrixProps) {
  const titleId = useId();
  const [hover, setHover] = useState<{ t: number; p: number } | null>(null);
  const n = classes.length;
  const size = LABEL + CELL * n + 8;
  const rowTotals = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const describe = (t: number, p: number) => {
    const count = confusion[t]?.[p] ?? 0;
    const share = rowTotals[t] ? ((100 * count) / rowTotals[t]).toFixed(1) : '0';
    return `true ${classes[t]}, predicted ${classes[p]}: ${count} (${share}% of ${classes[t]})`;
  };
  return (
    <figure className="chart confusion">
      <figcaption id={titleId}>{title}</figcaption>
      <svg viewBox={`0 0 ${size} ${size}`} role="group" aria-labelledby={titleId} style={{ maxWidth: size * 1.4 }} data-testid="confusion-matrix">
        <text x={LABEL + (CELL * n) / 2} y={12} textAnchor="middle" className="axis-label">
          predicted
        </text>
        <text x={12} y={LABEL + (CELL * n) / 2} textAnchor="middle" className="axis-label" transform={`rotate(-90 12 ${LABEL + (CELL * n) / 2})`}>
          true
        </text>
        {classes.map((name, i) => (
          <text key={`p${name}`} x={LABEL + CELL * i + CELL / 2} y={LABEL - 6} textAnchor="start" className="tick" transform={`rotate(-45 ${LABEL + CELL * i + CELL / 2} ${LABEL - 6})`}>
            {name}
          </text>
        ))}
        {classes.map((name, t) => (
          <text key={`t${name}`} x={LABEL - 6} y={LABEL + CELL * t + CELL / 2 + 4} textAnchor="end" className="tick">
            {name}
          </text>
        ))}
        {confusion.map((row, t) =>
          row.map((count, p) => {
            const share = rowTotals[t] ? count / rowTotals[t] : 0;
            const isSelected = selected?.t === t && selected.p === p;
            const select = onSelect && (() => onSelect({ t, p }));
            return (
              <g
                key={`${t}-${p}`}
                tabIndex={0}
                role={select ? 'button' : 'img'}
                aria-label={select ? `${describe(t, p)}; show its images` : describe(t, p)}
                aria-pressed={select ? isSelected : undefined}
                onClick={select}
                onKeyDown={
                  select &&
                  ((event) => {
                    if (event.key !== 'Enter' && event.key !== ' ') return;
                    event.preventDefault();
                    select();
                  })
                }
                data-testid={`confusion-cell-${t}-${p}`}
                onMouseEnter={() => setHover({ t, p })}
                onMouseLeave={() => setHover(null)}
                onFocus={() => setHover({ t, p })}
                onBlur={() => setHover(null)}
              >
                <rect x={LABEL + CELL * p} y={LABEL + CELL * t} width={CELL - 2} height={CELL - 2} fill={`rgba(37, 99, 235, ${0.08 + 0.92 * share})`} className={['cell', hover?.t === t && hover.p === p ? 'hovered' : '', isSelected ? 'selected' : ''].join(' ').trim()} />
                <text x={LABEL + CELL * p + CELL / 2 - 1} y={LABEL + CELL * t + CELL / 2 + 4} textAnchor="middle" className={share > 0.5 ? 'count light' : 'count'}>
                  {count}
                </text>
              </g>
            );
          }),
        )}
      </svg>
      <p className="hover-readout" aria-live="polite" data-testid="confusion-readout">
        {hover ? describe(hover.t, hover.p) : `Hover or focus a cell for its details (rows: true class, columns: predicted)${onSelect ? '; click it or press Enter for its images' : ''}.`}
      </p>
    </figure>
  );
}
