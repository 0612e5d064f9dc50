import { launchTestServiceProcesses, TestServiceProcesses } from '@featx/testing';
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
});
