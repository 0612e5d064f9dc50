import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import sharp from 'sharp';
import { startTestServices, TestServices, TEST_API_TOKEN } from '../support/test-services';
import { runCli } from '../../apps/cli/src/cli';

/** Hostile use of the admin API: each bad request is a 4xx naming the problem, and writes nothing. Then a load test. */
describe('hostile API use', () => {
  let dataRoot: string;
  let services: TestServices;
  let db: Client;
  let datasetId: string;

  beforeAll(async () => {
    dataRoot = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'featx-hostile-api-')));
    for (const label of ['a', 'b']) {
      await fs.mkdir(path.join(dataRoot, 'ok', 'training', label), { recursive: true });
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).jpeg().toFile(path.join(dataRoot, 'ok', 'training', label, '1.jpg'));
    }
    services = await startTestServices({ dataRoots: `data=${dataRoot}`, env: { FEATX_API_BODY_LIMIT: '64kb' } });
    db = new Client({ connectionString: services.database.url });
    await db.connect();
    const out: string[] = [];
    expect(await runCli(['--api-url', services.apiUrl, '--token', TEST_API_TOKEN, 'datasets', 'add', path.join(dataRoot, 'ok'), '--json'], (t) => out.push(t), () => undefined)).toBe(0);
    datasetId = JSON.parse(out.join('\n')).dataset.id;
  });

  afterAll(async () => {
    await db?.end();
    await services?.close();
    await fs.rm(dataRoot, { recursive: true, force: true });
  });

  async function request(method: string, route: string, body?: string, headers: Record<string, string> = { authorization: `Bearer ${TEST_API_TOKEN}` }) {
    const response = await fetch(`${services.apiUrl}${route}`, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, body: json };
  }

  const written = async () => {
    const { rows } = await db.query('SELECT (SELECT count(*) FROM commands)::int AS commands, (SELECT count(*) FROM datasets)::int AS datasets, (SELECT count(*) FROM feature_sets)::int AS feature_sets, (SELECT count(*) FROM training_runs)::int AS runs');
    return rows[0];
  };

  describe('authentication', () => {
    for (const [what, headers] of [
      ['no token', {}],
      ['a wrong token', { authorization: 'Bearer wrong-token-0123456789abcdef' }],
      ['a token of another length', { authorization: `Bearer ${TEST_API_TOKEN}x` }],
      ['a Basic header', { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` }],
    ] as const) {
      it(`answers 401 to ${what}, on reads and writes`, async () => {
        const before = await written();
        for (const [method, route, body] of [['GET', '/datasets'], ['GET', `/datasets/${datasetId}`], ['GET', '/rejected-messages'], ['GET', '/images/1/thumbnail'], ['POST', '/datasets', JSON.stringify({ path: 'ok' })], ['POST', '/auth/sign-in-codes']] as const) {
          const response = await request(method, route, body, headers as Record<string, string>);
          expect({ route, status: response.status }).toEqual({ route, status: 401 });
        }
        expect(await written()).toEqual(before);
      });
    }
    it('leaves /health/ready open', async () => {
      expect((await request('GET', '/health/ready', undefined, {})).status).toBe(200);
    });
  });

  const bad: Array<{ what: string; method: string; route: () => string; body: string; status: number; message: RegExp }> = [
    { what: 'malformed JSON', method: 'POST', route: () => '/datasets', body: '{"path": "ok",', status: 400, message: /JSON|Unexpected|parse/i },
    { what: 'a wrong type', method: 'POST', route: () => '/datasets', body: JSON.stringify({ path: 42 }), status: 400, message: /path/ },
    { what: 'a missing field', method: 'POST', route: () => '/datasets', body: JSON.stringify({ layout: 'class' }), status: 400, message: /path/ },
    { what: 'an unknown field', method: 'POST', route: () => '/datasets', body: JSON.stringify({ path: 'ok', rm: '-rf' }), status: 400, message: /rm|unrecognized/i },
    { what: 'a JSON array body', method: 'POST', route: () => '/datasets', body: '[1,2]', status: 400, message: /expected object|object/i },
    { what: 'traversal in datasets.path (..)', method: 'POST', route: () => '/datasets', body: JSON.stringify({ path: '../../../../etc' }), status: 400, message: /path.*(outside|data root)/ },
    { what: 'an absolute datasets.path outside the roots', method: 'POST', route: () => '/datasets', body: JSON.stringify({ path: '/etc' }), status: 400, message: /path.*(outside|data root)/ },
    { what: 'a NUL byte in datasets.path', method: 'POST', route: () => '/datasets', body: JSON.stringify({ path: 'ok\u0000/../../etc' }), status: 400, message: /path/ },
    { what: 'traversal in a feature set model path', method: 'POST', route: () => '/feature-sets', body: JSON.stringify({ datasetId: '__DATASET__', model: '../../../../../usr/lib' }), status: 400, message: /model.*(outside|data root)/ },
    { what: 'an absolute model path outside the roots', method: 'POST', route: () => '/feature-sets', body: JSON.stringify({ datasetId: '__DATASET__', model: '/etc' }), status: 400, message: /model.*(outside|data root)/ },
    { what: 'a wrong type in feature sets', method: 'POST', route: () => '/feature-sets', body: JSON.stringify({ datasetId: '__DATASET__', model: 'resnet50', batchSize: 'many' }), status: 400, message: /batchSize/ },
    { what: 'a bad UUID', method: 'POST', route: () => '/feature-sets', body: JSON.stringify({ datasetId: "1' OR '1'='1", model: 'resnet50' }), status: 400, message: /datasetId/ },
    { what: 'traversal in predict paths', method: 'POST', route: () => `/runs/${randomUUID()}/predict`, body: JSON.stringify({ paths: ['ok/training/a/1.jpg', '../../../../etc/passwd'] }), status: 400, message: /paths\.1.*(outside|data root)/ },
    { what: 'an absolute predict path outside the roots', method: 'POST', route: () => `/runs/${randomUUID()}/predict`, body: JSON.stringify({ paths: ['/etc/passwd'] }), status: 400, message: /paths\.0/ },
    { what: 'a wrong type in runs', method: 'POST', route: () => '/runs', body: JSON.stringify({ featureSetId: randomUUID(), epochs: -3 }), status: 400, message: /epochs/ },
    { what: 'a malformed id in the URL', method: 'GET', route: () => '/datasets/..%2F..%2Fetc', body: undefined as unknown as string, status: 400, message: /id/ },
    { what: 'an oversized body (over FEATX_API_BODY_LIMIT)', method: 'POST', route: () => '/datasets', body: JSON.stringify({ path: 'ok', name: 'x'.repeat(100 * 1024) }), status: 413, message: /too large|large/i },
  ];

  for (const c of bad) {
    it(`refuses ${c.what} with ${c.status} naming the problem, and writes nothing`, async () => {
      const before = await written();
      const response = await request(c.method, c.route(), c.body?.replace('__DATASET__', datasetId));
      expect(response.status).toBe(c.status);
      expect(JSON.stringify(response.body)).toMatch(c.message);
      expect(await written()).toEqual(before);
    });
  }

  it(`sustains 200 requests/s for 30 s on read endpoints with no error (p50, p99)`, async () => {
    const routes = ['/datasets', `/datasets/${datasetId}`, '/health/ready'];
    const RATE = 200;
    const SECONDS = Number(process.env.FEATX_LOAD_TEST_SECONDS ?? 30);
    const total = Math.min(6000, RATE * SECONDS);
    const latencies: number[] = [];
    const errors: string[] = [];
    const pending: Promise<void>[] = [];
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const route = routes[i % routes.length];
      const t0 = performance.now();
      pending.push(
        fetch(`${services.apiUrl}${route}`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } })
          .then(async (response) => {
            await response.arrayBuffer();
            latencies.push(performance.now() - t0);
            if (response.status !== 200) errors.push(`${route}: ${response.status}`);
          })
          .catch((error) => {
            errors.push(`${route}: ${(error as Error).message}`);
          }),
      );
    }
    await Promise.all(pending);
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    console.log(`load test: ${total} requests in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(1)} req/s), errors ${errors.length}, p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms, max ${latencies[latencies.length - 1].toFixed(2)} ms`);
    expect(errors).toEqual([]);
    expect(latencies).toHaveLength(total);
    expect(total / elapsed).toBeGreaterThan(RATE * 0.9);
  }, 60000);
});
