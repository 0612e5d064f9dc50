/**
 * `npm run dev`: all five services on this machine against the configured NATS and Postgres
 * (started locally when they do not answer), logs prefixed per service; Ctrl-C stops everything.
 */
import * as path from 'node:path';
import { loadConfig } from '../libs/runtime/src/config';
import { ensureLocalStack, localServiceEnv } from './local-stack';
import { launchServices, serviceInstances } from './service-launcher';
import { consoleAddress, ensureWebConsoleBuilt } from './web-console';

async function main() {
  const config = loadConfig('api');
  await ensureWebConsoleBuilt((line) => console.log(`[dev] ${line}`));
  const stack = await ensureLocalStack({
    natsUrl: config.nats.url,
    databaseUrl: config.database.url,
    stateDir: config.stateDir,
    log: (line) => console.log(`[dev] ${line}`),
  });
  const replicas = Number(process.env.FEATX_EXTRACTOR_REPLICAS ?? 1);
  const services = launchServices(serviceInstances(replicas), localServiceEnv(stack));
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('[dev] stopping services…');
    await services.stop();
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  void services.exited.then(({ service, code }) => {
    if (!stopping) {
      console.error(`[dev] ${service} exited with code ${code}; stopping the others`);
      void stop(1);
    }
  });
  await services.ready();
  console.log(`[dev] all services ready; API at http://${config.http.host}:${config.http.port} (docs at /docs), state in ${path.relative(process.cwd(), config.stateDir) || '.'}`);
  console.log(`[dev] web console: ${await consoleAddress(`http://${config.http.host}:${config.http.port}`, config.stateDir)}`);
}

main().catch((error) => {
  console.error(`[dev] ${error.message}`);
  process.exit(1);
});
