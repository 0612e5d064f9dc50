import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { BusConnection, pingBus } from '@featx/bus';
import { DatabaseHandle } from '@featx/db';
import { BUS, DATABASE } from './tokens';
import { Public } from './public.decorator';

const CHECK_TIMEOUT_MS = 2000;

/**
 * Liveness (the process answers) and readiness (NATS and Postgres answer too). Readiness names the
 * process's pid: a launcher checks that its own child answers, not another process on that port.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(BUS) private readonly bus: BusConnection,
    @Inject(DATABASE) private readonly database: DatabaseHandle,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const [nats, postgres] = await Promise.all([
      check(() => pingBus(this.bus)),
      check(() => this.database.pool.query('SELECT 1')),
    ]);
    const body = { status: nats === 'ok' && postgres === 'ok' ? 'ok' : 'unavailable', nats, postgres, pid: process.pid };
    if (body.status !== 'ok') throw new ServiceUnavailableException(body);
    return body;
  }
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return `error: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}
