import { Controller, Get, INestApplication, InternalServerErrorException, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger, PinoLogger } from 'nestjs-pino';
import { JsonLogger } from './logger';
import { LoggingModule } from './logging.module';

@Controller()
class ProbeController {
  constructor(private readonly pino: PinoLogger) {}

  /** Whether the request runs in nestjs-pino's per-request AsyncLocalStorage (`assign` throws outside it). */
  @Get('request-context')
  requestContext() {
    try {
      this.pino.assign({});
      return { inRequestContext: true };
    } catch {
      return { inRequestContext: false };
    }
  }
  @Get('health/live')
  live() {
    return { status: 'ok' };
  }
  @Get('datasets')
  datasets() {
    return [];
  }
  @Get('broken')
  broken() {
    throw new InternalServerErrorException('broken on purpose');
  }
  @Get('crash')
  crash() {
    throw new Error('unexpected');
  }
}

/** Nest's own messages (nestjs-pino) and HTTP request lines through a JsonLogger's pino, in the same fields. */
describe('logging module (nestjs-pino)', () => {
  const raw: string[] = [];
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const logger = new JsonLogger('api', 'debug', { write: (line: string) => raw.push(line) });
    @Module({ imports: [LoggingModule.forService(logger)], controllers: [ProbeController] })
    class ProbeModule {}
    app = await NestFactory.create(ProbeModule, { bufferLogs: true, autoFlushLogs: false });
    app.useLogger(app.get(Logger));
    app.flushLogs();
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(() => app?.close());

  /** The lines one request added. */
  async function request(path: string): Promise<Array<Record<string, unknown>>> {
    const before = raw.length;
    await (await fetch(`${url}${path}`)).arrayBuffer();
    // The line is written when the response closes, which can be just after the client has it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return lines().slice(before);
  }

  it("writes Nest's own messages with time, level word, service, context and msg", () => {
    const started = lines().find((l) => l.msg === 'Nest application successfully started');
    expect(started).toEqual({ time: expect.any(String), level: 'info', service: 'api', context: 'NestApplication', msg: 'Nest application successfully started' });
  });

  it("does not run requests in nestjs-pino's AsyncLocalStorage (it would hook every promise of the process)", async () => {
    expect(await (await fetch(`${url}/request-context`)).json()).toEqual({ inRequestContext: false });
  });

  it('writes nothing for a health probe', async () => {
    expect(await request('/health/live')).toEqual([]);
  });

  it('writes one flat line per request: 2xx at debug, 4xx at info, without request headers', async () => {
    const [ok] = await request('/datasets?limit=5');
    expect(ok).toEqual({ time: expect.any(String), level: 'debug', service: 'api', context: 'http', method: 'GET', url: '/datasets?limit=5', status: 200, durationMs: expect.any(Number), msg: 'GET /datasets?limit=5 200' });
    const [missing] = await request('/nowhere');
    expect(missing).toMatchObject({ level: 'info', context: 'http', status: 404, msg: 'GET /nowhere 404' });
  });

  it("writes a 5xx at error, after Nest's line with the error and its stack", async () => {
    const [handler, requestLine] = await request('/crash');
    expect(handler).toMatchObject({ level: 'error', service: 'api', context: 'ExceptionsHandler', msg: 'unexpected', error: 'unexpected' });
    expect(handler.stack).toMatch(/^Error: unexpected\n\s+at /);
    expect(requestLine).toMatchObject({ level: 'error', context: 'http', status: 500, msg: 'GET /crash 500' });
    expect(requestLine).not.toHaveProperty('stack');
    const [deliberate] = await request('/broken');
    expect(deliberate).toMatchObject({ level: 'error', status: 500 });
  });
});
