/**
 * The live event stream of the server (`/pipes/api/events`), read with `fetch` streaming through
 * the request module (so token authentication works, which `EventSource` cannot do), parsed
 * frame by frame, and reconnected with exponential backoff. Models listen to `received`.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { openEventStream } from '../request';
import { SSEParser } from './sse';
import { IPipesEvent } from './types';

export type StreamState = 'connecting' | 'open' | 'closed';

/** What the stream needs of a response: its body (a readable byte stream). */
export interface IStreamResponse {
  body: ReadableStream<Uint8Array> | null;
}

export interface IEventStreamOptions {
  /** Opens the stream (default: the request module's `openEventStream`). */
  open?: (lastEventId: string | null, signal: AbortSignal) => Promise<IStreamResponse>;
  /** Waits before a reconnection (default: `setTimeout`). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** First reconnection delay in ms (default 1000); it doubles up to `maxDelay`. */
  initialDelay?: number;
  /** Longest reconnection delay in ms (default 30000). */
  maxDelay?: number;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The delay before reconnection attempt `attempt` (0-based): doubling, capped. */
export function backoffDelay(attempt: number, initial: number, max: number): number {
  return Math.min(max, initial * Math.pow(2, Math.max(0, attempt)));
}

export class EventStream implements IDisposable {
  constructor(options: IEventStreamOptions = {}) {
    this._open = options.open ?? openEventStream;
    this._sleep = options.sleep ?? defaultSleep;
    this._initialDelay = options.initialDelay ?? 1000;
    this._maxDelay = options.maxDelay ?? 30000;
  }

  /** Every event the server sends. */
  get received(): ISignal<this, IPipesEvent> {
    return this._received;
  }

  /** A connection opened; `true` when it is a reconnection (events may have been missed). */
  get opened(): ISignal<this, boolean> {
    return this._opened;
  }

  get stateChanged(): ISignal<this, StreamState> {
    return this._stateChanged;
  }

  get state(): StreamState {
    return this._state;
  }

  get isDisposed(): boolean {
    return this._abort.signal.aborted;
  }

  /** Start reading (and reconnecting) until disposed; resolves when disposed. */
  start(): Promise<void> {
    if (!this._running) {
      this._running = this._loop();
    }
    return this._running;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._abort.abort();
    this._setState('closed');
    Signal.clearData(this);
  }

  private async _loop(): Promise<void> {
    const signal = this._abort.signal;
    let attempt = 0;
    let everOpened = false;
    while (!signal.aborted) {
      this._setState('connecting');
      let delivered = false;
      try {
        const response = await this._open(this._parser.lastEventId || null, signal);
        if (!response.body) {
          throw new Error('the event stream has no body');
        }
        this._setState('open');
        this._opened.emit(everOpened);
        everOpened = true;
        attempt = 0;
        delivered = true;
        await this._read(response.body, signal);
      } catch (error) {
        if (signal.aborted) {
          break;
        }
        if (!delivered) {
          attempt += 1;
        }
      }
      if (signal.aborted) {
        break;
      }
      this._setState('closed');
      this._parser.reset();
      const base = this._parser.retry ?? this._initialDelay;
      const delay = attempt === 0 ? base : backoffDelay(attempt - 1, Math.max(base, this._initialDelay), this._maxDelay);
      await this._sleep(delay, signal);
    }
    this._setState('closed');
  }

  private async _read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const cancel = () => void reader.cancel().catch(() => undefined);
    signal.addEventListener('abort', cancel);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        this._dispatch(decoder.decode(value, { stream: true }));
      }
      this._dispatch(decoder.decode());
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  private _dispatch(text: string): void {
    for (const message of this._parser.push(text)) {
      if (this.isDisposed) {
        return;
      }
      let event: IPipesEvent;
      try {
        event = JSON.parse(message.data);
      } catch {
        continue; // not an event of ours
      }
      if (event && typeof event === 'object' && typeof event.type === 'string') {
        this._received.emit(event);
      }
    }
  }

  private _setState(state: StreamState): void {
    if (state !== this._state) {
      this._state = state;
      if (!this.isDisposed || state === 'closed') {
        this._stateChanged.emit(state);
      }
    }
  }

  private _open: NonNullable<IEventStreamOptions['open']>;
  private _sleep: NonNullable<IEventStreamOptions['sleep']>;
  private _initialDelay: number;
  private _maxDelay: number;
  private _parser = new SSEParser();
  private _abort = new AbortController();
  private _running: Promise<void> | null = null;
  private _state: StreamState = 'closed';
  private _received = new Signal<this, IPipesEvent>(this);
  private _opened = new Signal<this, boolean>(this);
  private _stateChanged = new Signal<this, StreamState>(this);
}
