/** The oldest Node.js major the Pulumi SDK supports (its package.json `engines`). */
export const MIN_NODE_MAJOR = 22;

/**
 * Why this Node.js cannot run dropstack, with how to get one that can; undefined when it can.
 * It does not name dropstack: the command line prints it after `dropstack: `, Pulumi after
 * `error: ` in a run of this project.
 * npm only warns about `engines`, and the SDK loads on older Node.js before failing somewhere
 * obscure, so the program and the command line check first.
 */
export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  const major = Number(version.split(".")[0]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `Node.js ${MIN_NODE_MAJOR} or newer is needed (the Pulumi SDK's minimum), and this is ${version}. ` +
    `Install it with a version manager (\`nvm install ${MIN_NODE_MAJOR}\`, \`fnm install ${MIN_NODE_MAJOR}\`) ` +
    `or from https://nodejs.org, or run one command with it through npm: \`npx -y node@${MIN_NODE_MAJOR} <command>\`. ` +
    "Then run `npm install` again."
  );
}
