export { Node, knownHostsLine, shellQuote, sshOptions, writeSshFiles } from "./node";
export type { NodeArgs } from "./node";
export { Service } from "./service";
export type { ServiceArgs } from "./service";
export { contextHash, Stack } from "./stack";
export type { StackArgs } from "./stack";
export { Proxy } from "./proxy";
export type { ProxyArgs } from "./proxy";
