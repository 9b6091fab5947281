// The Pulumi SDK (3.259, runtime/debuggable.js) gives every promise it makes the stack it was made
// at, as text: `new Error().stack`, read at once. It makes one such promise per input property of
// every resource, and prints the text only with PULUMI_DEBUG_PROMISE_LEAKS set. Formatting a stack
// runs Error.prepareStackTrace, which under ts-node is source-map-support's: it maps every frame
// through source maps. Profiled under the mock engine (21 services, 128 resources), those unread
// stacks took more than half of the program's time, and their garbage much of the rest.
//
// Loading this module leaves those stacks unformatted unless PULUMI_DEBUG_PROMISE_LEAKS is set;
// every other stack is formatted as before.
const DEBUGGABLE = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;
const WRAPPED = Symbol.for("dropstack.promiseStacks");

type Prepare = NonNullable<typeof Error.prepareStackTrace> & { [WRAPPED]?: true };

/** True for the stack debuggablePromise takes of the promise it wraps. */
function isPromiseStack(frames: NodeJS.CallSite[]): boolean {
  const top = frames[0];
  return (
    top !== undefined &&
    top.getFunctionName() === "debuggablePromise" &&
    DEBUGGABLE.test(top.getFileName() ?? "")
  );
}

const prepare = Error.prepareStackTrace as Prepare | undefined;
// Without a prepareStackTrace (no ts-node, no source maps) Node.js formats stacks itself, cheaply.
if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS && prepare !== undefined && !prepare[WRAPPED]) {
  const wrapped: Prepare = (error, frames) =>
    isPromiseStack(frames)
      ? "(not kept: set PULUMI_DEBUG_PROMISE_LEAKS to keep the stacks of the SDK's promises)"
      : prepare(error, frames);
  wrapped[WRAPPED] = true;
  Error.prepareStackTrace = wrapped;
}

export {};
