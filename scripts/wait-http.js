#!/usr/bin/env node
// Waits until a URL answers with a status below 500, for `pulumi up` to end only when the app
// works. Usage: node scripts/wait-http.js URL TIMEOUT_SECONDS. Node is the one tool every
// dropstack user has, so no curl is needed.
//
// An https URL must present a certificate Node trusts (its bundled Mozilla roots, as browsers
// do), or one signed by DROPSTACK_CA_PEM when that is set (the stack's own CA). With
// DROPSTACK_CONNECT_TO, it connects to that address while asking for the URL's host name (SNI,
// Host header): the node answers for its domain before the user's DNS resolver knows the name.
"use strict";
const http = require("http");
const https = require("https");
const tls = require("tls");

const [url, timeoutText] = process.argv.slice(2);
const target = new URL(url);
const deadline = Date.now() + Number(timeoutText) * 1000;
const connectTo = process.env.DROPSTACK_CONNECT_TO || undefined;
const ca = process.env.DROPSTACK_CA_PEM
  ? [...tls.rootCertificates, process.env.DROPSTACK_CA_PEM]
  : undefined;
let last = "no answer yet";

function attempt() {
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    const request = client.get(
      {
        host: connectTo || target.hostname.replace(/^\[|\]$/g, ""),
        port: target.port || undefined,
        path: `${target.pathname}${target.search}`,
        headers: { host: target.host },
        servername: isAddress(target.hostname) ? undefined : target.hostname,
        ca,
        timeout: 10000,
      },
      (response) => {
        response.resume();
        if (response.statusCode < 500) {
          process.stdout.write(`${url} answered ${response.statusCode}\n`);
          resolve(true);
        } else {
          last = `HTTP ${response.statusCode}`;
          resolve(false);
        }
      },
    );
    request.on("timeout", () => request.destroy(new Error("timed out after 10 s")));
    request.on("error", (err) => {
      last = err.code || err.message;
      resolve(false);
    });
  });
}

function isAddress(hostname) {
  return /^[\d.]+$/.test(hostname) || hostname.startsWith("[");
}

(async () => {
  while (Date.now() < deadline) {
    if (await attempt()) process.exit(0);
    await new Promise((r) => setTimeout(r, 5000));
  }
  const tlsHint =
    process.env.DROPSTACK_PROXY_CONTAINER && !/^HTTP /.test(last)
      ? "The proxy may still be getting its certificate: its log\n" +
        `(\`docker logs ${process.env.DROPSTACK_PROXY_CONTAINER}\` on the Docker host) says why it has none. `
      : "";
  process.stderr.write(
    `dropstack: ${url} did not answer within ${timeoutText} s (last: ${last}).\n` +
      "The containers are created; the app may still be starting. " +
      tlsHint +
      "Check with the sshCommand output and\n" +
      "`docker logs`, or raise dropstack:readinessTimeoutMinutes; see README, Troubleshooting.\n",
  );
  process.exit(1);
})();
