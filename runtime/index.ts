// The program's runtime concerns, apart from what it deploys: the Node.js it needs (checked
// before the SDK loads, by the program and by the command line), the RunError every bad input
// ends in (printed without a stack, and cheap to make), and promise-stacks.ts, which index.ts
// imports first of all so that the SDK's unread promise stacks are never formatted. That module
// acts when loaded, so it is imported by its own path and not re-exported here.
export { runError } from "./run-error";
export { MIN_NODE_MAJOR, nodeVersionProblem } from "./node-version";
