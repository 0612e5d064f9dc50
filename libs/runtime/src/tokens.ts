/** Injection tokens for what every featx service shares. */
export const CONFIG = Symbol('featx:config');
export const BUS = Symbol('featx:bus');
export const DATABASE = Symbol('featx:database');
export const LOGGER = Symbol('featx:logger');
export const DATA_ROOTS = Symbol('featx:data-roots');
