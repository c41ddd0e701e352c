// Tests import packages by name, so they run against the built `dist/` output exactly as users get it
// (worker threads need real .js entry files). `npm test` builds first.
/** @type {import('jest').Config} */
export default {
  testEnvironment: '<rootDir>/test/jest-environment.cjs',
  extensionsToTreatAsEsm: ['.ts'],
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.tests.json' }],
  },
  testTimeout: 60000,
};
