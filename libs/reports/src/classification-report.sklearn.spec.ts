import { spawnSync } from 'node:child_process';
import { ClassificationReport, classificationReport, formatClassificationReport } from './classification-report';
import { numpyMean, numpyWeightedAverage } from './numpy-sum';
import { seededRandom } from './testing/sample-data';
import { describeIf } from '@featx/testing';

/**
 * Compares the text with scikit-learn's own, where a Python with scikit-learn is on this machine
 * (`FEATX_PYTHON`, `python3`, Debian's `/usr/bin/python3` or `python`); skipped otherwise.
 */
const python = findSklearnPython();

interface Case {
  names: string[];
  truth: number[];
  predicted: number[];
  digits: number;
}

const SKLEARN_SCRIPT = `
import json, sys, warnings
warnings.filterwarnings("ignore")
from sklearn.metrics import classification_report
print(json.dumps([
    classification_report(c["truth"], c["predicted"], labels=list(range(len(c["names"]))),
                          target_names=c["names"], digits=c["digits"])
    for c in json.load(sys.stdin)
]))
`;

describeIf(!!python, 'no python with scikit-learn found (FEATX_PYTHON, python3, /usr/bin/python3, python)')(`classification report text vs scikit-learn ${python?.version ?? ''}`, () => {
  const handCases: Case[] = [
    { names: ['cat', 'dog', 'bird', 'fish'], truth: [0, 0, 0, 0, 1, 1, 1, 2, 2], predicted: [0, 0, 1, 3, 1, 1, 0, 0, 3], digits: 2 },
    { names: ['a', 'b'], truth: [0, 1, 1, 1, 1, 1, 1, 1], predicted: [0, 0, 0, 0, 0, 0, 0, 0], digits: 2 },
    { names: ['a', 'b', 'c'], truth: [0, 0, 1], predicted: [0, 1, 1], digits: 2 },
    { names: ['a', 'b'], truth: [0, 1], predicted: [1, 0], digits: 2 },
    { names: ['a rather long label', 'b'], truth: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1], predicted: [0, 1, 1, 1, 1, 1, 1, 1, 1, 0], digits: 3 },
    { names: ['naïve-résumé-café', '😀', 'x'], truth: [0, 1, 2, 2], predicted: [0, 1, 2, 1], digits: 4 },
  ];
  const randomCases = generateCases(400);
  const cases = [...handCases, ...randomCases];
  let expected: string[] = [];

  beforeAll(() => {
    expected = runSklearn(python!.command, cases);
  });

  const actual = (c: Case) => {
    const report = classificationReport(c.truth, c.predicted, c.names);
    return formatClassificationReport(python!.before14 ? asSklearnBefore14(report) : report, c.digits);
  };

  it.each(handCases.map((c, i) => [i, c] as const))('hand case %i prints identically', (i, c) => {
    expect(actual(c)).toBe(expected[i]);
  });

  it(`${randomCases.length} random cases (2–13 classes, some absent or never predicted, digits 0–4) print identically`, () => {
    const mismatches = randomCases
      .map((c, i) => ({ c, mine: actual(c), theirs: expected[handCases.length + i] }))
      .filter((m) => m.mine !== m.theirs);
    expect(mismatches.slice(0, 3)).toEqual([]);
  });
});

/**
 * scikit-learn before 1.4 computed F1 as 2PR/(P+R) from the rounded P and R (and printed that
 * micro F1 in the accuracy row), which can land on the other side of a printed rounding tie;
 * 1.4 switched to 2·tp/(support + predicted), which this library follows. Against an older
 * sklearn the F1 values are recomputed its way, so the comparison still covers everything else.
 */
function asSklearnBefore14(report: ClassificationReport): ClassificationReport {
  const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));
  const perClass = report.perClass.map((m) => ({ ...m, f1: f1(m.precision, m.recall) }));
  const f1s = perClass.map((m) => m.f1);
  const supports = perClass.map((m) => m.support);
  return {
    ...report,
    perClass,
    accuracy: f1(report.accuracy, report.accuracy),
    macroAvg: { ...report.macroAvg, f1: numpyMean(f1s) },
    weightedAvg: { ...report.weightedAvg, f1: report.weightedAvg.support === 0 ? 0 : numpyWeightedAverage(f1s, supports) },
  };
}

function generateCases(count: number): Case[] {
  const random = seededRandom(20240611);
  const int = (below: number) => Math.floor(random() * below);
  return Array.from({ length: count }, (_, k) => {
    const classes = 2 + int(12);
    const samples = 1 + int(80);
    const names = Array.from({ length: classes }, (_, i) => `${'abcdefghij'.slice(0, 1 + int(10))}${'_'.repeat(int(8))}${i}`);
    // Skewed class frequencies so some classes get no samples and some are never predicted.
    const truth = Array.from({ length: samples }, () => Math.min(classes - 1, Math.floor(classes * random() ** 1.6)));
    const predicted = truth.map((t) => (random() < 0.65 ? t : int(classes)));
    return { names, truth, predicted, digits: [2, 2, 2, 3, 4, 1, 0][k % 7] };
  });
}

function runSklearn(command: string, cases: Case[]): string[] {
  const result = spawnSync(command, ['-c', SKLEARN_SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 26, timeout: 60_000 });
  if (result.status !== 0) throw new Error(`sklearn failed: ${result.stderr || result.error}`);
  return JSON.parse(result.stdout) as string[];
}

function findSklearnPython(): { command: string; version: string; before14: boolean } | undefined {
  const candidates = [process.env.FEATX_PYTHON, 'python3', '/usr/bin/python3', 'python'].filter((c): c is string => !!c);
  for (const command of candidates) {
    const probe = spawnSync(command, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8', timeout: 30_000 });
    if (probe.status === 0) {
      const version = probe.stdout.trim();
      const [major, minor] = version.split('.').map((part) => parseInt(part, 10));
      return { command, version, before14: major < 1 || (major === 1 && minor < 4) };
    }
  }
  return undefined;
}
