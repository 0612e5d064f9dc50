import { DestinationStream } from 'pino';
import { JsonLogger } from './logger';

/** What a JsonLogger writes, line by line, as written and parsed. */
function capture(): { destination: DestinationStream; raw: string[]; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  return { destination: { write: (line: string) => raw.push(line) }, raw, lines: () => raw.map((line) => JSON.parse(line)) };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line: ISO time, level as a word, service, msg, context and the extra fields at the top level', () => {
    const out = capture();
    new JsonLogger('ingest', 'info', out.destination).child('DatasetRegistration').info('dataset registered', { datasetId: 'd1', images: 12 });
    expect(out.raw).toHaveLength(1);
    expect(out.raw[0].endsWith('}\n')).toBe(true);
    const [line] = out.lines();
    expect(Object.keys(line).sort()).toEqual(['context', 'datasetId', 'images', 'level', 'msg', 'service', 'time']);
    expect(line).toMatchObject({ level: 'info', service: 'ingest', context: 'DatasetRegistration', msg: 'dataset registered', datasetId: 'd1', images: 12 });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  it('writes only the levels at or above the configured one', () => {
    const out = capture();
    const logger = new JsonLogger('trainer', 'warn', out.destination);
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(out.lines().map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
  });

  it('writes an error as `error` (its message) and `stack`', () => {
    const out = capture();
    const logger = new JsonLogger('api', 'info', out.destination);
    logger.error('export failed after it started', new Error('disk full'));
    logger.error(new Error('thrown as the message'));
    const [passed, asMessage] = out.lines();
    expect(passed).toMatchObject({ level: 'error', msg: 'export failed after it started', error: 'disk full' });
    expect(passed.stack).toMatch(/^Error: disk full\n\s+at /);
    expect(asMessage).toMatchObject({ msg: 'thrown as the message' });
    expect(asMessage.stack).toMatch(/^Error: thrown as the message\n/);
  });

  it("takes Nest's LoggerService calls: a trailing context replaces the bound one (one `context` key), a multi-line string is the stack", () => {
    const out = capture();
    const logger = new JsonLogger('api', 'debug', out.destination).child('Bound');
    logger.log('mapped route', 'RouterExplorer');
    logger.error('unhandled', 'Error: boom\n    at somewhere', 'ExceptionsHandler');
    logger.verbose('detail');
    expect(out.raw[0].match(/"context"/g)).toHaveLength(1);
    expect(out.lines()).toEqual([
      expect.objectContaining({ level: 'info', context: 'RouterExplorer', msg: 'mapped route' }),
      expect.objectContaining({ level: 'error', context: 'ExceptionsHandler', msg: 'unhandled', stack: 'Error: boom\n    at somewhere' }),
      expect.objectContaining({ level: 'debug', context: 'Bound', msg: 'detail' }),
    ]);
  });

  it("child loggers share the service and destination; a child's child replaces the context", () => {
    const out = capture();
    const root = new JsonLogger('feature-store', 'info', out.destination);
    root.info('no context');
    root.child('Planner').child('Store').warn('nested');
    const [plain, nested] = out.lines();
    expect(plain).not.toHaveProperty('context');
    expect(nested).toMatchObject({ service: 'feature-store', context: 'Store', level: 'warn' });
    expect(out.raw[1].match(/"context"/g)).toHaveLength(1);
  });
});
