// A login to the notebook's Jupyter server as a browser does it: GET /login for the _xsrf
// cookie, then POST the password with it. 302 is a login, 401 a refusal.
import { httpRequest } from "../servers";
import type { Reply } from "../servers";
import { expectEqual } from "./checks";

export async function jupyterLogin(url: string, ca: string, password: string): Promise<Reply> {
  const send = (path: string, options = {}) =>
    httpRequest(new URL(path, url).toString(), { ca: [ca], ...options });
  const page = await send("login");
  expectEqual(page.status, 200, "GET /login");
  const xsrf = /(?:^|\s)_xsrf=([^;]+)/.exec(String(page.headers["set-cookie"]))?.[1];
  if (xsrf === undefined) throw new Error("GET /login set no _xsrf cookie");
  return send("login", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Cookie: `_xsrf=${xsrf}`,
    },
    body: new URLSearchParams({ password, _xsrf: xsrf }).toString(),
  });
}
