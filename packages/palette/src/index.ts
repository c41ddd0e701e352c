export { palettePlugin, PALETTE_MODELS_DIR } from './plugin.js';
export { paletteJpegTask } from './jpeg-task.js';
export { paletteInpaintTask, type InpaintInput, type InpaintOptions } from './inpaint-task.js';
export { binariseMask, MASK_THRESHOLD } from './inpaint-mask.js';
