export * from './bus.client';
export * from './handler-options';
export * from './jetstream.context';
export * from './jetstream.server';
export * from './keep-errors.filter';
export * from './request-reply';
