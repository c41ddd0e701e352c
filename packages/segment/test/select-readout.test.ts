import path from 'node:path';
import { createRuntime } from '@diffusekit/core';
import {
  ConfusionMatrix,
  EnsembleClassifier,
  choosePixels,
  labelledFeatureRows,
  openFeatureBackbone,
  selectReadout,
  trainEnsemble,
  voteEnsemble,
} from '@diffusekit/segment';
import { ROOT, fixtureImages } from './segment-fixtures.js';
const runtime = createRuntime({ engine: { provider: 'cpu', threads: 1 }, modelFolders: [path.join(ROOT, 'test', 'models')] });
afterAll(() => runtime.close());

describe('selectReadout', () => {
  it('tries timestep sets with every output, then output subsets at the best timesteps, and scores each as a direct training would', async () => {
    const model = await runtime.catalog.resolve('tiny-ddpm-features');
    const [a, b, c] = await fixtureImages();
    const train = [a!, b!];
    const validation = [c!];
    const candidates: number[] = [];
    const selection = await selectReadout(train, validation, {
      engine: runtime.engine,
      model,
      classes: 2,
      timesteps: [50, 10],
      members: 2,
      trainPixels: 1500,
      validationPixelsPerImage: 800,
      tile: 32,
      seed: 3,
      repeats: 1,
      onCandidate: (_, index, of) => candidates.push(index, of),
    });
    const roles = ['dec_s1', 'dec_s2', 'dec_s4'];
    const stageOne = selection.tried.slice(0, 3);
    expect(stageOne.map((t) => t.timesteps)).toEqual([[10], [50], [10, 50]]);
    for (const t of stageOne) expect(t.outputs).toEqual(roles);
    const bestTimesteps = stageOne.reduce((x, y) => (y.meanIou > x.meanIou ? y : x)).timesteps;
    const stageTwo = selection.tried.slice(3);
    expect(stageTwo).toHaveLength(6);
    for (const t of stageTwo) expect(t.timesteps).toEqual(bestTimesteps);
    expect(new Set(stageTwo.map((t) => t.outputs.join()))).toEqual(new Set(['dec_s1', 'dec_s2', 'dec_s4', 'dec_s1,dec_s2', 'dec_s1,dec_s4', 'dec_s2,dec_s4']));
    expect(candidates).toEqual(selection.tried.flatMap((_, i) => [i + 1, 9]));
    expect(selection.best.meanIou).toBe(Math.max(...selection.tried.map((t) => t.meanIou)));
    expect(selection).toMatchObject({ trainImages: 2, validationImages: 1, trainPixels: 1500, validationPixels: 800, members: 2 });

    // The best candidate's score is what a backbone opened with that read-out gives on the same pixels: the columns
    // picked from the superset are the same features (one noise field shared by every timestep).
    const best = selection.best;
    const direct = await openFeatureBackbone(runtime.engine, model, best);
    expect(direct.dim).toBe(best.dim);
    const rowOptions = { seed: 3, tile: 32 };
    const trainRows = await labelledFeatureRows(direct, train, choosePixels(train, 1500, 3), rowOptions);
    const validationRows = await labelledFeatureRows(direct, validation, [choosePixels(validation, 800, 4)[0]!], rowOptions);
    const trained = await trainEnsemble({ ...trainRows, dim: direct.dim }, { engine: runtime.engine, classes: 2, members: 2, seed: 3, backend: 'onnxruntime' });
    const classifier = await EnsembleClassifier.open(runtime.engine, trained.weights);
    const votes = voteEnsemble(await classifier.probabilities(validationRows.features, validationRows.count), 2, validationRows.count, 2);
    const confusion = new ConfusionMatrix(2);
    confusion.add(validationRows.labels, votes.labels);
    expect(confusion.meanIou()).toBeCloseTo(best.meanIou, 2);
    expect(best.scores).toEqual([best.meanIou]);
  });

  it('averages the scores of ensembles with consecutive seeds when asked for repeats', async () => {
    const model = await runtime.catalog.resolve('tiny-ddpm-features');
    const [a, b, c] = await fixtureImages();
    const options = { engine: runtime.engine, model, classes: 2, timesteps: [50], outputs: ['dec_s1', 'dec_s4'], members: 2, trainPixels: 800, validationPixelsPerImage: 400, tile: 32 };
    const twice = await selectReadout([a!, b!], [c!], { ...options, seed: 5, repeats: 2 });
    const second = await selectReadout([a!, b!], [c!], { ...options, seed: 5, repeats: 1 });
    expect(twice.repeats).toBe(2);
    for (const [i, t] of twice.tried.entries()) {
      expect(t.scores).toHaveLength(2);
      expect(t.meanIou).toBeCloseTo((t.scores[0]! + t.scores[1]!) / 2, 10);
      expect(t.scores[0]).toBeCloseTo(second.tried[i]!.meanIou, 10);
    }
    await expect(selectReadout([a!, b!], [c!], { ...options, repeats: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('refuses missing validation images, labels beyond the classes and outputs the backbone does not have', async () => {
    const model = await runtime.catalog.resolve('tiny-ddpm-features');
    const images = await fixtureImages();
    const options = { engine: runtime.engine, model, classes: 2, members: 1, trainPixels: 200, validationPixelsPerImage: 100, tile: 32 };
    await expect(selectReadout(images, [], options)).rejects.toMatchObject({ code: 'TRAINING_DATA_INVALID', message: expect.stringContaining('validation') });
    await expect(selectReadout(images, images, { ...options, classes: 1 })).rejects.toMatchObject({ code: 'LABEL_MASK_INVALID' });
    await expect(selectReadout(images, images, { ...options, outputs: ['dec_s8'] })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('dec_s8') });
    await expect(selectReadout(images, images, { ...options, timesteps: [1000] })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
