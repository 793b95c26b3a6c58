/**
 * The server's live events, read from JupyterLab's event stream (`app.serviceManager.events`,
 * jupyter_server's `/api/events/subscribe` websocket). The server emits one jupyter_events schema
 * per event type, `https://events.jupyter.org/jupyter_pipes/<type>/v1`; this keeps those events,
 * turns each into `{ type, ...payload }` and emits it on `received`.
 *
 * The websocket keeps no history: what is sent while the socket is down is lost, and the event
 * manager reconnects without saying so. So every payload carries `seq` (1, 2, 3... for one
 * server process) and `instance` (which process). `missed` fires, and the models reload
 * everything, when the next event shows a gap or a new instance, or when the server's marker
 * (`GET /pipes/api/events/marker`, checked at start, every `checkInterval`, when the page becomes
 * visible and when the browser comes back online) is ahead of the last event seen. See
 * docs/events.md.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from '../request';
import { IPipesEvent } from './types';

export type StreamState = 'connecting' | 'open' | 'closed';

/** The schema `$id`s of jupyter_pipes' events start with this. */
export const SCHEMA_PREFIX = 'https://events.jupyter.org/jupyter_pipes/';

/** One emission of JupyterLab's event stream (`Event.Emission` of `@jupyterlab/services`). */
export type Emission = { readonly schema_id: string; readonly [key: string]: unknown };

/** What the stream needs of JupyterLab's `EventManager`: its `stream`. */
export interface IEventSource {
  readonly stream: ISignal<any, Emission>;
}

/** The server's newest event: its `instance` and `seq` (0 before the first). */
export interface IMarker {
  instance: string;
  seq: number;
}

export interface IEventStreamOptions {
  /** JupyterLab's event manager (`app.serviceManager.events`). */
  source: IEventSource;
  /** Reads the server's marker (default: `GET /pipes/api/events/marker`). */
  marker?: () => Promise<IMarker>;
  /** Milliseconds between two marker checks (default 10000; 0: only at start and on demand). */
  checkInterval?: number;
  /** Milliseconds the socket gets to deliver events the marker announced (default 2000). */
  grace?: number;
  /** Waits (default: `setTimeout`). */
  sleep?: (ms: number) => Promise<void>;
}

/** A jupyter_pipes event of the event stream as the models take it; `null` for others. */
export function toPipesEvent(emission: Emission): { event: IPipesEvent; seq: unknown; instance: unknown } | null {
  const id = emission.schema_id;
  if (typeof id !== 'string' || !id.startsWith(SCHEMA_PREFIX)) {
    return null;
  }
  const type = id.slice(SCHEMA_PREFIX.length).split('/')[0];
  const { schema_id: _, seq, instance, ...payload } = emission;
  return { event: { type, ...payload } as IPipesEvent, seq, instance };
}

function defaultMarker(): Promise<IMarker> {
  return requestAPI<IMarker>('events/marker');
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

export class EventStream implements IDisposable {
  constructor(options: IEventStreamOptions) {
    this._source = options.source;
    this._marker = options.marker ?? defaultMarker;
    this._checkInterval = options.checkInterval ?? 10000;
    this._grace = options.grace ?? 2000;
    this._sleep = options.sleep ?? defaultSleep;
  }

  /** Every jupyter_pipes event the server sends, as `{ type, ...payload }`. */
  get received(): ISignal<this, IPipesEvent> {
    return this._received;
  }

  /** Events were missed (a gap, a restarted server, a marker ahead): reload everything. */
  get missed(): ISignal<this, void> {
    return this._missed;
  }

  get stateChanged(): ISignal<this, StreamState> {
    return this._stateChanged;
  }

  /** `open` once the server answered, `closed` while it does not. */
  get state(): StreamState {
    return this._state;
  }

  /** The last event seen (or the marker at start): what a gap is measured from. */
  get last(): IMarker | null {
    return this._instance === null ? null : { instance: this._instance, seq: this._seq };
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Listen (once; again is a no-op): take the marker as the starting point, then check it. */
  start(): Promise<void> {
    if (this._started || this._disposed) {
      return Promise.resolve();
    }
    this._started = true;
    this._setState('connecting');
    this._source.stream.connect(this._onEmission, this);
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this._onVisible);
    }
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this._onOnline);
    }
    if (this._checkInterval > 0) {
      this._timer = setInterval(() => void this.check(), this._checkInterval);
    }
    return this.check();
  }

  /** Compare the server's marker with the last event seen; `missed` if events were lost. */
  async check(): Promise<void> {
    if (this._checking) {
      return this._checking;
    }
    this._checking = this._check().finally(() => (this._checking = null));
    return this._checking;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._source.stream.disconnect(this._onEmission, this);
    if (this._timer !== null) {
      clearInterval(this._timer);
    }
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this._onVisible);
    }
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this._onOnline);
    }
    this._setState('closed');
    Signal.clearData(this);
  }

  private async _check(): Promise<void> {
    let marker: IMarker;
    try {
      marker = await this._marker();
      if (typeof marker?.instance !== 'string' || typeof marker.seq !== 'number') {
        throw new Error('not a marker');
      }
    } catch {
      if (!this._disposed) {
        this._setState('closed');
      }
      return;
    }
    if (this._disposed) {
      return;
    }
    if (this._instance === null) {
      this._adopt(marker); // the starting point: the models load everything at start
    } else if (marker.instance !== this._instance) {
      this._adopt(marker); // a restarted server
      this._missed.emit();
    } else if (marker.seq > this._seq) {
      await this._sleep(this._grace); // events on their way arrive meanwhile
      if (!this._disposed && this._instance === marker.instance && this._seq < marker.seq) {
        this._adopt(marker);
        this._missed.emit();
      }
    }
    this._setState('open');
  }

  private _onEmission(_: unknown, emission: Emission): void {
    const found = toPipesEvent(emission);
    if (found === null || this._disposed) {
      return;
    }
    const { event, seq, instance } = found;
    if (typeof seq === 'number' && typeof instance === 'string') {
      const gap =
        this._instance !== null && (instance !== this._instance || seq > this._seq + 1);
      if (instance !== this._instance || seq > this._seq) {
        this._adopt({ instance, seq });
      }
      if (gap) {
        this._missed.emit();
      }
    }
    this._setState('open');
    this._received.emit(event);
  }

  private _adopt(marker: IMarker): void {
    this._instance = marker.instance;
    this._seq = marker.seq;
  }

  private _onVisible = (): void => {
    if (typeof document !== 'undefined' && document.visibilityState === 'visible') {
      void this.check();
    }
  };

  private _onOnline = (): void => {
    void this.check();
  };

  private _setState(state: StreamState): void {
    if (state !== this._state) {
      this._state = state;
      this._stateChanged.emit(state);
    }
  }

  private _source: IEventSource;
  private _marker: () => Promise<IMarker>;
  private _checkInterval: number;
  private _grace: number;
  private _sleep: (ms: number) => Promise<void>;
  private _instance: string | null = null;
  private _seq = 0;
  private _started = false;
  private _disposed = false;
  private _checking: Promise<void> | null = null;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _state: StreamState = 'closed';
  private _received = new Signal<this, IPipesEvent>(this);
  private _missed = new Signal<this, void>(this);
  private _stateChanged = new Signal<this, StreamState>(this);
}
