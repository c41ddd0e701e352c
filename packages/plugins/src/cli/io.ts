import type { Writable } from 'node:stream';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}
