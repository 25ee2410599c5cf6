/** One jest run over every package; workspace imports resolve to sources, so tests need no build. */
module.exports = {
  // Typed arrays from onnxruntime-node's native binding belong to the main realm: share its constructors.
  testEnvironment: '<rootDir>/test-support/ort-environment.js',
  roots: ['<rootDir>/packages', '<rootDir>/examples', '<rootDir>/bench'],
  testMatch: ['**/tests/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json', diagnostics: false }],
  },
  moduleNameMapper: {
    '^@qcal/core$': '<rootDir>/packages/core/src/index.ts',
    '^@qcal/core/testkit$': '<rootDir>/packages/core/src/testkit/index.ts',
    '^@qcal/kernels$': '<rootDir>/packages/kernels/src/index.ts',
    '^@qcal/plugin-kit$': '<rootDir>/packages/plugin-kit/src/index.ts',
    '^@qcal/plugin-kit/testkit$': '<rootDir>/packages/plugin-kit/src/testkit/index.ts',
    '^@qcal/collector-([a-z0-9-]+)$': '<rootDir>/packages/collector-$1/src/index.ts',
    '^@qcal/cli$': '<rootDir>/packages/cli/src/index.ts',
    '^@qcal/report$': '<rootDir>/packages/report/src/index.ts',
  },
  testTimeout: 180000,
};
