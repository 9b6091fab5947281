// Spaces: its keys at the API (/v2/spaces/keys, godo's shapes), and its buckets, which speak S3.
// An S3 server stands for the buckets (moto's, in a container on the droplets' network: see
// Machines.startSpaces); the provider reaches it as it reaches Spaces, by a URL per bucket
// (`http://<bucket>.<endpoint host>`, the AWS SDK's virtual-hosted style), which no resolver here
// answers: the provider is given the emulator as its HTTP proxy (HTTP_PROXY), and the emulator
// passes on to the S3 server what is addressed to it, and refuses anything else.
import { randomBytes } from "crypto";
import * as http from "http";
import { notFound, page, Router, timestamp, unprocessable } from "./http";
import type { EmulatorState, SpacesKeyRecord } from "./state";

const PERMISSIONS = ["read", "readwrite", "fullaccess"];

/** A key as the API answers it: the secret only when it is made, as DigitalOcean does. */
function keyView(k: SpacesKeyRecord, withSecret = false) {
  return {
    name: k.name,
    access_key: k.accessKey,
    ...(withSecret ? { secret_key: k.secretKey } : {}),
    grants: k.grants,
    created_at: k.createdAt,
  };
}

/** A key's name and grants from a create or update body, as DigitalOcean checks them. */
function keyFields(body: any): Pick<SpacesKeyRecord, "name" | "grants"> {
  if (typeof body?.name !== "string" || body.name.trim() === "")
    throw unprocessable("name is required");
  const grants: unknown = body.grants ?? [];
  if (!Array.isArray(grants)) throw unprocessable("grants must be a list");
  return {
    name: body.name,
    grants: grants.map((g: any) => {
      if (typeof g?.bucket !== "string" || !PERMISSIONS.includes(g?.permission))
        throw unprocessable(
          `each grant needs a bucket and a permission (${PERMISSIONS.join(", ")})`,
        );
      // Full access is to every bucket of the account, named by an empty bucket.
      if ((g.permission === "fullaccess") !== (g.bucket === ""))
        throw unprocessable('fullaccess is granted on all buckets (bucket ""), and only it');
      return { bucket: g.bucket, permission: g.permission };
    }),
  };
}

export function spacesRoutes(r: Router, state: EmulatorState): void {
  r.add("GET", "/v2/spaces/keys", (call) =>
    page(
      call,
      "keys",
      [...state.spacesKeys.values()].map((k) => keyView(k)),
    ),
  );
  r.add("POST", "/v2/spaces/keys", (call) => {
    const key: SpacesKeyRecord = {
      ...keyFields(call.body),
      // DigitalOcean's shapes: a 20-character access key, a 43-character secret.
      accessKey: `DO${randomBytes(12).toString("hex").toUpperCase().slice(0, 18)}`,
      secretKey: randomBytes(48).toString("base64").replace(/[+/=]/g, "").slice(0, 43),
      createdAt: timestamp(),
    };
    state.spacesKeys.set(key.accessKey, key);
    return { status: 201, body: { key: keyView(key, true) } };
  });
  r.add("GET", "/v2/spaces/keys/:key", (call) => {
    const key = state.spacesKeys.get(call.params.key);
    if (key === undefined) throw notFound();
    return { status: 200, body: { key: keyView(key) } };
  });
  r.add("PUT", "/v2/spaces/keys/:key", (call) => {
    const key = state.spacesKeys.get(call.params.key);
    if (key === undefined) throw notFound();
    Object.assign(key, keyFields(call.body));
    return { status: 200, body: { key: keyView(key) } };
  });
  r.add("DELETE", "/v2/spaces/keys/:key", (call) => {
    if (!state.spacesKeys.delete(call.params.key)) throw notFound();
    return { status: 204 };
  });
}

/** One request passed on to the S3 server (or refused), as the proxy saw it. */
export interface ProxiedRequest {
  method: string;
  /** The host asked for: `<bucket>.<spaces>` or `<spaces>`. */
  host: string;
  path: string;
  status: number;
}

/**
 * Passes a proxied request (an absolute URL) on to the S3 server at `spaces` (`host[:port]`)
 * when it is addressed to it or to one of its buckets, keeping the Host header (the S3 server
 * reads the bucket from it); answers 403 to anything else, which goes nowhere.
 */
export function proxyToSpaces(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  spaces: string | undefined,
  record: (r: ProxiedRequest) => void,
): void {
  // Not WHATWG's URL: it refuses a bucket's host on an IP address (`b.10.0.0.5`), which the AWS
  // SDK makes and Go's resolver would merely not find.
  const [, scheme = "", host = "", rest = ""] =
    /^([a-z]+):\/\/([^/?#]*)(.*)$/i.exec(req.url ?? "") ?? [];
  const entry: ProxiedRequest = {
    method: req.method ?? "GET",
    host,
    path: rest.startsWith("/") ? rest : `/${rest}`,
    status: 0,
  };
  record(entry);
  if (
    spaces === undefined ||
    scheme.toLowerCase() !== "http" ||
    (host !== spaces && !host.endsWith(`.${spaces}`))
  ) {
    entry.status = 403;
    req.resume();
    res.writeHead(403, { "content-type": "text/plain" });
    res.end(`dropstack emulator: proxies only to the emulated Spaces (${spaces ?? "none"})\n`);
    return;
  }
  const [hostname, port] = spaces.split(":");
  const headers = { ...req.headers };
  delete headers["proxy-connection"];
  delete headers["proxy-authorization"];
  const upstream = http.request(
    { host: hostname, port: Number(port ?? 80), method: req.method, path: entry.path, headers },
    (answer) => {
      entry.status = answer.statusCode ?? 0;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", (e) => {
    entry.status = 502;
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end(`dropstack emulator: the emulated Spaces did not answer: ${e.message}\n`);
  });
  req.pipe(upstream);
}
