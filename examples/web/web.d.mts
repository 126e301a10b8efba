// Types of ./web.mjs (plain JavaScript, run by `npm run web` without a TypeScript loader).
import type { Server } from 'node:http';
export interface WebFile {
  readonly body: Uint8Array;
  readonly type: string;
}
export function buildWeb(): Promise<Map<string, WebFile>>;
export const ISOLATION_HEADERS: Readonly<Record<string, string>>;
export function serveWeb(files: ReadonlyMap<string, WebFile>, port: number): Promise<{ server: Server; url: string }>;
