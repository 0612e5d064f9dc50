import { formatValue, linearScale, niceTicks } from './scale';

describe('chart scales', () => {
  it('maps a domain onto a range, inverted for SVG y', () => {
    const y = linearScale(0, 2, 200, 0);
    expect([y(0), y(1), y(2)]).toEqual([200, 100, 0]);
  });

  it('picks round ticks within the domain', () => {
    expect(niceTicks(0, 1, 4)).toEqual([0, 0.5, 1]);
    expect(niceTicks(1, 25, 8)).toEqual([5, 10, 15, 20, 25]);
    expect(niceTicks(0.2, 0.2)).toEqual([0.2]);
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
  });

  it('formats values with a dash for missing ones', () => {
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(null)).toBe('–');
    expect(formatValue(Number.POSITIVE_INFINITY)).toBe('–');
  });
});
