/**
 * Imports an optional module (tfjs-node, tfjs-node-gpu) resolved from this package: pnpm's strict
 * layout lets only the package that declares an optionalDependency resolve it, so the cli hands
 * this function to @ragan/core's initBackend/probeBackends.
 */
export const importFromCli = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);
