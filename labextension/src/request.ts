/**
 * The one place the sidebar talks HTTP: every call goes through `requestAPI`.
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

/**
 * Call the jupyter_pipes REST API.
 *
 * @param endPoint path under `/pipes/api/` (e.g. `repos` or `repos/data/commits?limit=20`)
 * @param init fetch options (method, body...)
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'pipes', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
  }
  if (!response.ok) {
    const message =
      (data && typeof data === 'object' && (data.message as string)) ||
      response.statusText;
    throw new PipesRequestError(message, response.status, data || {});
  }
  return data as T;
}
