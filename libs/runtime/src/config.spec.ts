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
});
