// Unit tests of the modules that need no browser (protocol, write-back, the %%tune line's spans, the sidebar's
// formatters) and of the kernel link against a fake kernel; the browser tests live in ../tests/browser.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] }
};
