/** The package version, written into cache indexes. Kept equal to package.json's version by a test. */
export const DATA_VERSION = '0.1.0';
