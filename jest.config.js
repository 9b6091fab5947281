/** @type {import("jest").Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Types are checked once by `npm run typecheck`; here ts-jest only transpiles, each file alone
  // (tsconfig.json's isolatedModules: no TypeScript program is built).
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  // A worker per core. Jest's default is one fewer, which on 2 cores runs every file in one
  // process, one after another, while most of the time goes to waiting: for child processes
  // (docker-compose, cloud-init, openssl, Caddy, Jupyter), for servers, for scripts' retries.
  maxWorkers: "100%",
  testTimeout: 60000,
};
