import { runProgram } from "./harness";
import { testIf } from "./tools";

describe("the test harness", () => {
  test("leaves no exit listener behind after a run of the program", async () => {
    const before = process.listenerCount("exit");
    await runProgram({ config: { "dropstack:target": "local" } });
    await expect(runProgram({ config: { "dropstack:region": "nyc9" } })).rejects.toThrow();
    expect(process.listenerCount("exit")).toBe(before);
  });

  test("says a skip in one plain line on stderr, not as a console warning", () => {
    const ci = process.env.CI;
    const warn = jest.spyOn(console, "warn").mockImplementation(() => {});
    const write = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      delete process.env.CI;
      expect(testIf(false, "caddy: not installed")).toBe(test.skip);
      expect(write.mock.calls).toEqual([["skipping tests: caddy: not installed\n"]]);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
      warn.mockRestore();
      if (ci !== undefined) process.env.CI = ci;
    }
  });
});
