import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, DEFAULT_HTTP_PORTS, loadConfig } from './config';

describe('configuration from environment variables', () => {
  it('has working local defaults', () => {
    const config = loadConfig('ingest', {});
    expect(config.nats.url).toBe('nats://127.0.0.1:4222');
    expect(config.nats.namespace).toBe('featx');
    expect(config.http.port).toBe(DEFAULT_HTTP_PORTS.ingest);
    expect(config.api.authDisabled).toBe(false);
    expect(config.dataRoots).toMatch(/^local=\//);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig('api', { FEATX_HTTP_PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig('api', { FEATX_HTTP_PORT: 'eighty' })).toThrow(/variable "FEATX_HTTP_PORT"/);
    expect(() => loadConfig('api', { FEATX_API_TOKEN: 'short' })).toThrow(/variable "FEATX_API_TOKEN": must be at least 16 characters/);
    expect(() => loadConfig('api', { FEATX_AUTH_DISABLED: 'maybe' })).toThrow(/FEATX_AUTH_DISABLED/);
  });

  it('reads shard rows over the bus unless told to read the files, with 8 MiB in flight', () => {
    expect(loadConfig('trainer', {}).training).toMatchObject({ read: 'bus', readAheadBytes: 8 * 1024 * 1024 });
    expect(loadConfig('trainer', { FEATX_TRAINER_READ: 'direct', FEATX_TRAINER_READ_AHEAD_MB: '2.5' }).training).toMatchObject({ read: 'direct', readAheadBytes: 2.5 * 1024 * 1024 });
    expect(() => loadConfig('trainer', { FEATX_TRAINER_READ: 'nfs' })).toThrow('variable "FEATX_TRAINER_READ": Invalid option: expected one of "bus"|"direct"|"auto"');
    expect(() => loadConfig('trainer', { FEATX_TRAINER_READ_AHEAD_MB: '0' })).toThrow(/variable "FEATX_TRAINER_READ_AHEAD_MB"/);
  });

  it('searches head auto in one trainer unless FEATX_SEARCH_SHARES splits it (1-36)', () => {
    expect(loadConfig('trainer', {}).training.searchShares).toBe(1);
    expect(loadConfig('trainer', { FEATX_SEARCH_SHARES: '3' }).training.searchShares).toBe(3);
    expect(() => loadConfig('trainer', { FEATX_SEARCH_SHARES: '37' })).toThrow(/variable "FEATX_SEARCH_SHARES"/);
  });

  describe('secrets from files (FEATX_NATS_PASSWORD_FILE, FEATX_NATS_TOKEN_FILE, FEATX_DATABASE_URL_FILE)', () => {
    let dir: string;
    const secret = (name: string, content: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return file;
    };
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'featx-secrets-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads each secret from its file, trimmed', () => {
      const config = loadConfig('ingest', {
        FEATX_NATS_USER: 'featx',
        FEATX_NATS_PASSWORD_FILE: secret('nats-password', '  s3cret pass\n'),
        FEATX_NATS_TOKEN_FILE: secret('nats-token', 'tok-123\r\n'),
        FEATX_DATABASE_URL_FILE: secret('db-url', 'postgres://featx:pw@db:5432/featx\n'),
      });
      expect(config.nats).toMatchObject({ user: 'featx', password: 's3cret pass', token: 'tok-123' });
      expect(config.database.url).toBe('postgres://featx:pw@db:5432/featx');
    });

    it('takes the plain variables as before when no file is named', () => {
      const config = loadConfig('ingest', { FEATX_NATS_PASSWORD: 'p', FEATX_NATS_TOKEN: 't', FEATX_DATABASE_URL: 'postgres://x@y/z', FEATX_NATS_PASSWORD_FILE: '' });
      expect(config.nats).toMatchObject({ password: 'p', token: 't' });
      expect(config.database.url).toBe('postgres://x@y/z');
    });

    it('refuses a variable set both plainly and as a file, naming both', () => {
      for (const name of ['FEATX_NATS_PASSWORD', 'FEATX_NATS_TOKEN', 'FEATX_DATABASE_URL']) {
        const env = { [name]: 'plain', [`${name}_FILE`]: secret(`both-${name}`, 'from-file') };
        expect(() => loadConfig('api', env)).toThrow(ConfigError);
        expect(() => loadConfig('api', env)).toThrow(new RegExp(`variable "${name}" and variable "${name}_FILE" are both set`));
      }
    });

    it('names the variable when its file is missing or empty', () => {
      expect(() => loadConfig('api', { FEATX_NATS_TOKEN_FILE: path.join(dir, 'absent') })).toThrow(/variable "FEATX_NATS_TOKEN_FILE": cannot read .*absent \(ENOENT\)/);
      expect(() => loadConfig('api', { FEATX_DATABASE_URL_FILE: secret('empty', ' \n') })).toThrow(/variable "FEATX_DATABASE_URL_FILE": .* is empty/);
    });
  });
});
