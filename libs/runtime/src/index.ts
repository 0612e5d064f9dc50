export * from './config';
export * from './logger';
export * from './tokens';
export * from './core.module';
export * from './health.controller';
export * from './public.decorator';
export * from './bootstrap';
export * from './command-consumer';
