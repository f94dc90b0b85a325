export { backgroundScores, type BackgroundScores } from './metrics/background.js';
