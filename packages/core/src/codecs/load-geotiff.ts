import { isMainThread, workerData } from 'node:worker_threads';

type GeotiffModule = typeof import('geotiff');

let loaded: Promise<GeotiffModule> | undefined;

/**
 * The geotiff package, imported on first use. Its worker pool (unused here) imports 'web-worker', whose Node build
 * reads `workerData.mod` at import time and throws inside a worker thread that was started without workerData
 * (developit/web-worker#57). With the import deferred, loading this package never triggers that; and for the import
 * itself, a placeholder global `Worker` makes web-worker take its "native Worker" branch instead.
 */
export function loadGeotiff(): Promise<GeotiffModule> {
  loaded ??= importGeotiff();
  return loaded;
}

async function importGeotiff(): Promise<GeotiffModule> {
  const scope = globalThis as { Worker?: unknown };
  const shim = !isMainThread && workerData == null && typeof scope.Worker !== 'function';
  if (shim) {
    scope.Worker = function GeotiffPoolUnavailable(): never {
      throw new Error('geotiff decoder pools are not used by diffusekit');
    };
  }
  try {
    return await import('geotiff');
  } finally {
    if (shim) delete scope.Worker;
  }
}
