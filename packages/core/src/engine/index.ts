export { Engine, createEngine, type EngineOptions } from './engine.js';
export type { ModelSession, SessionInfo } from './local-session.js';
export { PROVIDERS, availableProviders, isProviderAvailable, type ProviderChoice, type ProviderName } from './providers.js';
export type { TensorData } from './tensors.js';
export { tensorSize } from './tensors.js';
