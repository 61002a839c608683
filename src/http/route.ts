// What a route is and answers: apart from server.ts (which mounts every route) so that routes need not
// import the server that imports them.
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log.ts';

export interface HttpAnswer {
  status: number;
  /** Sent as JSON unless `text` is given. */
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RequestContext {
  req: IncomingMessage;
  url: URL;
  /** The raw body, read once, up to the body limit and within the request deadline. */
  body(): Promise<Buffer>;
  log: Logger;
}

export type Method = 'GET' | 'POST';

export interface Route {
  method: Method;
  path: string;
  handle(rc: RequestContext): Promise<HttpAnswer>;
}
