// The ssh options that reach a node with its deploy key and pinned host key: pure, so the
// command line (dropstack backups, restore) uses them without loading the Pulumi SDK.

/** `ssh` options that authenticate with the deploy key and accept only the pinned host key. */
export function sshOptions(keyPath: string, knownHostsPath: string): string[] {
  return [
    "-i",
    keyPath,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${knownHostsPath}`,
    "-o",
    "BatchMode=yes",
    "-o",
    "ServerAliveInterval=30",
  ];
}
