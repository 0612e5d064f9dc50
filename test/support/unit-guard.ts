import * as net from 'node:net';

// The module object itself (an `import * as` namespace is a copy): its functions are replaced below.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const childProcess: typeof import('node:child_process') = require('node:child_process');

/**
 * Loaded before every unit spec (`*.unit.spec.ts`, see jest.config.js): a unit test that opens a
 * socket (NATS, Postgres, HTTP) or starts a process fails at once with the reason, instead of
 * quietly making the fast suite depend on the machine. Such a test belongs in a `*.spec.ts` file.
 * Core modules are shared by every test file in the process, so the originals come back after
 * each file: the integration specs of the same `npm test` run are untouched.
 */
const refuse = (what: string) => () => {
  throw new Error(`a unit test may not ${what}: rename the spec from *.unit.spec.ts to *.spec.ts (the integration project), or use an in-memory fake`);
};

const patches: Array<[object, string, string]> = [
  [net.Socket.prototype, 'connect', 'open a network connection'],
  ...['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'].map((name): [object, string, string] => [childProcess, name, `start a process (child_process.${name})`]),
];
const originals = patches.map(([target, name]) => (target as Record<string, unknown>)[name]);

patches.forEach(([target, name, what]) => Object.defineProperty(target, name, { value: refuse(what), configurable: true, writable: true }));

afterAll(() => {
  patches.forEach(([target, name], i) => Object.defineProperty(target, name, { value: originals[i], configurable: true, writable: true }));
});
