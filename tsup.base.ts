import type { Options } from 'tsup';

/**
 * Build settings shared by every published package: ESM, declarations, tfjs and sibling packages
 * left external (one tfjs engine per process; workspace packages resolve to their own builds).
 */
export const baseTsupOptions: Options = {
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@ragan\//],
};
