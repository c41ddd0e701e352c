import { DiffusekitError, rasterToTensor, volumeStretch, type Raster } from '@diffusekit/core';
import type { FeatureBackbone } from '../features/backbone.js';
import type { ModelImage } from '../features/feature-tiles.js';

/**
 * The bands fed to the backbone: the caller's, else a grey image repeated into every channel, else the first
 * `channels` bands (RGB of an RGB or RGBA image, the first three of a multispectral raster).
 */
export function defaultBands(raster: Pick<Raster, 'bands'>, channels: number): number[] {
  if (raster.bands === 1) return new Array<number>(channels).fill(0);
  if (raster.bands < channels) {
    throw new DiffusekitError('BAND_SELECTION_INVALID', `The backbone needs ${channels} bands (or one grey band) but the image has ${raster.bands}; choose bands explicitly`, {
      details: { bands: raster.bands, needed: channels },
    });
  }
  return Array.from({ length: channels }, (_, i) => i);
}

/**
 * The raster as the backbone's input tensor (its range; 16-bit data stretched as the core does for every task, a
 * medical slice with its volume's value range).
 */
export function backboneInput(raster: Raster, backbone: FeatureBackbone, bands?: readonly number[]): ModelImage {
  const chosen = bands ? [...bands] : defaultBands(raster, backbone.channels);
  if (chosen.length !== backbone.channels) {
    throw new DiffusekitError('BAND_SELECTION_INVALID', `The backbone "${backbone.id}" takes ${backbone.channels} bands; ${chosen.length} were chosen (${chosen.join(',')})`);
  }
  const stretch = volumeStretch(raster);
  const tensor = rasterToTensor(raster, { bands: chosen, range: [backbone.range[0], backbone.range[1]], ...(stretch ? { stretch } : {}) });
  return { data: tensor.data, channels: tensor.channels, height: tensor.height, width: tensor.width };
}
