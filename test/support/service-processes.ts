import { launchServices, LaunchedServices, ServiceCode, ServiceInstance } from '../../tools/service-launcher';
import { createTestBus, testNamespace, TEST_NATS_URL } from './test-bus';
import { createTestDatabase, TestDatabase } from './test-database';

export const PROCESS_API_TOKEN = '0123456789abcdef0123';

export interface TestServiceProcesses {
  services: LaunchedServices;
  database: TestDatabase;
  namespace: string;
  /** Every log line of every process, prefixed with its instance label. */
  lines: string[];
  /** Stops the processes, drops the database and deletes the namespace's streams. */
  cleanup(): Promise<void>;
}

/**
 * Service processes as `npm run dev` ('sources') or the image ('build') starts them, against a
 * fresh database that they migrate themselves and a bus namespace of their own.
 */
export async function launchTestServiceProcesses(instances: ServiceInstance[], code: ServiceCode, env: NodeJS.ProcessEnv = process.env): Promise<TestServiceProcesses> {
  const database = await createTestDatabase({ migrate: false });
  const namespace = testNamespace();
  const lines: string[] = [];
  const services = launchServices(
    instances,
    { ...env, FEATX_NATS_URL: TEST_NATS_URL, FEATX_DATABASE_URL: database.url, FEATX_NAMESPACE: namespace, FEATX_API_TOKEN: PROCESS_API_TOKEN },
    (line) => lines.push(line),
    code,
  );
  return {
    services,
    database,
    namespace,
    lines,
    async cleanup() {
      await services.stop(2000);
      await database.drop();
      await (await createTestBus(namespace)).cleanup();
    },
  };
}
