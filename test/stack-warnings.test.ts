import { parseStackfile } from "../stackfile";
import { stackWarnings, webPort } from "../config/warnings";

const spec = (text: string) => parseStackfile(text, "s.yml").spec;

describe("the warnings pulumi up and dropstack validate --stack share", () => {
  test("a port the node's firewall closes is named, and without port 80 there is no url", () => {
    const s = spec('web:\n  image: x\n  ports: ["8080:80", "443:443"]\n');
    expect(
      stackWarnings({ target: "digitalocean", nodes: 1, warnings: ["from config"] }, s),
    ).toEqual([
      "from config",
      'service "web" publishes 8080:80/tcp, but the node\'s cloud firewall opens only 80 and 443 to the ' +
        "world: reach it through an SSH tunnel (sshCommand plus -L <local port>:localhost:<port>), or publish it on 80",
      'no service publishes port 80, so the stack has no url output; publish the web service as "80:<its port>"',
    ]);
    expect(webPort(s, "digitalocean")).toBeUndefined();
  });

  test("locally every published port is reachable and the first one is the url", () => {
    const s = spec('web:\n  image: x\n  ports: ["8080:80"]\n');
    expect(stackWarnings({ target: "local", nodes: 1, warnings: [] }, s)).toEqual([]);
    expect(webPort(s, "local")).toBe(8080);
  });

  test("port 80 published: no warning, and it is the url's port", () => {
    const s = spec('web:\n  image: x\n  ports: ["80:8888"]\n');
    expect(stackWarnings({ target: "digitalocean", nodes: 1, warnings: [] }, s)).toEqual([]);
    expect(webPort(s, "digitalocean")).toBe(80);
  });
});
