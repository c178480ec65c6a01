const swc = require('./jest.swc.cjs');

const moduleNameMapper = { '^@settlement/(.*)$': '<rootDir>/libs/$1/src/index.ts' };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/{apps,libs}/**/src/**/*.spec.ts'],
      testPathIgnorePatterns: ['<rootDir>/apps/e2e/'],
      transform: { '^.+\\.ts$': swc },
      moduleNameMapper,
    },
    {
      displayName: 'e2e',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/apps/e2e/src/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': swc },
      moduleNameMapper,
      globalSetup: '<rootDir>/apps/e2e/global-setup.mjs',
      globalTeardown: '<rootDir>/apps/e2e/global-teardown.mjs',
      setupFilesAfterEnv: ['<rootDir>/apps/e2e/jest.setup.ts'],
    },
  ],
};
