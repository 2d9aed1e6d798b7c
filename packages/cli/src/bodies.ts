import { readFile } from 'node:fs/promises';
import { InputError, UsageError } from './exit-codes.js';

/**
 * The bodies of `omnibus publish`: `--data <json>`, `--file <path>` or stdin. A file or stdin is
 * one JSON document, or JSON lines (one body per non-empty line).
 */
export async function readBodies(source: { data?: string | undefined; file?: string | undefined }, stdin: NodeJS.ReadableStream & { isTTY?: boolean }): Promise<unknown[]> {
  if (source.data !== undefined && source.file !== undefined) throw new UsageError('give either --data or --file, not both');
  if (source.data !== undefined) return [parseJson(source.data, '--data')];
  if (source.file !== undefined) {
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (cause) {
      throw new UsageError(`--file ${source.file}: cannot read it (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`);
    }
    return documentOrLines(text, `--file ${source.file}`);
  }
  if (stdin.isTTY) throw new UsageError('nothing to publish: give --data <json>, --file <path>, or JSON lines on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk));
  return documentOrLines(Buffer.concat(chunks).toString('utf8'), 'stdin');
}

function documentOrLines(text: string, where: string): unknown[] {
  if (text.trim() === '') throw new UsageError(`${where} is empty: nothing to publish`);
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    // not one document: JSON lines
  }
  const bodies: unknown[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() !== '') bodies.push(parseJson(line, `${where} line ${index + 1}`));
  });
  return bodies;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InputError(`${where} is not JSON: ${(cause as Error).message}; nothing was sent`);
  }
}
