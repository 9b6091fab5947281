// The deploy paths: what the program makes once the config and the Stackfile are checked. One
// node (deploy/common.ts's node args and provider, then the Stack component on its engine, or on
// this machine's) or, with dropstack:nodes above 1, a Docker Swarm cluster (deploy/cluster.ts).
// Both end the same way: the nodes' DNS records, the check that `up` ends only when the app
// answers, and the stack outputs that are defined.
export { deployCluster } from "./cluster";
export type { ClusterArgs } from "./cluster";
export {
  addressRecords,
  definedOutputs,
  dockerContextProblem,
  firstNodeArgs,
  nodeDockerProvider,
  waitForApp,
} from "./common";
