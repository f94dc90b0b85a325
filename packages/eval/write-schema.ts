// Regenerates results.schema.json from the zod schema: `pnpm --filter @ragan/eval exec tsx --conditions=@ragan/source write-schema.ts`.
// src/results/schema.test.ts fails while the file is out of date.
import { writeFileSync } from 'node:fs';
import { resultsJsonSchema } from './src/results/schema.js';

writeFileSync(new URL('./results.schema.json', import.meta.url), `${JSON.stringify(resultsJsonSchema(), null, 2)}\n`);
