import * as pulumi from "@pulumi/pulumi";

/**
 * Options for a Docker resource that lives on a node: it is replaced when the droplet is. The
 * Docker provider's host changing does not replace its resources (the provider is updated in
 * place), so without this a replaced droplet would be left with nothing on it while the state
 * still listed every container.
 */
export function onNode(nodeId: pulumi.Input<string> | undefined): pulumi.CustomResourceOptions {
  return nodeId === undefined ? {} : { replacementTrigger: nodeId };
}
