import { spawn, ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { connectBus } from '@featx/bus';
import { loadConfig } from '@featx/runtime';
import { ApiTokenService } from '../../apps/api/src/auth/api-token.service';
import { freePort } from '../support/free-ports';

/** Security defaults: the generated API token is shown once; NATS credentials are used when set. */
describe('security defaults', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'featx-security-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('generates the API token at first start, shows it once, and reuses it (not shown) on the second start', async () => {
    const stateDir = path.join(dir, 'state');
    const start = async () => {
      const lines: string[] = [];
      const logger = { warn: (m: string) => lines.push(m), info: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
      const service = new ApiTokenService(loadConfig('api', { FEATX_STATE_DIR: stateDir }), logger as never);
      await service.onModuleInit();
      return { service, lines };
    };
    const first = await start();
    const token = (await fs.readFile(path.join(stateDir, 'api-token'), 'utf8')).trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect((await fs.stat(path.join(stateDir, 'api-token'))).mode & 0o777).toBe(0o600);
    expect(first.lines.filter((l) => l.includes(token))).toHaveLength(1);
    expect(first.service.matches(token)).toBe(true);
    expect(first.service.matches('')).toBe(false);
    const second = await start();
    expect(second.lines.filter((l) => l.includes(token))).toHaveLength(0);
    expect(second.service.matches(token)).toBe(true);
  });

  it('requires the token unless FEATX_AUTH_DISABLED=true', async () => {
    const service = new ApiTokenService(loadConfig('api', { FEATX_API_TOKEN: 'x'.repeat(20) }), { warn() {}, info() {} } as never);
    await service.onModuleInit();
    expect(service.authDisabled).toBe(false);
    expect(loadConfig('api', {}).api.authDisabled).toBe(false);
    expect(loadConfig('api', { FEATX_AUTH_DISABLED: 'true' }).api.authDisabled).toBe(true);
  });

  describe('a NATS server with user and password', () => {
    let server: ChildProcess | undefined;
    let url: string;
    beforeAll(async () => {
      const port = await freePort();
      url = `nats://127.0.0.1:${port}`;
      server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', path.join(dir, 'nats'), '--user', 'featx', '--pass', 'n4ts-s3cret'], { stdio: 'ignore' });
      for (let i = 0; i < 100; i++) {
        if (await canConnectTcp(port)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('nats-server did not start');
    });
    afterAll(() => {
      server?.kill('SIGTERM');
    });

    it('refuses a connection without credentials or with a wrong password', async () => {
      await expect(connect({ servers: url, reconnect: false })).rejects.toThrow(/auth|Authorization/i);
      await expect(connect({ servers: url, user: 'featx', pass: 'wrong', reconnect: false })).rejects.toThrow(/auth|Authorization/i);
      await expect(connectBus({ url, name: 'no-creds', namespace: 'sec', connectTimeoutMs: 1500 })).rejects.toThrow(/cannot connect to NATS/);
    });

    it("accepts featx's connectBus with the credentials from FEATX_NATS_USER and FEATX_NATS_PASSWORD_FILE", async () => {
      const secret = path.join(dir, 'nats-password');
      await fs.writeFile(secret, 'n4ts-s3cret\n');
      const config = loadConfig('ingest', { FEATX_NATS_URL: url, FEATX_NATS_USER: 'featx', FEATX_NATS_PASSWORD_FILE: secret, FEATX_NAMESPACE: 'sec' });
      const bus = await connectBus({ ...config.nats, name: 'with-creds', connectTimeoutMs: 5000 });
      try {
        expect((await bus.jsm.getAccountInfo()).limits).toBeDefined();
      } finally {
        await bus.nc.close();
      }
    });
  });
});

function canConnectTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
