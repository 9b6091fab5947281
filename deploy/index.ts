// The deploy paths: what the program makes once the config and the Stackfile are checked. First
// what it reads and asks before anything is made (deploy/stackfile.ts: the Stackfile and the
// proxy's plan; deploy/digitalocean.ts: regions, sizes and the DNS zone). Then one node
// (deploy/single-node.ts: a droplet, or this machine's engine, with the Stack component) or, with
// dropstack:nodes above 1, a Docker Swarm cluster (deploy/cluster.ts). Both end the same way
// (deploy/common.ts): the domain's DNS record, the check that `up` ends only when the app answers,
// and the stack outputs that are defined.
export { deployCluster } from "./cluster";
export type { ClusterArgs } from "./cluster";
export {
  addressRecord,
  definedOutputs,
  dockerContextProblem,
  firstNodeArgs,
  nodeDockerProvider,
  waitForApp,
} from "./common";
export { askDigitalOcean } from "./digitalocean";
export { deploySingleNode } from "./single-node";
export type { SingleNodeArgs } from "./single-node";
export { loadStackfile, proxyPlan } from "./stackfile";
