import { Controller, Get, INestApplication, InternalServerErrorException, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { JsonLogger } from './logger';
import { loggingModule } from './logging.module';

@Controller()
class ProbeController {
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

/** nestjs-pino over a JsonLogger: Nest's own messages and HTTP request lines, in the same fields. */
describe('logging module (nestjs-pino)', () => {
  const raw: string[] = [];
  const lines = () => raw.map((line) => JSON.parse(line) as Record<string, unknown>);
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const logger = new JsonLogger('api', 'debug', { write: (line: string) => raw.push(line) });
    @Module({ imports: [loggingModule(logger)], controllers: [ProbeController] })
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
    // pino-http writes its line when the response finishes, which can be just after the client has it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return lines().slice(before);
  }

  it("writes Nest's own messages with time, level word, service, context and msg", () => {
    const started = lines().find((l) => l.msg === 'Nest application successfully started');
    expect(started).toEqual({ time: expect.any(String), level: 'info', service: 'api', context: 'NestApplication', msg: 'Nest application successfully started' });
  });

  it('writes nothing for a health probe', async () => {
    expect(await request('/health/live')).toEqual([]);
  });

  it('writes one flat line per request: 2xx at debug, 4xx at info, without request headers', async () => {
    const [ok] = await request('/datasets?limit=5');
    expect(ok).toEqual({ time: expect.any(String), level: 'debug', service: 'api', reqId: expect.anything(), context: 'http', method: 'GET', url: '/datasets?limit=5', status: 200, durationMs: expect.any(Number), msg: 'GET /datasets?limit=5 200' });
    const [missing] = await request('/nowhere');
    expect(missing).toMatchObject({ level: 'info', context: 'http', status: 404, msg: 'GET /nowhere 404' });
  });

  it("writes a 5xx at error, after Nest's line with the error and its stack under the same reqId", async () => {
    const [handler, requestLine] = await request('/crash');
    expect(handler).toMatchObject({ level: 'error', service: 'api', context: 'ExceptionsHandler', msg: 'unexpected', error: 'unexpected' });
    expect(handler.stack).toMatch(/^Error: unexpected\n\s+at /);
    expect(requestLine).toMatchObject({ level: 'error', context: 'http', status: 500, msg: 'GET /crash 500', reqId: handler.reqId });
    expect(requestLine).not.toHaveProperty('stack');
    const [deliberate] = await request('/broken');
    expect(deliberate).toMatchObject({ level: 'error', status: 500 });
  });
});
