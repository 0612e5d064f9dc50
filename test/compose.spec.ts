import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasCompose) console.warn('skipping: docker-compose is not installed (apt-get install docker-compose)');
const maybe = hasCompose ? it : it.skip;

describe('docker-compose.yml', () => {
  const repo = path.resolve(__dirname, '..');
  const runFiles = (files: string[], env: Record<string, string>, ...args: string[]) =>
    spawnSync('docker-compose', [...files.flatMap((file) => ['-f', path.join(repo, file)]), ...args], { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8' });
  const run = (env: Record<string, string>, ...args: string[]) => runFiles(['docker-compose.yml'], env, ...args);
  const secrets = { FEATX_NATS_PASSWORD: 'nats-secret', FEATX_POSTGRES_PASSWORD: 'pg-secret', FEATX_API_TOKEN: '0123456789abcdef0123' };

  maybe('validates, with NATS, Postgres, the five services and two extractor replicas', () => {
    const services = run(secrets, 'config', '--services');
    expect(services.status).toBe(0);
    expect(services.stdout.trim().split('\n').sort()).toEqual(['api', 'extractor', 'feature-store', 'ingest', 'nats', 'postgres', 'trainer']);
    const full = run(secrets, 'config');
    expect(full.stdout).toMatch(/extractor:[\s\S]*?replicas: 2/);
    // On this one host the trainer reads the store's shard files (read-only) where they are, the bus otherwise.
    const trainer = full.stdout.slice(full.stdout.indexOf('\n  trainer:'));
    expect(trainer).toMatch(/FEATX_TRAINER_READ: auto/);
    expect(trainer).toMatch(/- features:\/features:ro/);
    // nats-server's collector at GOGC 400 (FEATX_NATS_GOGC), as tools/nats-server-env.ts starts it.
    expect(full.stdout.slice(full.stdout.indexOf('\n  nats:'))).toMatch(/^ {4}environment:\n {6}GOGC: '400'/m);
  });

  maybe('has no default passwords: it refuses to start without them', () => {
    const result = run({}, 'config', '-q');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/FEATX_(NATS|POSTGRES)_PASSWORD/);
  });

  maybe('docker-compose.cluster.yml on top: a 3-node JetStream cluster, R3 streams, every service given all three nodes', () => {
    const files = ['docker-compose.yml', 'docker-compose.cluster.yml'];
    const services = runFiles(files, secrets, 'config', '--services');
    expect(services.stderr).toBe('');
    expect(services.status).toBe(0);
    expect(services.stdout.trim().split('\n').sort()).toEqual(['api', 'extractor', 'feature-store', 'ingest', 'nats', 'nats-2', 'nats-3', 'postgres', 'trainer']);
    const full = runFiles(files, secrets, 'config');
    expect(full.status).toBe(0);
    const config = full.stdout;
    for (const node of ['nats-1', 'nats-2', 'nats-3']) expect(config).toMatch(new RegExp(`--server_name\\s+- ${node}\\s+- --cluster_name\\s+- featx`));
    const urls = config.match(/FEATX_NATS_URL: .*/g) ?? [];
    expect(urls).toHaveLength(5);
    for (const url of urls) expect(url).toBe('FEATX_NATS_URL: nats://nats:4222,nats://nats-2:4222,nats://nats-3:4222');
    expect(config.match(/FEATX_STREAM_REPLICAS: '3'/g)).toHaveLength(5);
    // The per-service settings of docker-compose.yml survive the merge.
    expect(config).toMatch(/FEATX_API_TOKEN: 0123456789abcdef0123/);
    expect(config).toMatch(/extractor:[\s\S]*?replicas: 2/);
    expect(config.match(/GOGC: '400'/g)).toHaveLength(3);
  });
});
