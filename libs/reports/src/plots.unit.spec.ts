import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { classificationReport, formatClassificationReport } from './classification-report';
import { confusionMatrixSvg, escapeXml, svgToPng, trainingCurvesSvg } from './plots';
import { CLOTHING_SMALL_CLASSES, sampleEpochs, sampleLabels } from './testing/sample-data';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Where the sample charts go, to be looked at by a person. */
const SAMPLES_DIR = '/tmp/featx-report-samples';

/** Renders through librsvg, which rejects a document that is not well-formed XML. */
async function render(svg: string, width?: number): Promise<{ png: Buffer; width: number; height: number; darkest: number }> {
  const png = await svgToPng(svg, { width });
  const meta = await sharp(png).metadata();
  const stats = await sharp(png).stats();
  return { png, width: meta.width!, height: meta.height!, darkest: Math.min(...stats.channels.slice(0, 3).map((c) => c.min)) };
}

describe('escapeXml', () => {
  it('escapes markup characters and replaces characters XML cannot carry', () => {
    expect(escapeXml(`<a href="x">Tom & Jerry's</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;');
    expect(escapeXml('bell\u0007 tab\t lone\ud800 pair😀')).toBe('bell\ufffd tab\t lone\ufffd pair😀');
  });
});

describe('trainingCurvesSvg', () => {
  const epochs = sampleEpochs(25);

  it('draws loss and accuracy panels with training and validation lines, axes and legend', async () => {
    const svg = trainingCurvesSvg(epochs, { title: 'clothing-small <MobileNetV2> & co' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('clothing-small &lt;MobileNetV2&gt; &amp; co');
    for (const label of ['Training and validation loss', 'Training and validation accuracy', '>Epoch<', '>Loss<', '>Accuracy<', '>Training<', '>Validation<', '>25<', '%<']) {
      expect(svg).toContain(label);
    }
    expect(svg.match(/<path /g)).toHaveLength(4); // train + validation, in each panel
    const { width, height, darkest } = await render(svg);
    expect([width, height]).toEqual([1000, 440]);
    expect(darkest).toBeLessThan(60); // text and lines were drawn, not a blank page
  });

  it('leaves validation out when the run has none, and breaks lines where a value is missing', () => {
    const trainOnly = trainingCurvesSvg(
      epochs.map(({ epoch, trainLoss, trainAccuracy }) => ({ epoch, trainLoss, trainAccuracy })),
      { title: 't' },
    );
    expect(trainOnly).not.toContain('Validation');
    expect(trainOnly).toContain('>Training loss<');
    expect(trainOnly.match(/<path /g)).toHaveLength(2);

    const gappy = trainingCurvesSvg(
      epochs.slice(0, 5).map((e, i) => ({ ...e, valLoss: i === 2 ? null : e.valLoss })),
      { title: 't' },
    );
    const validationLossPath = gappy.match(/<path d="([^"]+)"[^>]*stroke="#ff7f0e"/)![1];
    expect(validationLossPath.match(/M/g)).toHaveLength(2);
  });

  it('copes with one epoch, no epochs and unsorted input', async () => {
    await render(trainingCurvesSvg([{ epoch: 1, trainLoss: 0.7, trainAccuracy: 0.6, valLoss: 0.8, valAccuracy: 0.5 }], { title: 'one' }));
    const empty = trainingCurvesSvg([], { title: 'none' });
    expect(empty).toContain('no epochs recorded');
    await render(empty);
    const reversed = trainingCurvesSvg([...epochs].reverse(), { title: 'x' });
    expect(reversed).toBe(trainingCurvesSvg(epochs, { title: 'x' }));
  });
});

describe('confusionMatrixSvg', () => {
  const { truth, predicted } = sampleLabels();
  const confusion = classificationReport(truth, predicted, CLOTHING_SMALL_CLASSES).confusion;

  it('draws one cell per pair with its count, class names on both axes and a colour scale', async () => {
    const svg = confusionMatrixSvg(confusion, CLOTHING_SMALL_CLASSES, { title: 'clothing-small evaluation' });
    for (const name of CLOTHING_SMALL_CLASSES) expect(svg.split(`>${name}<`)).toHaveLength(3); // y and x axis
    expect(svg).toContain('>True label<');
    expect(svg.match(/<rect x="[^"]+" y="[^"]+" width="60" height="60"/g)).toHaveLength(100);
    expect(svg).toContain(`>${confusion[9][9]}<`);
    expect(svg).toContain('rotate(-45'); // 'longsleeve' is wider than its column
    expect(svg).toContain('<linearGradient');
    const { width, height, darkest } = await render(svg);
    expect(width).toBeGreaterThan(600);
    expect(height).toBeGreaterThan(600);
    expect(darkest).toBeLessThan(60);
  });

  it('writes contrasting text: white on the darkest cell, dark on light ones', () => {
    const svg = confusionMatrixSvg([[90, 10], [5, 95]], ['a', 'b'], { title: 't' });
    expect(svg).toMatch(/fill="#ffffff">95</);
    expect(svg).toMatch(/fill="#1a1a1a">10</);
  });

  it('normalises by true class on request, keeping counts visible', () => {
    const svg = confusionMatrixSvg([[3, 1], [0, 0]], ['a', 'b'], { title: 't', normalize: true });
    expect(svg).toContain('>75%<');
    expect(svg).toContain('>(3)<');
    expect(svg).toContain('>25%<');
    expect(svg).toContain('rows sum to 100%');
  });

  it('escapes class names and titles, and keeps short names level', async () => {
    const svg = confusionMatrixSvg([[1, 0], [0, 1]], ['<b>', 'a&b'], { title: '"quoted" <title>' });
    expect(svg).toContain('&lt;b&gt;');
    expect(svg).toContain('a&amp;b');
    expect(svg).toContain('&quot;quoted&quot; &lt;title&gt;');
    expect(svg).not.toContain('rotate(-45');
    await render(svg);
  });

  it('refuses a matrix that does not match the class names', () => {
    expect(() => confusionMatrixSvg([[1, 2]], ['a'], { title: 't' })).toThrow(/1 × 1/);
    expect(() => confusionMatrixSvg([[1]], [], { title: 't' })).toThrow(RangeError);
    expect(() => confusionMatrixSvg([[-1]], ['a'], { title: 't' })).toThrow(/non-negative/);
  });
});

describe('svgToPng', () => {
  const svg = trainingCurvesSvg(sampleEpochs(5), { title: 't' });

  it('returns a PNG at the SVG size, or at the width asked with the aspect ratio kept', async () => {
    const png = await svgToPng(svg);
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 1000, height: 440 });
    expect(await sharp(await svgToPng(svg, { width: 2000 })).metadata()).toMatchObject({ width: 2000, height: 880 });
    expect(await sharp(await svgToPng(svg, { width: 500 })).metadata()).toMatchObject({ width: 500, height: 220 });
  });

  it('rejects a document that is not well-formed, and a bad width', async () => {
    await expect(svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>a & b</text></svg>')).rejects.toThrow();
    await expect(svgToPng(svg, { width: 0 })).rejects.toThrow(RangeError);
  });
});

describe('sample report for clothing-small (written for people to look at)', () => {
  it(`writes curves.png, confusion.png, confusion-normalized.png and report.txt to ${SAMPLES_DIR}`, async () => {
    const { truth, predicted } = sampleLabels();
    const report = classificationReport(truth, predicted, CLOTHING_SMALL_CLASSES);
    const curves = trainingCurvesSvg(sampleEpochs(25), { title: 'clothing-small · MobileNetV2 features · 25 epochs' });
    const matrix = confusionMatrixSvg(report.confusion, CLOTHING_SMALL_CLASSES, { title: 'clothing-small · evaluation split' });
    const shares = confusionMatrixSvg(report.confusion, CLOTHING_SMALL_CLASSES, { title: 'clothing-small · evaluation split', normalize: true });

    mkdirSync(SAMPLES_DIR, { recursive: true });
    const files: Array<[string, Buffer | string]> = [
      ['curves.png', await svgToPng(curves, { width: 1500 })],
      ['confusion.png', await svgToPng(matrix)],
      ['confusion-normalized.png', await svgToPng(shares)],
      ['curves.svg', curves],
      ['confusion.svg', matrix],
      ['report.txt', formatClassificationReport(report)],
    ];
    for (const [name, content] of files) writeFileSync(path.join(SAMPLES_DIR, name), content);
    expect((await sharp(path.join(SAMPLES_DIR, 'curves.png')).metadata()).width).toBe(1500);
    expect(report.perClass.map((m) => m.support).reduce((a, b) => a + b)).toBe(372);
  });
});
