import type { JobStatus, Progress } from '@diffusekit/core';
import { publicError, type ErrorBody } from './http-errors.js';
import type { ImageResult } from './image-order.js';
import type { JobRecord } from './job-store.js';

export interface JobLinks {
  self: string;
  events: string;
  result: string;
}

/** What GET /v1/jobs/:id answers. */
export interface JobDescription {
  id: string;
  task: string;
  model: string;
  status: JobStatus;
  progress: Progress | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error?: ErrorBody;
  result?: ResultSummary;
  links: JobLinks;
}

export interface ResultSummary {
  format: ImageResult['format'];
  contentType: string;
  bytes: number;
  width: number;
  height: number;
  bands: number;
  dtype: ImageResult['dtype'];
  info?: Record<string, unknown>;
}

export function jobLinks(baseUrl: string, id: string): JobLinks {
  const self = `${baseUrl}/v1/jobs/${encodeURIComponent(id)}`;
  return { self, events: `${self}/events`, result: `${self}/result` };
}

export function summariseResult(result: ImageResult): ResultSummary {
  const { bytes, ...rest } = result;
  return { ...rest, bytes: bytes.byteLength };
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function describeJob(record: JobRecord, baseUrl: string, retryAfterSeconds: number): JobDescription {
  const { job } = record;
  const description: JobDescription = {
    id: job.id,
    task: record.task,
    model: record.model,
    status: job.status,
    progress: job.progress ?? null,
    createdAt: iso(record.createdAt)!,
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
    links: jobLinks(baseUrl, job.id),
  };
  if (job.error) description.error = publicError(job.error, retryAfterSeconds);
  if (job.value) description.result = summariseResult(job.value);
  return description;
}
