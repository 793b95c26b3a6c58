/**
 * The endpoints (services) serving models from branches: the commit each one answers with, the
 * branch head, request rate and errors, refreshed every few seconds while shown; and the
 * "try it" box, which predicts through the server (`POST services/{name}/predict`, with
 * Jupyter's auth), so the answer says which commit gave it.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { apiPath } from '../url';

export type ServiceState = 'loading' | 'ready' | 'failing' | 'draining' | 'stopped' | 'lost';

export interface IReplica {
  service: string;
  replica: string;
  ref: string;
  url: string;
  state: ServiceState;
  commit: string | null;
  requests: number;
  errors: number;
  rate: number;
  hostname: string;
  pid: number;
  last_error: string | null;
}

export interface IService {
  name: string;
  ref: string;
  state: ServiceState;
  /** Commits answering now (one, except during a swap). */
  commits: string[];
  /** The branch head now. */
  head: string | null;
  replicas: IReplica[];
  requests: number;
  errors: number;
  /** Requests per second over the last 10 seconds, all replicas. */
  rate: number;
  urls: string[];
  pipeline: string | null;
  last_error: string | null;
}

export interface IPrediction {
  service: string;
  commit: string | null;
  result: unknown;
  url: string;
  ms: number;
}

/** What the "try it" box of one service shows. */
export interface ITrial {
  body: string;
  running: boolean;
  prediction: IPrediction | null;
  error: string | null;
}

/** Refresh period while the section is shown. */
export const SERVING_POLL_MS = 3000;

/** `application/json` for a JSON value, `text/csv` for anything else (a header row and rows). */
export function contentType(body: string): string {
  try {
    JSON.parse(body);
    return 'application/json';
  } catch {
    return 'text/csv';
  }
}

/** Whether the service answers from an older commit than its branch head (a swap pending, or a
 * head that failed to load). */
export function behind(service: IService): boolean {
  return service.head !== null && service.commits.length > 0 && !service.commits.includes(service.head);
}

export class ServingModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get services(): IService[] {
    return this._services;
  }

  get error(): string | null {
    return this._error;
  }

  /** True once the first refresh answered. */
  get loaded(): boolean {
    return this._loaded;
  }

  trial(name: string): ITrial {
    return this._trials.get(name) ?? { body: '', running: false, prediction: null, error: null };
  }

  async refresh(): Promise<void> {
    try {
      const page = await requestAPI<{ items: IService[] }>('services');
      this._services = page.items;
      this._error = null;
    } catch (error) {
      this._error = `Could not list the endpoints: ${(error as Error).message}`;
    }
    this._loaded = true;
    this._changed.emit();
  }

  /** Refresh now and every `ms` until `stop()`. */
  start(ms = SERVING_POLL_MS): void {
    this.stop();
    void this.refresh();
    this._timer = setInterval(() => void this.refresh(), ms);
  }

  stop(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
  }

  setBody(name: string, body: string): void {
    this._trials.set(name, { ...this.trial(name), body });
    this._changed.emit();
  }

  /** Send the "try it" body of `name` to one of its replicas, through the server. */
  async predict(name: string): Promise<IPrediction | null> {
    const body = this.trial(name).body;
    this._trials.set(name, { body, running: true, prediction: null, error: null });
    this._changed.emit();
    let prediction: IPrediction | null = null;
    let error: string | null = null;
    try {
      prediction = await requestAPI<IPrediction>(apiPath('services', name, 'predict'), {
        method: 'POST',
        body,
        headers: { 'Content-Type': contentType(body) }
      });
    } catch (e) {
      error = (e as Error).message;
    }
    this._trials.set(name, { body, running: false, prediction, error });
    this._changed.emit();
    if (prediction) {
      void this.refresh(); // the counts moved
    }
    return prediction;
  }

  private _services: IService[] = [];
  private _error: string | null = null;
  private _loaded = false;
  private _trials = new Map<string, ITrial>();
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _changed = new Signal<this, void>(this);
}
