/**
 * The state of one lineage view: what it shows, loaded once (and again on `reload`), with a
 * `changed` signal for React (the components only render it).
 */
import { ISignal, Signal } from '@lumino/signaling';

export class Loader<T> {
  constructor(private readonly _fetch: () => Promise<T>) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get data(): T | null {
    return this._data;
  }

  get error(): string | null {
    return this._error;
  }

  get loading(): boolean {
    return this._loading;
  }

  /** Fetch (again); a failure is kept as `error` (a message), never thrown. */
  async reload(): Promise<void> {
    this._loading = true;
    this._changed.emit();
    try {
      this._data = await this._fetch();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message || String(error);
    } finally {
      this._loading = false;
      this._changed.emit();
    }
  }

  private _data: T | null = null;
  private _error: string | null = null;
  private _loading = false;
  private _changed = new Signal<this, void>(this);
}
