import path from 'node:path';
import type { BatchEvent } from '../batch/run-batch.js';
import { writeLine, type CliIo } from './io.js';

export type ReporterMode = 'json' | 'tty' | 'plain';

export function reporterMode(json: boolean, io: CliIo): ReporterMode {
  if (json) return 'json';
  return io.stderr.isTTY ? 'tty' : 'plain';
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Turns batch events into output: JSON lines on stdout (--json), a redrawn progress line on a terminal, or one line
 * per finished file otherwise. Progress within a file combines tiles and steps into one fraction for the ETA.
 */
export function createBatchReporter(mode: ReporterMode, io: CliIo): (event: BatchEvent) => void {
  let total = 0;
  let finished = 0;
  const started = performance.now();
  let fileFraction = 0;
  let step = { step: 0, of: 0 };
  let tile = { tile: 0, of: 0 };
  let lastDraw = 0;
  let current = '';

  const clear = (): void => {
    if (mode === 'tty') io.stderr.write('\r\x1b[2K');
  };
  const draw = (force = false): void => {
    if (mode !== 'tty') return;
    const now = performance.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const done = finished + fileFraction;
    const elapsed = (now - started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN;
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const parts = [`[${bar}] ${finished}/${total} files`];
    if (tile.of > 1) parts.push(`tile ${tile.tile}/${tile.of}`);
    if (step.of > 0) parts.push(`step ${step.step}/${step.of}`);
    parts.push(`ETA ${duration(eta)}`, current);
    const line = parts.join('  ');
    const columns = io.stderr.columns ?? 100;
    io.stderr.write(`\r\x1b[2K${line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line}`);
  };

  return (event) => {
    if (mode === 'json') {
      if (event.type !== 'progress' || event.progress.kind !== 'tile') writeLine(io.stdout, JSON.stringify(event));
      return;
    }
    switch (event.type) {
      case 'start':
        total = event.total;
        draw(true);
        break;
      case 'file-start':
        current = path.basename(event.file);
        fileFraction = 0;
        step = { step: 0, of: 0 };
        tile = { tile: 0, of: 0 };
        draw(true);
        break;
      case 'progress': {
        const p = event.progress;
        if (p.kind === 'step') step = { step: p.step, of: p.of };
        if (p.kind === 'tile') tile = { tile: p.tile, of: p.of };
        if (step.of > 0) {
          const tilePart = tile.of > 0 ? tile.tile / tile.of : 1;
          fileFraction = Math.min(0.999, (step.step - 1 + tilePart) / step.of);
        }
        draw();
        break;
      }
      case 'file-done':
        finished++;
        fileFraction = 0;
        clear();
        writeLine(io.stderr, `ok    ${event.file} -> ${event.output} (${event.seconds.toFixed(1)} s)`);
        draw(true);
        break;
      case 'file-skip':
        finished++;
        clear();
        writeLine(io.stderr, `skip  ${event.file} (${event.output} is complete)`);
        draw(true);
        break;
      case 'file-error':
        finished++;
        fileFraction = 0;
        clear();
        writeLine(io.stderr, `FAIL  ${event.file}: ${event.code}: ${event.message}`);
        draw(true);
        break;
      case 'summary':
        clear();
        writeLine(
          io.stderr,
          `${event.aborted ? 'Aborted' : 'Done'}: ${event.succeeded} succeeded, ${event.failed} failed, ${event.skipped} skipped of ${event.total} in ${duration(event.seconds)}`,
        );
        break;
    }
  };
}
