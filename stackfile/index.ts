export { formatDiagnostic, StackfileError } from "./errors";
export { dependencies, startOrder } from "./graph";
export { interpolate } from "./interpolate";
export { parseImageVolumes, unplacedImageVolumes } from "./image-volumes";
export { goDuration, parseDuration, swarmDuration } from "./duration";
export { composeEnvFile, exportCompose, SwarmExportError, toCompose } from "./compose";
export type { ComposeOptions } from "./compose";
export { aliasesOf, linkEnvironment, linkTargets, parseExposedPorts } from "./links";
export type { ExposedPort } from "./links";
export { parseStackfile } from "./parse";
export { parseBytes, parsePort, parseVolume, words } from "./values";
export { secretToken, splitSecrets } from "./secrets";
export { SERVICE_KEYS } from "./shape";
export type { ParseOptions, ParseResult } from "./parse";
export type * from "./types";
export { checkBuilds } from "./builds";
export {
  DATA_NODE_LABEL,
  dataNodeTagProblem,
  dataNodeTagProblems,
  swarmProblems,
  swarmService,
  tagLabel,
} from "./swarm";
export type { SwarmProblem, SwarmService } from "./swarm";
export {
  BACKUP_LABEL,
  DUMP_LABEL,
  liveDatabaseWarnings,
  RESTORE_LABEL,
  serviceBackup,
} from "./backup-labels";
export type { ServiceBackup } from "./backup-labels";
