import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { Page } from 'playwright-core';
import { ensureWebConsoleBuilt, WEB_DIST_DIR } from '../tools/web-console';
import { createSyntheticFeatureSet } from './support/synthetic-features';
import type { RunDetails } from '@featx/contracts';
import { connectBus } from '@featx/bus';
import { TEST_NATS_URL } from './support/test-bus';
import { callTestApi, startTestServices, TestServices, TEST_API_TOKEN } from './support/test-services';
import { describeIf } from './support/skip-unless';
import { browserUnavailable, BrowserWindow, launchTestBrowser, TestBrowser, WEB_CONSOLE_ARTIFACTS } from './support/browser';

const BUNDLE_LIMIT_GZIP_BYTES = 250 * 1024;
const CLASSES = ['alpha', 'beta', 'gamma'];
const EPOCHS = 6;
const unavailable = browserUnavailable();

/**
 * The web console in a real Chromium against the real services (API, feature store, trainer on
 * NATS and Postgres): sign-in (a wrong token told clearly), the runs list, a run followed live from
 * queued to succeeded (its epochs pushed over SSE), the report and the confusion matrix with values
 * on hover, the feature-set and dataset lists; axe-core finds no serious violations, no console
 * errors, usable at 1280 and 390 px, and the bundle within its size budget.
 */
describeIf(unavailable === null, unavailable ?? '')('web console in Chromium', () => {
  let root: string;
  let services: TestServices;
  let db: Client;
  let browser: TestBrowser;
  let page: Page;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    await ensureWebConsoleBuilt(() => undefined);
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-web-')));
    services = await startTestServices({
      dataRoots: `data=${root}`,
      workers: ['feature-store'],
      env: { FEATX_FEATURES_DIR: path.join(root, 'features'), FEATX_ARTIFACTS_DIR: path.join(root, 'artifacts'), FEATX_STORE_ID: 'store-w', FEATX_TF_BACKEND: 'wasm' },
    });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    browser = await launchTestBrowser('run');
    page = browser.page;
  }, 180000);

  afterAll(async () => {
    await fs.writeFile(path.join(WEB_CONSOLE_ARTIFACTS, 'run', 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`).catch(() => undefined);
    await browser?.close();
    await db?.end();
    await services?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  }, 60000);

  const shot = (name: string) => browser.shot(name);
  const expectAccessible = async (where: string) => expect({ where, serious: await browser.seriousViolations() }).toEqual({ where, serious: [] });

  it('keeps the JS bundle within 250 KB gzip', () => {
    const assets = path.join(WEB_DIST_DIR, 'assets');
    const scripts = readdirSync(assets).filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    const gzipBytes = scripts.reduce((sum, file) => sum + gzipSync(readFileSync(path.join(assets, file)), { level: 9 }).length, 0);
    timings.bundleGzipBytes = gzipBytes;
    expect(gzipBytes).toBeLessThanOrEqual(BUNDLE_LIMIT_GZIP_BYTES);
  });

  it('is served at / on the API\'s port, beside /docs and the REST API, its hashed assets cached for good', async () => {
    const index = await fetch(`${services.apiUrl}/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    expect(html).toContain('<div id="root"></div>');
    const script = html.match(/src="\.\/(assets\/[^"]+\.js)"/)![1];
    const asset = await fetch(`${services.apiUrl}/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${services.apiUrl}/index.html`)).status).toBe(404); // only / and /assets/ are the console's
    expect((await fetch(`${services.apiUrl}/docs/json`)).status).toBe(200);
    expect((await callTestApi(services.apiUrl, 'GET', '/runs', undefined, null)).status).toBe(401);
    expect((await fetch(`${services.apiUrl}/events/feature-sets`)).status).toBe(401);
  });

  it('tells a wrong token clearly and keeps it out of the URL', async () => {
    const started = Date.now();
    await page.goto(`${services.apiUrl}/`);
    await page.getByLabel('API token').waitFor();
    timings.signInFormVisibleMs = Date.now() - started;
    await page.getByLabel('API token').fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/refused this token \(invalid API token\)/);
    expect(page.url()).not.toContain('not-the-token');
    await shot('sign-in-wrong-token');
    await expectAccessible('sign-in');
  });

  it('signs in, keeps the token for the tab only, and lists the runs', async () => {
    browser.watchErrors();
    // By keyboard alone: the token field, then Enter.
    await page.getByLabel('API token').fill('');
    await page.getByLabel('API token').focus();
    await page.keyboard.type(TEST_API_TOKEN);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as BrowserWindow).sessionStorage.getItem('featx.apiToken'))).toBe(TEST_API_TOKEN);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserWindow).localStorage.length)).toBe(0);
    expect(page.url()).not.toContain(TEST_API_TOKEN);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  });

  it('follows a run live from queued to succeeded: curves from SSE, report, confusion matrix with values on hover', async () => {
    const { featureSetId } = await createSyntheticFeatureSet(db, {
      classes: CLASSES,
      dim: 32,
      rows: { training: 600, validation: 120, evaluation: 120 },
      separable: true,
      seed: 3,
      storeId: 'store-w',
      featuresDir: path.join(root, 'features'),
    });
    // No trainer yet: the run stays queued while the page opens and its event stream connects.
    const queued = await callTestApi(services.apiUrl, 'POST', '/runs', { featureSetId, epochs: EPOCHS, learningRate: 0.01 });
    expect(queued.status).toBe(202);
    const runId: string = queued.body.runId;
    await page.goto(`${services.apiUrl}/#/runs/${runId}`);
    await page.getByTestId('live-indicator').getByText('live').waitFor();
    await shot('run-queued');

    await services.startWorker('trainer');

    await page.getByTestId('run-status').getByText('succeeded').waitFor({ timeout: 90000 });
    await page.getByTestId('run-epochs').getByText(`${EPOCHS} / ${EPOCHS}`).waitFor();
    // Every epoch arrived over the event stream while the page was open, not only from the final GET.
    expect(await page.getByTestId('live-indicator').textContent()).toContain(`${EPOCHS} epoch events`);
    await page.getByTestId('report-evaluation').waitFor();
    expect(await page.getByTestId('report-evaluation').textContent()).toMatch(/precision\s+recall\s+f1-score\s+support/);

    const lossChart = page.getByTestId('chart-Loss');
    const box = (await lossChart.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4);
    expect(await lossChart.getByTestId('chart-hover').textContent()).toMatch(/epoch \d+training loss: [\d.]+validation loss: [\d.]+/);
    // The same values by keyboard: focus the chart, arrow keys step through the epochs.
    await page.mouse.move(0, 0);
    await lossChart.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await lossChart.getByTestId('chart-hover').textContent()).toMatch(/^epoch 2training loss: [\d.]+validation loss: [\d.]+$/);
    await page.keyboard.press('Tab'); // on to the next focusable element; the readout goes with the focus
    expect(await lossChart.getByTestId('chart-hover').count()).toBe(0);

    const matrix = page.getByTestId('confusion-matrix').last();
    const cells = await matrix.locator('[data-testid^="confusion-cell-"]').count();
    expect(cells).toBe(CLASSES.length ** 2);
    await matrix.getByTestId('confusion-cell-1-1').hover();
    expect(await page.getByTestId('confusion-readout').last().textContent()).toMatch(/^true beta, predicted beta: \d+ \([\d.]+% of beta\)$/);
    await shot('run');
    await expectAccessible('run');

    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => (globalThis as unknown as BrowserWindow).document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot('run-390px');
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('link', { name: runId.slice(0, 8) }).waitFor();
    await shot('runs');
    await expectAccessible('runs');
  }, 150000);

  it('shows a head auto run\'s leaderboard: every candidate best first, the chosen one marked, accuracies as bars', async () => {
    const { featureSetId } = await createSyntheticFeatureSet(db, {
      classes: CLASSES,
      dim: 16,
      rows: { training: 300, validation: 90, evaluation: 90 },
      separable: true,
      seed: 4,
      storeId: 'store-w',
      featuresDir: path.join(root, 'features'),
    });
    const queued = await callTestApi(services.apiUrl, 'POST', '/runs', { featureSetId, head: 'auto', epochs: 3 });
    expect(queued.status).toBe(202);
    await page.goto(`${services.apiUrl}/#/runs/${queued.body.runId}`);
    await page.getByTestId('run-status').getByText('succeeded').waitFor({ timeout: 120000 });
    const board = page.getByTestId('leaderboard');
    await board.waitFor();
    const details = (await callTestApi(services.apiUrl, 'GET', `/runs/${queued.body.runId}`)).body as RunDetails;
    const rows = board.locator('tbody tr');
    expect(await rows.count()).toBe(details.candidates!.length);
    expect(await rows.locator('td:nth-child(2)').allTextContents()).toEqual(details.candidates!.map((c) => c.name));
    const chosen = board.locator('tr.candidate-chosen');
    expect(await chosen.count()).toBe(1);
    expect(await chosen.locator('td:nth-child(2)').textContent()).toBe((details.config.search as { chosen: string }).chosen);
    expect(await board.getByText('fit on the whole split (L-BFGS)').count()).toBeGreaterThan(0);
    expect(await board.locator('.bar').count()).toBe(details.candidates!.filter((c) => c.valAccuracy !== null).length);
    await shot('run-leaderboard');
    await expectAccessible('run-leaderboard');
  }, 150000);

  it('cancels a running run from its page', async () => {
    const featureSetId = (await db.query('SELECT id FROM feature_sets LIMIT 1')).rows[0].id;
    const queued = await callTestApi(services.apiUrl, 'POST', '/runs', { featureSetId, epochs: 5000 });
    await page.goto(`${services.apiUrl}/#/runs/${queued.body.runId}`);
    await page.getByTestId('run-status').getByText('running').waitFor({ timeout: 30000 });
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByTestId('run-status').getByText('cancelled').waitFor({ timeout: 30000 });
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
  }, 90000);

  it('shows a message the bus rejected on the activity page', async () => {
    const bus = await connectBus({ url: TEST_NATS_URL, name: 'web-console-test', namespace: services.namespace });
    try {
      await bus.js.publish(bus.names.subjects.createRun, new TextEncoder().encode('this is not a command'));
    } finally {
      await bus.nc.close();
    }
    for (let tries = 0; (await db.query('SELECT 1 FROM rejected_messages')).rowCount === 0; tries++) {
      if (tries > 100) throw new Error('the trainer did not reject the message within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.getByRole('link', { name: 'Activity' }).click();
    const row = page.getByTestId('rejected-messages').getByRole('row', { name: new RegExp(bus.names.subjects.createRun.replace(/\./g, '\\.')) });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/decode/);
    await shot('activity');
    await expectAccessible('activity');
  });

  it('lists the feature sets and the datasets', async () => {
    await page.getByRole('link', { name: 'Feature sets' }).click();
    await page.getByRole('heading', { name: 'Feature sets' }).waitFor();
    await page.locator('[data-testid^="feature-set-"]').first().waitFor();
    await shot('feature-sets');
    await expectAccessible('feature-sets');
    await page.getByRole('link', { name: 'Datasets' }).click();
    await page.getByRole('heading', { name: 'Datasets' }).waitFor();
    await page.getByRole('cell', { name: 'alpha, beta, gamma' }).first().waitFor();
    await shot('datasets');
    await expectAccessible('datasets');
  });

  it('signs in with a one-use link that carries a code, not the token, and tells a used link clearly', async () => {
    const issued = await callTestApi(services.apiUrl, 'POST', '/auth/sign-in-codes');
    expect(issued).toMatchObject({ status: 201, body: { path: expect.stringMatching(/^\/#\/sign-in\/[\w-]{24}$/) } });
    expect(JSON.stringify(issued.body)).not.toContain(TEST_API_TOKEN);
    expect((await callTestApi(services.apiUrl, 'POST', '/auth/sign-in-codes', undefined, null)).status).toBe(401);
    const readToken = () => page.evaluate(() => (globalThis as unknown as BrowserWindow).sessionStorage.getItem('featx.apiToken'));

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await readToken()).toBeNull();
    // As a link opened in a new tab: a fresh load of the page.
    await page.goto('about:blank');
    await page.goto(`${services.apiUrl}${issued.body.path}`);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    expect(await readToken()).toBe(TEST_API_TOKEN);
    // The code is gone from the address bar, and Back does not lead to it.
    expect(page.url()).toBe(`${services.apiUrl}/#/runs`);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto('about:blank');
    await page.goto(`${services.apiUrl}${issued.body.path}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      'The sign-in link did not work: this sign-in link was used already, or this API did not issue it (it may have restarted): ask for a new link, or sign in with the API token',
    );
    expect(page.url()).toBe(`${services.apiUrl}/#/runs`);
    expect(await readToken()).toBeNull();
    await shot('sign-in-link-used');
    await expectAccessible('sign-in-link-used');
    // The browser logs the refused exchange itself; nothing else may be logged.
    expect(browser.errors.splice(0)).toEqual([expect.stringMatching(/status of 401 \(Unauthorized\)$/)]);
    await browser.signIn(services.apiUrl);
  });

  it('logged no console errors once signed in', () => {
    expect(browser.errors).toEqual([]);
  });
});
