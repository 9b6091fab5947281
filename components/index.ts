export { Node, knownHostsLine, shellQuote, sshOptions, writeSshFiles } from "./node";
export type { NodeArgs } from "./node";
export { Service } from "./service";
export type { ServiceArgs } from "./service";
export { contextHash, Stack } from "./stack";
export type { StackArgs } from "./stack";
export { Proxy, SwarmProxy, swarmProxyMounts } from "./proxy";
export type { ProxyArgs, SwarmProxyArgs } from "./proxy";
export {
  formSwarm,
  managerCount,
  nodeLabels,
  prepareBindSources,
  SWARM_PORTS,
  swarmFirewall,
} from "./swarm";
export { SwarmStack, swarmBindSources, swarmMounts } from "./swarm-stack";
export type { SwarmMount } from "./swarm-stack";
export type { SwarmStackArgs } from "./swarm-stack";
