export { sr3Plugin, SR3_MODELS_DIR } from './plugin.js';
export { sr3Task, srdiffTask } from './sr3-task.js';
