import { defineConfig } from 'tsup';
import { baseTsupOptions } from '../../tsup.base.js';

export default defineConfig({ ...baseTsupOptions, entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts' }, external: [/^@tensorflow\//] });
