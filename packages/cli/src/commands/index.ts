// Every command of `ragan`: one file each, exporting `register<Name>(program)`. Add one line per command.
export { registerInfo } from './info.js';
export { registerPrepare } from './prepare.js';
export { registerAlign } from './align.js';
export { registerEval } from './eval.js';
export { registerLeaderboard } from './leaderboard.js';
export { registerTrainClassifier } from './train-classifier.js';
export { registerTrain } from './train.js';
export { registerReport } from './report.js';
export { registerSnapshot } from './snapshot.js';
export { registerExport } from './export.js';
export { registerAge } from './age.js';
export { registerDemo } from './demo.js';
export { registerCompare } from './compare.js';
