import { defineConfig } from 'tsup';
import { baseTsupOptions } from '../../tsup.base.js';

// bin.ts keeps its shebang; only the library entry gets declarations.
export default defineConfig({ ...baseTsupOptions, entry: { index: 'src/index.ts', bin: 'src/bin.ts' }, dts: { entry: { index: 'src/index.ts' } } });
