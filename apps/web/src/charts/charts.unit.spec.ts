import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { ConfusionMatrix } from './confusion-matrix';
import { LineChart } from './line-chart';

/** The charts' markup as the browser gets it (hover is exercised in Chromium: test/web-console.e2e.spec.ts). */
describe('SVG charts', () => {
  it('draws one labelled, focusable cell per (true, predicted) pair with its count', () => {
    const html = renderToStaticMarkup(createElement(ConfusionMatrix, { title: 'Confusion', classes: ['cat', 'dog'], confusion: [[3, 1], [0, 4]] }));
    expect(html.match(/data-testid="confusion-cell-/g)).toHaveLength(4);
    expect(html).toContain('aria-label="true cat, predicted dog: 1 (25.0% of cat)"');
    expect(html).toContain('aria-label="true dog, predicted cat: 0 (0.0% of dog)"');
    expect(html.match(/tabindex="0"/g)).toHaveLength(4);
  });

  it('draws a line per series, with a gap where a value is missing, and the values as a table', () => {
    const html = renderToStaticMarkup(
      createElement(LineChart, {
        title: 'Loss',
        xLabel: 'epoch',
        series: [
          { name: 'training loss', color: '#00f', points: [{ x: 1, y: 1 }, { x: 2, y: 0.5 }, { x: 3, y: 0.25 }] },
          { name: 'validation loss', color: '#f00', points: [{ x: 1, y: 0.9 }, { x: 2, y: null }, { x: 3, y: 0.3 }] },
        ],
      }),
    );
    const paths = [...html.matchAll(/<path d="([^"]*)"/g)].map((m) => m[1]);
    expect(paths).toHaveLength(2);
    expect(paths[0].match(/[ML]/g)).toEqual(['M', 'L', 'L']);
    expect(paths[1].match(/[ML]/g)).toEqual(['M', 'M']); // the missing epoch 2 breaks the line
    expect(html).toContain('<th scope="row">2</th><td>0.5</td><td>–</td>');
  });
});
