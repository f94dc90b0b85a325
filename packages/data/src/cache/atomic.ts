/**
 * The project's one atomic write lives in `@ragan/core/node` (temp file, fsync, rename, fsync of the
 * folder); `@ragan/data` re-exports it for its callers. It is what lets an interrupted `prepare` resume
 * from its index.
 */
export { writeFileAtomic } from '@ragan/core/node';
