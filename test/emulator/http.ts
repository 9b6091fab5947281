// The emulator's plumbing: routes with `:params`, DigitalOcean's error bodies, and its
// pagination (`links.pages`, `meta.total`) as godo reads them.
import { randomUUID } from "crypto";

/** What a handler answers: a status and a JSON body (none for 204). */
export interface Reply {
  status: number;
  body?: unknown;
}

/** A request as a handler sees it. */
export interface Call {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body; undefined when there was none. */
  body: any;
  /** Where the emulator answers, `http://127.0.0.1:PORT`, for pagination links. */
  base: string;
}

export type Handler = (call: Call) => Reply | Promise<Reply>;

/** An error as DigitalOcean's API answers it: `{id, message, request_id}` with a status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }

  get body() {
    return { id: this.id, message: this.message, request_id: randomUUID() };
  }
}

/** DigitalOcean's answer for an ID, slug or name that names nothing. */
export function notFound(): ApiError {
  return new ApiError(404, "not_found", "The resource you were accessing could not be found.");
}

/**
 * A call the emulator has a route for but not this variant of it (an action type it does not
 * know): answered and counted as an unknown call, so a test sees it.
 */
export class NotEmulated extends ApiError {
  constructor(call: { method: string; path: string }, what: string) {
    super(
      404,
      "not_found",
      `dropstack emulator: no route for ${call.method} ${call.path} (${what})`,
    );
  }
}

export function unprocessable(message: string): ApiError {
  return new ApiError(422, "unprocessable_entity", message);
}

export function conflict(message: string): ApiError {
  return new ApiError(409, "conflict", message);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, "bad_request", message);
}

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

/** Routes by method and path; `:name` matches one path segment. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): void {
    const names: string[] = [];
    const pattern = new RegExp(
      "^" +
        path.replace(/:(\w+)/g, (_, name: string) => {
          names.push(name);
          return "([^/]+)";
        }) +
        "$",
    );
    this.routes.push({ method, pattern, names, handler });
  }

  /** The handler for METHOD PATH with its params, or undefined. */
  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (!m) continue;
      const params = Object.fromEntries(
        route.names.map((name, i) => [name, decodeURIComponent(m[i + 1])]),
      );
      return { handler: route.handler, params };
    }
    return undefined;
  }
}

/** DigitalOcean's page size when none is asked for, and the most it gives. */
const DEFAULT_PER_PAGE = 20;
const MAX_PER_PAGE = 200;

/**
 * One page of `items` under `key`, with `links.pages` (first/prev and next/last as absolute URLs
 * carrying `page`, which godo's `Links.CurrentPage` reads) and `meta.total`, as DigitalOcean
 * lists everything.
 */
export function page(call: Call, key: string, items: unknown[]): Reply {
  const perPage = Math.min(
    MAX_PER_PAGE,
    Math.max(1, Number.parseInt(call.query.get("per_page") ?? "", 10) || DEFAULT_PER_PAGE),
  );
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const current = Math.max(1, Number.parseInt(call.query.get("page") ?? "", 10) || 1);
  const link = (n: number) => {
    const q = new URLSearchParams(call.query);
    q.set("page", String(n));
    q.set("per_page", String(perPage));
    return `${call.base}${call.path}?${q.toString()}`;
  };
  const pages: Record<string, string> = {};
  if (current > 1) {
    pages.first = link(1);
    pages.prev = link(Math.min(current - 1, last));
  }
  if (current < last) {
    pages.next = link(current + 1);
    pages.last = link(last);
  }
  return {
    status: 200,
    body: {
      [key]: items.slice((current - 1) * perPage, current * perPage),
      links: Object.keys(pages).length > 0 ? { pages } : {},
      meta: { total: items.length },
    },
  };
}

/** A timestamp as DigitalOcean writes them: RFC 3339, whole seconds, UTC. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The body's field `name` as a string array, or a 422 naming it. */
export function stringList(body: any, name: string): string[] {
  const value = body?.[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
    throw unprocessable(`${name} must be an array of strings`);
  return value;
}
