#!/usr/bin/env node
// Waits until a URL answers with a status below 500, for `pulumi up` to end only when the app
// works. Usage: node scripts/wait-http.js URL TIMEOUT_SECONDS. Node is the one tool every
// dropstack user has, so no curl is needed.
"use strict";
const [url, timeoutText] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutText) * 1000;
let last = "no answer yet";

async function attempt() {
  try {
    const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(10000) });
    if (response.status < 500) {
      process.stdout.write(`${url} answered ${response.status}\n`);
      return true;
    }
    last = `HTTP ${response.status}`;
  } catch (err) {
    last = err.cause ? err.cause.code || err.cause.message : err.message;
  }
  return false;
}

(async () => {
  while (Date.now() < deadline) {
    if (await attempt()) process.exit(0);
    await new Promise((r) => setTimeout(r, 5000));
  }
  process.stderr.write(
    `dropstack: ${url} did not answer within ${timeoutText} s (last: ${last}).\n` +
      "The containers are created; the app may still be starting. Check with the sshCommand output and\n" +
      "`docker logs`, or raise dropstack:readinessTimeoutMinutes; see README, Troubleshooting.\n",
  );
  process.exit(1);
})();
