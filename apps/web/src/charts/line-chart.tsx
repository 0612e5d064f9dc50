import { useId, useState } from 'react';
import { formatValue, linearScale, niceTicks } from './scale';

export interface LineSeries {
  name: string;
  color: string;
  /** Points by x; a null y is a gap (e.g. no validation split). */
  points: Array<{ x: number; y: number | null }>;
}

interface LineChartProps {
  title: string;
  xLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
}

const MARGIN = { top: 12, right: 16, bottom: 36, left: 56 };

/**
 * Lines over a shared x (epochs), drawn as SVG that scales to its box. Hovering (or focusing and
 * using the arrow keys) shows every series' value at the nearest x; the values are also in a
 * table under the chart, for screen readers and copying.
 */
export function LineChart({ title, xLabel, series, width = 640, height = 260 }: LineChartProps) {
  const titleId = useId();
  const [hoverX, setHoverX] = useState<number | null>(null);
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y): y is number => y !== null && Number.isFinite(y));
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const xMin = xs[0] ?? 0;
  const xMax = xs[xs.length - 1] ?? 1;
  const yMin = Math.min(0, ...ys);
  const yMax = ys.length ? Math.max(...ys) : 1;
  const x = linearScale(xMin, xMax === xMin ? xMin + 1 : xMax, MARGIN.left, MARGIN.left + plotWidth);
  const y = linearScale(yMin, yMax === yMin ? yMin + 1 : yMax, MARGIN.top + plotHeight, MARGIN.top);
  const xTicks = niceTicks(xMin, xMax, Math.min(8, Math.max(1, xs.length - 1))).filter((t) => Number.isInteger(t));
  const yTicks = niceTicks(yMin, yMax, 4);

  const nearest = (clientX: number, svg: SVGSVGElement) => {
    const box = svg.getBoundingClientRect();
    const at = ((clientX - box.left) / box.width) * width;
    return xs.reduce((best, candidate) => (Math.abs(x(candidate) - at) < Math.abs(x(best) - at) ? candidate : best), xs[0]);
  };
  const step = (direction: number) => {
    if (!xs.length) return;
    const index = hoverX === null ? (direction > 0 ? 0 : xs.length - 1) : Math.min(xs.length - 1, Math.max(0, xs.indexOf(hoverX) + direction));
    setHoverX(xs[index]);
  };
  const hovered = hoverX === null ? [] : series.map((s) => ({ s, point: s.points.find((p) => p.x === hoverX) }));

  return (
    <figure className="chart">
      <figcaption id={titleId}>{title}</figcaption>
      <div className="legend">
        {series.map((s) => (
          <span key={s.name}>
            <i style={{ background: s.color }} /> {s.name}
          </span>
        ))}
      </div>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={titleId}
        tabIndex={0}
        data-testid={`chart-${title}`}
        onMouseMove={(event) => xs.length && setHoverX(nearest(event.clientX, event.currentTarget))}
        onMouseLeave={() => setHoverX(null)}
        onBlur={() => setHoverX(null)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowRight') step(1);
          else if (event.key === 'ArrowLeft') step(-1);
        }}
      >
        {yTicks.map((t) => (
          <g key={`y${t}`}>
            <line x1={MARGIN.left} x2={MARGIN.left + plotWidth} y1={y(t)} y2={y(t)} className="grid" />
            <text x={MARGIN.left - 6} y={y(t) + 4} textAnchor="end" className="tick">
              {formatValue(t, 3)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={`x${t}`} x={x(t)} y={MARGIN.top + plotHeight + 16} textAnchor="middle" className="tick">
            {t}
          </text>
        ))}
        <text x={MARGIN.left + plotWidth / 2} y={height - 4} textAnchor="middle" className="axis-label">
          {xLabel}
        </text>
        {series.map((s) => (
          <g key={s.name}>
            <path d={linePath(s.points, x, y)} fill="none" stroke={s.color} strokeWidth={2} />
            {s.points.map((p) => (p.y === null ? null : <circle key={p.x} cx={x(p.x)} cy={y(p.y)} r={2.5} fill={s.color} />))}
          </g>
        ))}
        {hoverX !== null && (
          <g className="hover" data-testid="chart-hover">
            <line x1={x(hoverX)} x2={x(hoverX)} y1={MARGIN.top} y2={MARGIN.top + plotHeight} />
            <rect x={Math.min(x(hoverX) + 8, width - 170)} y={MARGIN.top} width={160} height={18 + 16 * series.length} rx={4} />
            <text x={Math.min(x(hoverX) + 16, width - 162)} y={MARGIN.top + 14}>
              {xLabel} {hoverX}
            </text>
            {hovered.map(({ s, point }, i) => (
              <text key={s.name} x={Math.min(x(hoverX) + 16, width - 162)} y={MARGIN.top + 30 + 16 * i} fill={s.color}>
                {s.name}: {formatValue(point?.y)}
              </text>
            ))}
          </g>
        )}
      </svg>
      <details>
        <summary>Values</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{xLabel}</th>
              {series.map((s) => (
                <th key={s.name} scope="col">
                  {s.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {xs.map((at) => (
              <tr key={at}>
                <th scope="row">{at}</th>
                {series.map((s) => (
                  <td key={s.name}>{formatValue(s.points.find((p) => p.x === at)?.y)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function linePath(points: LineSeries['points'], x: (v: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.y === null || !Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}
