/**
 * The one place the sidebar talks HTTP: JSON calls go through `requestAPI`, file bytes through
 * `requestBytes` (live events come on JupyterLab's event stream, see model/events.ts). Every
 * request goes through `ServerConnection.makeRequest`, so the token, the XSRF header and the base
 * URL are right.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An error answered by the server, with the structured body of jupyter_pipes' errors. */
export class PipesRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> = {}
  ) {
    super(message);
  }
}

/** The absolute URL of an API path (for links such as downloads). */
export function apiUrl(endPoint: string): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(settings.baseUrl, 'pipes', 'api', endPoint);
}

async function send(endPoint: string, init: RequestInit): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'pipes', 'api', endPoint);
  try {
    return await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') {
      throw error;
    }
    throw new ServerConnection.NetworkError(error as TypeError);
  }
}

function parse(text: string): any {
  if (text.length === 0) {
    return text;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: keep the text
  }
}

async function fail(response: Response): Promise<never> {
  const data = parse(await response.text());
  const message =
    (data && typeof data === 'object' && (data.message as string)) ||
    response.statusText ||
    `HTTP ${response.status}`;
  throw new PipesRequestError(message, response.status, typeof data === 'object' ? data : {});
}

/**
 * Call the jupyter_pipes REST API; the answer's JSON (or text, if it is not JSON).
 *
 * @param endPoint path under `/pipes/api/` (e.g. `repos` or `repos/data/commits?limit=20`)
 * @param init fetch options (method, body...)
 */
export async function requestAPI<T>(endPoint = '', init: RequestInit = {}): Promise<T> {
  const response = await send(endPoint, init);
  if (!response.ok) {
    return fail(response);
  }
  return parse(await response.text()) as T;
}

/** GET an API path's raw bytes (a stored file, an executed notebook). */
export async function requestBytes(endPoint: string): Promise<ArrayBuffer> {
  const response = await send(endPoint, {});
  if (!response.ok) {
    return fail(response);
  }
  return response.arrayBuffer();
}
