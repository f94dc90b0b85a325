export { SubmissionError, checkSubmission, type BoardContext, type SubmissionCheck } from './validate.js';
export {
  addSubmission,
  loadBoard,
  readBoardIndex,
  readSubmissionFile,
  submissionId,
  writeFileAtomic,
  BOARD_FORMAT,
  BOARD_FORMAT_VERSION,
  BOARD_INDEX,
  MAX_SUBMISSION_BYTES,
  type BoardIndex,
  type BoardEntry,
  type LoadedEntry,
} from './board.js';
export { renderLeaderboardHtml, escapeHtml, type SiteEntry } from './site.js';
export { buildLeaderboardSite } from './build.js';
