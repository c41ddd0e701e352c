export { DiffusekitQueue, connectQueue, defaultStoreFolder, type QueueCounts, type QueueImageRequest, type QueueOptions } from './client.js';
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions, type WorkerEvent } from './worker.js';
export { FolderResultStore, type ResultStore } from './result-store.js';
export { parseRedisUrl, redact, type ConnectionEnv, type RedisConnection } from './connection.js';
export { PERMANENT_ERROR_CODES } from './protocol.js';
