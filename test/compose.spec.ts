import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasCompose) console.warn('skipping: docker-compose is not installed (apt-get install docker-compose)');
const maybe = hasCompose ? it : it.skip;

describe('docker-compose.yml', () => {
  const repo = path.resolve(__dirname, '..');
  const run = (env: Record<string, string>, ...args: string[]) =>
    spawnSync('docker-compose', ['-f', path.join(repo, 'docker-compose.yml'), ...args], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8' });
  const secrets = { FEATX_NATS_PASSWORD: 'nats-secret', FEATX_POSTGRES_PASSWORD: 'pg-secret', FEATX_API_TOKEN: '0123456789abcdef0123' };

  maybe('validates, with NATS, Postgres, the five services and two extractor replicas', () => {
    const services = run(secrets, 'config', '--services');
    expect(services.status).toBe(0);
    expect(services.stdout.trim().split('\n').sort()).toEqual(['api', 'extractor', 'feature-store', 'ingest', 'nats', 'postgres', 'trainer']);
    const full = run(secrets, 'config');
    expect(full.stdout).toMatch(/extractor:[\s\S]*?replicas: 2/);
  });

  maybe('has no default passwords: it refuses to start without them', () => {
    const result = run({}, 'config', '-q');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/FEATX_(NATS|POSTGRES)_PASSWORD/);
  });
});
