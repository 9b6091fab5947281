// The dropstack program: `pulumi up` reads the stack's config and Stackfile, builds the node
// (unless the target is this machine) and deploys the Stackfile's services onto it.
//
// It is an async function (Pulumi awaits a program's exported function and takes its result as
// the stack outputs) so that every check, the size lookup at DigitalOcean included, happens
// before the first resource is registered: bad input never leaves a half-created stack.
import "./runtime/promise-stacks";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { loadConfig, serviceTags } from "./config";
import { resourcePrefix } from "./config/naming";
import { stackWarnings } from "./config/warnings";
import {
  askDigitalOcean,
  deployCluster,
  deploySingleNode,
  dockerContextProblem,
  loadStackfile,
  proxyPlan,
} from "./deploy";
import { nodeVersionProblem, runError } from "./runtime";
import { checkBuilds, formatDiagnostic } from "./stackfile";

export = async () => {
  // The config.
  const tooOld = nodeVersionProblem();
  if (tooOld !== undefined) throw runError(tooOld);
  const config = loadConfig();
  const context = dockerContextProblem(config.target, process.env.DOCKER_CONTEXT);
  if (context !== undefined) throw runError(context);
  const stack = pulumi.getStack();
  const prefix = resourcePrefix(pulumi.getProject(), stack);

  // The Stackfile, relative to the project folder whatever folder the program runs in.
  const stackfile = path.resolve(__dirname, config.stackfile);
  const cluster = config.nodes > 1;
  const written = loadStackfile(
    stackfile,
    config.stackfile,
    config.stackVars,
    serviceTags(config, stack),
    cluster,
    serviceTags(config, stack, true),
  );
  stackWarnings(config, written).forEach((w) => pulumi.log.warn(w));
  const plan = proxyPlan(config, written);
  const spec = plan?.spec ?? written;
  const buildProblems = checkBuilds(spec, path.dirname(stackfile), __dirname);
  if (buildProblems.length > 0) {
    throw runError(
      `The Stackfile's builds cannot run:\n  - ${buildProblems.map(formatDiagnostic).join("\n  - ")}`,
    );
  }

  // What DigitalOcean offers, asked before anything is made.
  const { size, dnsRecord } =
    config.target === "digitalocean"
      ? await askDigitalOcean(config)
      : { size: undefined, dnsRecord: undefined };

  // The node(s), the stack on them, and the outputs.
  const args = {
    config,
    stack,
    prefix,
    stackfileDir: path.dirname(stackfile),
    spec,
    plan,
    dnsRecord,
  };
  return cluster
    ? deployCluster({ ...args, size: size! })
    : deploySingleNode({ ...args, written, size });
};
