/** Kept equal to package.json's version by a test; recorded in every results file. */
export const EVAL_VERSION = '0.1.0';
