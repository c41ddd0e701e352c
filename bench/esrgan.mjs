// Runs the ESRGAN models that @upscalerjs publishes (TF.js layers models trained on DIV2K) with @tensorflow/tfjs on
// the CPU, for side-by-side quality tables. Images are { width, height, data: Uint8Array planar RGB }.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function loadEsrgan(variant, scale = 4) {
  const dir = path.join(root, 'node_modules', '@upscalerjs', `esrgan-${variant}`, 'models', `x${scale}`);
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const weightData = Buffer.concat(json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(path.join(dir, p)))));
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }),
  );
  return {
    name: `esrgan-${variant}`,
    /** Upscales one image; the models take and return NHWC in 0..255. */
    upscale(img) {
      const n = img.width * img.height;
      const hwc = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) hwc[i * 3 + c] = img.data[c * n + i];
      const out = tf.tidy(() => model.predict(tf.tensor4d(hwc, [1, img.height, img.width, 3])).clipByValue(0, 255).round());
      const [, H, W] = out.shape;
      const values = out.dataSync();
      out.dispose();
      const data = new Uint8Array(W * H * 3);
      for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) data[c * W * H + i] = values[i * 3 + c];
      return { width: W, height: H, data };
    },
  };
}
