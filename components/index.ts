export { Node, knownHostsLine, shellQuote, sshOptions, writeSshFiles } from "./node";
export type { NodeArgs } from "./node";
export { Service } from "./service";
export type { ServiceArgs } from "./service";
export { contextHash, Stack } from "./stack";
export type { StackArgs } from "./stack";
export { Proxy, SwarmProxy, swarmProxyMounts } from "./proxy";
export type { ProxyArgs, SwarmProxyArgs } from "./proxy";
export {
  disbandSwarm,
  formSwarm,
  managerCount,
  nodeLabels,
  prepareBindSources,
  swarmFirewall,
  nodeTag,
  onSwarm,
} from "./swarm";
export type { SwarmHome } from "./swarm";
export { SwarmStack } from "./swarm-stack";
export { swarmBindSources } from "./swarm-service";
export type { SwarmStackArgs } from "./swarm-stack";
