export { palettePlugin, PALETTE_MODELS_DIR } from './plugin.js';
export { paletteJpegTask } from './jpeg-task.js';
