import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Page } from 'playwright-core';
import { SHARED_DIR, sharedAvailable } from './support/shared-folder';
import { describeIf } from './support/skip-unless';
import { startTestServices, TestServices } from './support/test-services';
import { ensureWebConsoleBuilt } from '../tools/web-console';
import { browserUnavailable, BrowserWindow, launchTestBrowser, TestBrowser } from './support/browser';

const MODEL_DIR = path.join(SHARED_DIR, 'models/mobilenet_v2_1.0_224');
const PHOTOS = path.join(SHARED_DIR, 'models/test_images');
const CLOTHING = path.join(SHARED_DIR, 'datasets/clothing-small');
const CLASSES = ['hat', 'pants', 'shoes'];
const PER_SPLIT = { training: 6, validation: 3, evaluation: 3 } as const;
const IMAGES = 3 * (6 + 3 + 3) + 2; // two files that are not images

const browserMissing = browserUnavailable();
const sharedMissing = sharedAvailable('models/mobilenet_v2_1.0_224') && sharedAvailable('datasets/clothing-small') ? null : `${SHARED_DIR} lacks the MobileNetV2 or clothing-small`;
const unavailable = browserMissing ?? sharedMissing;

/**
 * What a user does in the console, in Chromium, against every service (ingest, extractor, feature
 * store, trainer, API) on the real NATS and Postgres, with real photos (a clothing-small subset)
 * and the shared MobileNetV2: a bad path told clearly, a dataset added and its split x class counts,
 * an extraction followed to 100% with its two failed images and their reasons, two runs trained
 * from the feature set's page and compared side by side, and a photo classified by upload.
 */
describeIf(unavailable === null, unavailable ?? '')('web console workflow in Chromium (clothing-small subset, MobileNetV2)', () => {
  let dataRoot: string;
  let folder: string;
  let services: TestServices;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    await ensureWebConsoleBuilt(() => undefined);
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-web-flow-')));
    folder = path.join(dataRoot, 'clothing-subset');
    for (const [split, count] of Object.entries(PER_SPLIT)) {
      for (const label of CLASSES) {
        const names = (await fs.readdir(path.join(CLOTHING, split, label))).sort().slice(0, count);
        await fs.mkdir(path.join(folder, split, label), { recursive: true });
        for (const name of names) await fs.copyFile(path.join(CLOTHING, split, label, name), path.join(folder, split, label, name));
      }
    }
    await fs.writeFile(path.join(folder, 'training', 'hat', 'not-an-image.jpg'), 'this is text, not a JPEG');
    const good = await fs.readFile(path.join(folder, 'training', 'pants', (await fs.readdir(path.join(folder, 'training', 'pants')))[0]));
    await fs.writeFile(path.join(folder, 'training', 'pants', 'truncated.jpg'), good.subarray(0, 600));
    services = await startTestServices({
      dataRoots: `data=${dataRoot},shared=${SHARED_DIR}`,
      workers: ['ingest', 'feature-store', 'extractor', 'trainer'],
      env: { FEATX_FEATURES_DIR: path.join(dataRoot, 'features'), FEATX_ARTIFACTS_DIR: path.join(dataRoot, 'artifacts'), FEATX_TF_BACKEND: 'wasm', FEATX_WEIGHTS_DIR: path.join(dataRoot, 'weights'), FEATX_WEIGHTS_DOWNLOAD: 'false' },
    });
    browser = await launchTestBrowser('workflow');
    page = browser.page;
    browser.watchErrors();
    await browser.signIn(services.apiUrl);
  }, 180000);

  afterAll(async () => {
    await browser?.close();
    await services?.close();
    if (dataRoot) await fs.rm(dataRoot, { recursive: true, force: true });
  }, 60000);

  const expectAccessible = async (where: string) => expect({ where, serious: await browser.seriousViolations() }).toEqual({ where, serious: [] });

  it('tells a path outside the data roots clearly, then adds the dataset and shows its split x class counts', async () => {
    await page.getByRole('link', { name: 'Datasets' }).click();
    const form = page.getByRole('form', { name: 'Add a dataset' });
    await form.getByLabel('Folder').fill('/etc');
    await form.getByRole('button', { name: 'Add dataset' }).click();
    await form.getByRole('alert').waitFor();
    expect(await form.getByRole('alert').textContent()).toMatch(/^path: .*\/etc.*HTTP 400\)$/);
    await browser.shot('datasets-bad-path');
    // The browser logs the refused request itself; nothing else may be logged.
    expect(browser.errors.splice(0)).toEqual([expect.stringMatching(/status of 400 \(Bad Request\)$/)]);

    await form.getByLabel('Folder').fill(folder);
    await form.getByRole('button', { name: 'Add dataset' }).click();
    await form.getByRole('status').waitFor({ timeout: 60000 });
    expect(await form.getByRole('status').textContent()).toBe(`Registered ${folder}: ${IMAGES} images (${IMAGES} added, 0 changed, 0 removed since the last scan).`);
    await page.getByRole('link', { name: 'clothing-subset' }).click();
    const counts = page.getByTestId('split-class-counts');
    await counts.waitFor();
    expect(await counts.getByRole('row', { name: /^hat/ }).textContent()).toBe('hat73313'); // one more training file: not-an-image.jpg
    await page.getByText('No file has gone missing since it was registered.').waitFor();
    await browser.shot('dataset');
    await expectAccessible('dataset');
  }, 90000);

  it('extracts features from the dataset page and follows the set to 100%, its failed images listed with their reasons', async () => {
    const form = page.getByRole('form', { name: 'Extract features' });
    await form.getByLabel('Model').fill(MODEL_DIR);
    await form.getByRole('button', { name: 'Extract' }).click();
    await page.getByRole('heading', { name: 'Feature sets' }).waitFor();
    // No polling: the page learns of the progress and the end from the bus's events, over SSE.
    await page.getByTestId('progress').getByText(`${IMAGES} / ${IMAGES} (100%)`).waitFor({ timeout: 120000 });
    await browser.shot('feature-sets');
    await page.locator('[data-testid^="feature-set-"] a').first().click();
    await page.getByTestId('feature-set-status').getByText('complete').waitFor();
    const failures = page.getByTestId('failures');
    await failures.waitFor();
    expect(await failures.getByRole('row').count()).toBe(3);
    expect(await failures.getByRole('row', { name: /not-an-image\.jpg/ }).textContent()).toMatch(/not-an-image\.jpg\S/);
    expect(await failures.getByRole('row', { name: /truncated\.jpg/ }).textContent()).toMatch(/truncated\.jpg\S/);
    // A failed image has no thumbnail either: its place says so, with the API's reason on hover.
    for (const name of ['not-an-image.jpg', 'truncated.jpg']) {
      const placeholder = failures.getByRole('row', { name: new RegExp(name.replace('.', '\\.')) }).getByRole('img', { name: /no preview$/ });
      await placeholder.waitFor();
      expect(await placeholder.getAttribute('title')).toMatch(/^image \d+ \(data:clothing-subset\/training\/\w+\/[\w.-]+\) cannot be read as an image: .+/);
    }
    // The browser logs the refused thumbnail requests itself (one per failed image); nothing else may be logged.
    const logged = browser.errors.splice(0);
    expect(logged.length).toBeGreaterThanOrEqual(2);
    expect(logged.filter((error) => !/status of 422 \(Unprocessable Entity\)$/.test(error))).toEqual([]);
    await browser.shot('feature-set');
    await expectAccessible('feature-set');
  }, 150000);

  async function train(epochs: number, learningRate: string) {
    const form = page.getByRole('form', { name: 'Train a head' });
    await form.getByLabel('Epochs').fill(String(epochs));
    await form.getByLabel('Learning rate').fill(learningRate);
    await form.getByRole('button', { name: 'Train' }).click();
    await page.getByTestId('run-status').getByText('succeeded').waitFor({ timeout: 120000 });
    await page.getByTestId('run-epochs').getByText(`${epochs} / ${epochs}`).waitFor();
    return page.url().split('#/runs/')[1];
  }

  /** Opens the first non-empty cell of the evaluation split's confusion matrix by keyboard: its images, each with its thumbnail, classes and probability. */
  async function openConfusionCell() {
    const matrix = page.getByTestId('confusion-matrix').last();
    const cells = matrix.getByRole('button', { name: /show its images$/ });
    expect(await cells.count()).toBe(CLASSES.length ** 2);
    let cell = cells.first();
    let label = '';
    for (let i = 0; i < CLASSES.length ** 2; i++) {
      label = (await cells.nth(i).getAttribute('aria-label'))!;
      cell = cells.nth(i);
      if (!/: 0 \(/.test(label)) break;
    }
    const [, trueClass, predictedClass, count] = label.match(/^true (\w+), predicted (\w+): (\d+) /)!;
    await cell.focus();
    await page.keyboard.press('Enter');
    const images = page.getByTestId('cell-images');
    await images.getByRole('heading', { name: `evaluation split: true ${trueClass}, predicted ${predictedClass} (${count} ${count === '1' ? 'image' : 'images'})` }).waitFor();
    const items = images.getByTestId('cell-image');
    await items.nth(Number(count) - 1).waitFor();
    expect(await items.count()).toBe(Number(count));
    for (let i = 0; i < Number(count); i++) {
      const item = items.nth(i);
      expect(await item.textContent()).toMatch(new RegExp(`^clothing-subset/evaluation/${trueClass}/[^/]+true ${trueClass}, predicted ${predictedClass} \\d+\\.\\d%$`));
      // The thumbnail came with the token (an object URL), decoded by the browser.
      const thumbnail = item.getByRole('img');
      await item.locator('img[src^="blob:"]').waitFor();
      expect(await thumbnail.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(192);
    }
    await browser.shot('confusion-cell');
    await expectAccessible('confusion-cell');
  }

  it('trains two runs from the feature set page and compares them side by side', async () => {
    const featureSetUrl = page.url();
    const first = await train(8, '0.01');
    await page.getByTestId('confusion-matrix').first().waitFor();
    await browser.shot('workflow-run');
    await openConfusionCell();
    await page.goto(featureSetUrl);
    const second = await train(4, '0.001');
    // The feature set's page asked again for its failed images' thumbnails (refused, as before): nothing else may be logged.
    expect(browser.errors.splice(0).filter((error) => !/status of 422 \(Unprocessable Entity\)$/.test(error))).toEqual([]);

    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByLabel(`compare run ${first.slice(0, 8)}`).check();
    await page.getByLabel(`compare run ${second.slice(0, 8)}`).check();
    await page.getByRole('link', { name: 'Compare 2 runs' }).click();
    await page.getByTestId(`compared-${first}`).waitFor();
    await page.getByTestId(`compared-${second}`).waitFor();
    expect(await page.getByTestId('confusion-matrix').count()).toBe(2);
    const curves = page.getByTestId('chart-Validation loss');
    expect(await curves.locator('path').count()).toBe(2);
    await browser.shot('compare');
    await expectAccessible('compare');
  }, 240000);

  it('classifies an uploaded photo with the chosen run', async () => {
    await page.getByRole('link', { name: 'Predict' }).click();
    const form = page.getByRole('form', { name: 'Classify images' });
    await form.getByLabel('Images').setInputFiles([path.join(PHOTOS, 'hot_dog.jpg'), path.join(PHOTOS, 'parrot.jpg')]);
    await form.getByRole('button', { name: 'Classify' }).click();
    await form.getByRole('status').waitFor({ timeout: 60000 });
    const table = page.getByTestId('predictions');
    for (const photo of ['hot_dog.jpg', 'parrot.jpg']) {
      const items = await table.getByRole('row', { name: new RegExp(photo) }).getByRole('listitem').allTextContents();
      expect(items).toHaveLength(3);
      for (const item of items) expect(item).toMatch(/^(hat|pants|shoes) \d+\.\d%$/);
    }
    await browser.shot('predict');
    await expectAccessible('predict');
  }, 90000);

  it('fits every page in a 390 px wide screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const loaded: Record<string, string> = { Runs: 'main table', 'Feature sets': 'main table', Datasets: 'main table', Predict: 'main form', Activity: 'main h2' };
    for (const [link, content] of Object.entries(loaded)) {
      await page.getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: link, level: 1 }).waitFor();
      await page.locator(content).first().waitFor();
      const width = await page.evaluate(() => (globalThis as unknown as BrowserWindow).document.documentElement.scrollWidth);
      expect({ link, width }).toEqual({ link, width: 390 });
      await browser.shot(`${link.toLowerCase().replace(' ', '-')}-390px`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('logged no console errors', () => {
    expect(browser.errors).toEqual([]);
  });
});
