import { classificationReport, formatClassificationReport } from './classification-report';

/**
 * cat: 4 samples, 2 right; dog: 3, 2 right; bird: 2 samples, never predicted; fish: no sample,
 * predicted twice.
 *
 *              predicted: cat dog bird fish
 *   true cat               2   1   0    1
 *   true dog               1   2   0    0
 *   true bird              1   0   0    1
 *   true fish              0   0   0    0
 */
const NAMES = ['cat', 'dog', 'bird', 'fish'];
const TRUTH = [0, 0, 0, 0, 1, 1, 1, 2, 2];
const PREDICTED = [0, 0, 1, 3, 1, 1, 0, 0, 3];

describe('classificationReport', () => {
  const report = classificationReport(TRUTH, PREDICTED, NAMES);

  it('computes per-class precision, recall, F1 and support by hand-checked arithmetic', () => {
    expect(report.confusion).toEqual([
      [2, 1, 0, 1],
      [1, 2, 0, 0],
      [1, 0, 0, 1],
      [0, 0, 0, 0],
    ]);
    const [cat, dog, bird, fish] = report.perClass;
    // cat: 2 of 4 predictions right, 2 of 4 samples found.
    expect(cat).toEqual({ label: 'cat', precision: 0.5, recall: 0.5, f1: 0.5, support: 4 });
    // dog: 2 of 3 both ways; F1 = 2·2 / (3 + 3).
    expect(dog).toEqual({ label: 'dog', precision: 2 / 3, recall: 2 / 3, f1: 4 / 6, support: 3 });
  });

  it('gives 0, sklearn\'s default zero_division, for a class never predicted and a class without support', () => {
    const [, , bird, fish] = report.perClass;
    expect(bird).toEqual({ label: 'bird', precision: 0, recall: 0, f1: 0, support: 2 }); // precision 0/0
    expect(fish).toEqual({ label: 'fish', precision: 0, recall: 0, f1: 0, support: 0 }); // recall 0/0
  });

  it('averages: accuracy = correct / total, macro = plain mean over all classes, weighted by support', () => {
    expect(report.accuracy).toBe(4 / 9);
    expect(report.macroAvg.precision).toBeCloseTo((0.5 + 2 / 3) / 4, 15);
    expect(report.macroAvg.recall).toBeCloseTo((0.5 + 2 / 3) / 4, 15);
    expect(report.macroAvg.f1).toBeCloseTo((0.5 + 2 / 3) / 4, 15);
    expect(report.macroAvg.support).toBe(9);
    // (0.5·4 + ⅔·3 + 0·2 + 0·0) / 9
    expect(report.weightedAvg.precision).toBeCloseTo(4 / 9, 15);
    expect(report.weightedAvg.recall).toBeCloseTo(4 / 9, 15);
    expect(report.weightedAvg.f1).toBeCloseTo(4 / 9, 15);
    expect(report.weightedAvg.support).toBe(9);
  });

  it('computes F1 as 2·tp / (support + predicted), so an exact 0.75 stays exact (sklearn ≥ 1.4)', () => {
    // class 0: 3 samples all found, predicted 5 times: P = 0.6, R = 1; 2PR/(P+R) gives 0.7499999999999999.
    const r = classificationReport([0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1], ['a', 'b']);
    expect(r.perClass[0].f1).toBe(0.75);
    expect(formatClassificationReport(r, 1).split('\n')[2]).toBe('           a        0.6       1.0       0.8         3');
  });

  it('reports a perfect classifier as all ones', () => {
    const r = classificationReport([0, 1, 2, 1], [0, 1, 2, 1], ['x', 'y', 'z']);
    expect(r.accuracy).toBe(1);
    expect(r.macroAvg).toEqual({ precision: 1, recall: 1, f1: 1, support: 4 });
    expect(r.weightedAvg).toEqual({ precision: 1, recall: 1, f1: 1, support: 4 });
  });

  it('returns zeros rather than NaN for no samples', () => {
    const r = classificationReport([], [], ['a', 'b']);
    expect(r.accuracy).toBe(0);
    expect(r.macroAvg).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.weightedAvg).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
  });

  it('refuses labels outside the class names', () => {
    expect(() => classificationReport([0, 4], [0, 1], NAMES)).toThrow(RangeError);
  });
});

describe('formatClassificationReport', () => {
  it('lays the report out exactly as sklearn.metrics.classification_report', () => {
    const text = formatClassificationReport(classificationReport(TRUTH, PREDICTED, NAMES));
    expect(text).toBe(
      [
        '              precision    recall  f1-score   support',
        '',
        '         cat       0.50      0.50      0.50         4',
        '         dog       0.67      0.67      0.67         3',
        '        bird       0.00      0.00      0.00         2',
        '        fish       0.00      0.00      0.00         0',
        '',
        '    accuracy                           0.44         9',
        '   macro avg       0.29      0.29      0.29         9',
        'weighted avg       0.44      0.44      0.44         9',
        '',
      ].join('\n'),
    );
  });

  it('widens the name column to the longest label and honours digits', () => {
    const r = classificationReport([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1, 1, 1, 1, 0], ['a rather long label', 'b']);
    expect(formatClassificationReport(r, 3)).toBe(
      [
        '                     precision    recall  f1-score   support',
        '',
        'a rather long label      0.500     0.500     0.500         2',
        '                  b      0.875     0.875     0.875         8',
        '',
        '           accuracy                          0.800        10',
        '          macro avg      0.688     0.688     0.688        10',
        '       weighted avg      0.800     0.800     0.800        10',
        '',
      ].join('\n'),
    );
    // 0.6875 is a binary tie at 3 digits; half to even and half up agree on 0.688 here.
    expect(formatClassificationReport(r, 0).split('\n')[3]).toBe('                  b          1         1         1         8');
  });

  it('rounds exact ties half to even, like Python (0.125 → 0.12)', () => {
    // class a: predicted 8 times, 1 right → precision 1/8.
    const r = classificationReport([0, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0], ['a', 'b']);
    expect(formatClassificationReport(r).split('\n')[2]).toBe('           a       0.12      1.00      0.22         1');
  });

  it('prints a full "micro avg" row instead of "accuracy" when a class occurs nowhere', () => {
    const r = classificationReport([0, 0, 1], [0, 1, 1], ['a', 'b', 'c']);
    expect(formatClassificationReport(r).split('\n').slice(6)).toEqual([
      '   micro avg       0.67      0.67      0.67         3',
      '   macro avg       0.50      0.50      0.44         3',
      'weighted avg       0.83      0.67      0.67         3',
      '',
    ]);
  });

  it('prints supports as floats when nothing is classified correctly, as sklearn does', () => {
    const r = classificationReport([0, 1], [1, 0], ['a', 'b']);
    expect(formatClassificationReport(r)).toBe(
      [
        '              precision    recall  f1-score   support',
        '',
        '           a       0.00      0.00      0.00       1.0',
        '           b       0.00      0.00      0.00       1.0',
        '',
        '    accuracy                           0.00       2.0',
        '   macro avg       0.00      0.00      0.00       2.0',
        'weighted avg       0.00      0.00      0.00       2.0',
        '',
      ].join('\n'),
    );
  });

  it('measures label width in code points', () => {
    const r = classificationReport([0, 1], [0, 1], ['naïve-résumé-café', '😀']);
    const lines = formatClassificationReport(r).split('\n');
    expect(lines[2]).toBe('naïve-résumé-café       1.00      1.00      1.00         1');
    expect(lines[3]).toBe('                😀       1.00      1.00      1.00         1');
  });
});
