// The stack users deploy first, on the real engine: the shipped stacks/datascience.yml, its
// images/datascience build and the HTTPS proxy with `tls: internal`, on the local target, with
// stand-ins for the images no registry here serves (standins.ts): same names, same ports, same
// password and Mongo-credential wiring. `pulumi up`, then as a user: the url output over HTTPS
// trusting only the caCertificate output, a login with the password output, Mongo reachable from
// the notebook with the credentials it was given and from nowhere else, then destroy.
import * as net from "net";
import { expectEqual } from "./checks";
import type { Check } from "./checks";
import type { DockerEngine } from "./docker-engine";
import type { Pulumi } from "./pulumi-engine";
import { httpRequest } from "../servers";
import { jupyterLogin } from "./jupyter-login";

const STACK = "datascience";
const PREFIX = `dropstack-${STACK}`;

export async function datascienceChecks(
  pulumi: Pulumi,
  engine: DockerEngine,
  project: string,
  check: Check,
): Promise<void> {
  const stack = ["--stack", STACK];
  const output = (name: string, secret = false) =>
    pulumi
      .ok(["stack", "output", name, ...stack, ...(secret ? ["--show-secrets"] : [])], project)
      .trim();
  let up = false;
  try {
    await check(
      "pulumi up deploys the default stack (stacks/datascience.yml, tls internal) on the local target",
      () => {
        pulumi.initStack(
          STACK,
          {
            "dropstack:target": "local",
            "dropstack:tls": "internal",
            "dropstack:readinessTimeoutMinutes": "3",
          },
          project,
        );
        up = true;
        pulumi.ok(["up", "--yes", "--skip-preview", ...stack], project);
      },
    );

    let url = "";
    let ca = "";
    await check(
      "the default stack's url answers over HTTPS with the stack's CA, and the password output logs in",
      async () => {
        url = output("url");
        expectEqual(url, "https://localhost/", "url");
        ca = output("caCertificate");
        const password = output("password", true);
        const login = (pw: string) => jupyterLogin(url, ca, pw);
        const right = await login(password);
        expectEqual(right.status, 302, "POST /login with the password output");
        const cookie = String(right.headers["set-cookie"]);
        if (!/username-[^=]+=[^;]+;.*Secure/i.test(cookie))
          throw new Error(`no Secure login cookie: ${cookie}`);
        expectEqual((await login(`${password}x`)).status, 401, "POST /login with a wrong password");
        // Only the stack's CA vouches for it.
        const untrusted = await httpRequest(url).then(
          () => "accepted",
          (e: NodeJS.ErrnoException) => e.code,
        );
        if (untrusted === "accepted")
          throw new Error("the url's certificate passed Node's own roots");
      },
    );

    await check(
      "Mongo answers the notebook with the credentials it was given, and nothing on the host",
      async () => {
        const script = [
          "import os, socket, urllib.parse",
          'u = urllib.parse.urlsplit(os.environ["MONGO_URL"])',
          "s = socket.create_connection((u.hostname, u.port), timeout=5)",
          "f = s.makefile('rw')",
          'f.write(f"AUTH {u.username} {urllib.parse.unquote(u.password)}\\nCOUNT\\n"); f.flush()',
          "print(f.readline().strip(), f.readline().strip())",
        ].join("\n");
        const out = engine.docker(["exec", `${PREFIX}-datascience-1`, "python3", "-c", script]);
        expectEqual(out.trim(), "OK 1", "AUTH with MONGO_URL's credentials, then a write");
        const ports = engine.docker([
          "inspect",
          "--format",
          "{{json .NetworkSettings.Ports}}",
          `${PREFIX}-mongo-1`,
        ]);
        if (/HostPort/.test(ports)) throw new Error(`mongo publishes a port: ${ports}`);
        const fromHost = await new Promise<string>((resolve) => {
          const socket = net.connect(27017, "127.0.0.1");
          socket.on("connect", () => (socket.destroy(), resolve("connected")));
          socket.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        });
        expectEqual(fromHost, "ECONNREFUSED", "127.0.0.1:27017 from the host");
      },
    );

    await check("a second up of the default stack changes nothing", () => {
      pulumi.ok(["preview", "--expect-no-changes", ...stack], project);
    });
  } finally {
    if (up) pulumi.run(["destroy", "--yes", ...stack], project);
  }

  await check("destroy of the default stack leaves no container, network or volume of it", () => {
    const names = (args: string[]) => engine.docker(args).split("\n").filter(Boolean);
    expectEqual(
      {
        containers: names(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=^${PREFIX}-`]),
        networks: names(["network", "ls", "--format", "{{.Name}}", "--filter", `name=^${PREFIX}`]),
        volumes: names(["volume", "ls", "--format", "{{.Name}}", "--filter", `name=^${PREFIX}-`]),
      },
      { containers: [], networks: [], volumes: [] },
      "left after destroy",
    );
  });
}
