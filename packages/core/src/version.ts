/** The package version, written into model folders and results. Kept in sync by a test. */
export const VERSION = '0.1.0';
