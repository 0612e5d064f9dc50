import { freePort, launchTestServiceProcesses, TestServiceProcesses } from '@featx/testing';
import { serviceInstances } from '../tools/service-launcher';

/** The five services as real processes, as `npm run dev` starts them: ready, then SIGTERM stops them cleanly. */
describe('service processes', () => {
  let processes: TestServiceProcesses | undefined;
  const instances = serviceInstances(2, 700);

  afterAll(() => processes?.cleanup());

  it('start (migrating one database together), report health, log JSON, and exit 0 on SIGTERM', async () => {
    processes = await launchTestServiceProcesses(instances, 'sources');
    const { services, lines } = processes;
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

  it('fail ready() at once, naming the service, when one exits before it is ready (two on one port)', async () => {
    const port = await freePort();
    const clash = await launchTestServiceProcesses(
      [
        { service: 'ingest', label: 'ingest-1', port },
        { service: 'ingest', label: 'ingest-2', port },
      ],
      'sources',
    );
    try {
      const started = Date.now();
      await expect(clash.services.ready(90000)).rejects.toThrow(/^ingest-[12] exited \(code 1, signal null\) before it was ready$/);
      expect(Date.now() - started).toBeLessThan(60000);
      expect(clash.lines.join('\n')).toMatch(/EADDRINUSE/);
    } finally {
      await clash.cleanup();
    }
  }, 120000);
});
