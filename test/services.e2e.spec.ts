import { createTestDatabase, TestDatabase, testNamespace, TEST_NATS_URL, createTestBus } from '@featx/testing';
import { launchServices, LaunchedServices, serviceInstances } from '../tools/service-launcher';

/** The five services as real processes, as `npm run dev` starts them: ready, then SIGTERM stops them cleanly. */
describe('service processes', () => {
  let database: TestDatabase;
  let services: LaunchedServices;
  const namespace = testNamespace();
  const instances = serviceInstances(2, 700);
  const lines: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await services?.stop(2000);
    await database.drop();
    await (await createTestBus(namespace)).cleanup();
  });

  it('start (migrating one database together), report health, log JSON, and exit 0 on SIGTERM', async () => {
    services = launchServices(
      instances,
      { ...process.env, FEATX_NATS_URL: TEST_NATS_URL, FEATX_DATABASE_URL: database.url, FEATX_NAMESPACE: namespace, FEATX_API_TOKEN: '0123456789abcdef0123' },
      (line) => lines.push(line),
    );
    await services.ready(90000);
    for (const instance of instances) {
      const live = await fetch(`http://127.0.0.1:${instance.port}/health/live`);
      expect(live.status).toBe(200);
    }
    const started = lines.filter((l) => l.includes('"msg":"service started"'));
    expect(started).toHaveLength(instances.length);
    for (const line of started) expect(() => JSON.parse(line.replace(/^\[[^\]]+\] /, ''))).not.toThrow();

    const exits = await services.stop(15000);
    // Nest re-raises the signal after its shutdown hooks ran: ending by SIGTERM (not SIGKILL) is a clean stop.
    for (const exit of exits) expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    const shutdown = lines.filter((l) => l.includes('"msg":"shutting down"'));
    expect(shutdown).toHaveLength(instances.length);
  }, 120000);
});
