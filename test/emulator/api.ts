// An emulated DigitalOcean API: a small stateful HTTP server for the part of the v2 API that the
// DigitalOcean provider (terraform-provider-digitalocean through godo, bridged by
// @pulumi/digitalocean) calls for dropstack. Point the provider at it with
// DIGITALOCEAN_API_URL=<url> and any DIGITALOCEAN_TOKEN. It listens on 127.0.0.1 only.
//
// Shapes are godo's (vendored in the provider's source): every field the provider reads back
// into its state is answered, so an `up` followed by `preview --expect-no-changes` shows none.
// A call it has no route for answers 404 and is counted in `unknown`; every call is recorded.
import * as http from "http";
import { AddressInfo } from "net";
import { accountRoutes } from "./account";
import { actionRoutes } from "./actions";
import { DropletHooks, dropletRoutes } from "./droplets";
import { ApiError, badRequest, NotEmulated, Reply, Router } from "./http";
import { networkRoutes } from "./network";
import { proxyToSpaces, spacesRoutes } from "./spaces";
import type { ProxiedRequest } from "./spaces";
import { EmulatorState } from "./state";
import { storageRoutes, VolumeHooks } from "./storage";

export { EmulatorState } from "./state";
export type { DropletRecord, VolumeRecord, SshKeyRecord, FirewallRecord } from "./state";
export type { BootResult, DropletHooks } from "./droplets";
export type { VolumeHooks } from "./storage";
export { addDomain } from "./network";

export interface EmulatorOptions extends DropletHooks, VolumeHooks {
  /** The account to serve; a new, empty one by default. */
  state?: EmulatorState;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** The only token accepted; by default any non-empty bearer token is. */
  token?: string;
  /**
   * The S3 server standing for Spaces' buckets (`host[:port]`), which the emulator passes
   * proxied requests on to (HTTP_PROXY=<url>); unset, it refuses them all.
   */
  spaces?: string;
}

/** One call as the emulator saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body, or the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  status: number;
  /** Milliseconds since the emulator started. */
  at: number;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT`: DIGITALOCEAN_API_URL. */
  url: string;
  requests: RecordedRequest[];
  /** When it started, in milliseconds since the epoch: a request's `at` counts from here. */
  startedAt: number;
  /** The calls it had no route for (also in `requests`). */
  unknown: RecordedRequest[];
  /** The S3 requests it passed on to Spaces' server, or refused, as their HTTP proxy. */
  proxied: ProxiedRequest[];
  state: EmulatorState;
  stop(): Promise<void>;
}

const UNAUTHORIZED = { id: "unauthorized", message: "Unable to authenticate you" };

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const state = options.state ?? new EmulatorState();
  const router = new Router();
  accountRoutes(router, state);
  actionRoutes(router, state);
  dropletRoutes(router, state, options);
  storageRoutes(router, state, options);
  networkRoutes(router, state);
  spacesRoutes(router, state);

  const started = Date.now();
  const requests: RecordedRequest[] = [];
  const unknown: RecordedRequest[] = [];
  const proxied: ProxiedRequest[] = [];
  let base = "";

  const server = http.createServer((req, res) => {
    // An absolute URL: a request for Spaces, sent here as to its HTTP proxy.
    if (/^[a-z]+:\/\//i.test(req.url ?? "")) {
      proxyToSpaces(req, res, options.spaces, (r) => proxied.push(r));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const text = Buffer.concat(chunks).toString("utf8");
      const entry: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: undefined,
        status: 0,
        at: Date.now() - started,
      };
      requests.push(entry);
      const send = (reply: Reply) => {
        entry.status = reply.status;
        const payload = reply.body === undefined ? "" : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          "content-type": "application/json; charset=utf-8",
          "content-length": Buffer.byteLength(payload),
          "ratelimit-limit": "5000",
          "ratelimit-remaining": String(Math.max(0, 5000 - requests.length)),
          "ratelimit-reset": String(Math.floor(Date.now() / 1000) + 60),
        });
        res.end(payload);
      };
      const noRoute = (message: string) => {
        unknown.push(entry);
        send({ status: 404, body: { id: "not_found", message } });
      };

      let body: unknown;
      if (text.trim() !== "") {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      entry.body = body;

      const auth = req.headers.authorization ?? "";
      const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
      if (token === undefined || (options.token !== undefined && token !== options.token)) {
        send({ status: 401, body: UNAUTHORIZED });
        return;
      }

      const route = router.match(entry.method, entry.path);
      if (route === undefined) {
        noRoute(`dropstack emulator: no route for ${entry.method} ${entry.path}`);
        return;
      }
      Promise.resolve()
        .then(() => {
          if (typeof body === "string") throw badRequest("request body is not valid JSON");
          return route.handler({
            method: entry.method,
            path: entry.path,
            params: route.params,
            query: url.searchParams,
            body,
            base,
          });
        })
        .then(send, (e: unknown) => {
          if (e instanceof NotEmulated) noRoute(e.message);
          else if (e instanceof ApiError) send({ status: e.status, body: e.body });
          else {
            const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
            state.problems.push({ what: `${entry.method} ${entry.path}`, error: message });
            send({
              status: 500,
              body: { id: "server_error", message: `dropstack emulator: ${message}` },
            });
          }
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    requests,
    startedAt: started,
    unknown,
    proxied,
    state,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
