/**
 * State of the sidebar: what the server said, and signals when it changes. Components only
 * render a model; the model only talks to the server through `requestAPI`.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { requestAPI } from './request';

/** The frontend's version; the server's `/pipes/api/settings` must match it. */
export const FRONTEND_VERSION = '0.1.0';

export interface IRepo {
  name: string;
  description: string;
  branches: string[];
  size_bytes: number;
  last_commit: string | null;
}

export interface ISettings {
  version: string;
  [key: string]: unknown;
}

export class PipesModel {
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get repos(): IRepo[] {
    return this._repos;
  }

  /** A message for the user when something is wrong (version mismatch, server error). */
  get error(): string | null {
    return this._error;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  /** Check the server's version, then load the repos. */
  async refresh(): Promise<void> {
    try {
      const settings = await requestAPI<ISettings>('settings');
      if (settings.version !== FRONTEND_VERSION) {
        this._error =
          `The jupyter_pipes server extension is version ${settings.version} but this ` +
          `sidebar is ${FRONTEND_VERSION}: reinstall jupyter_pipes and restart JupyterLab.`;
      } else {
        const body = await requestAPI<{ repos: IRepo[] } | IRepo[]>('repos');
        this._repos = Array.isArray(body) ? body : body.repos;
        this._error = null;
      }
    } catch (error) {
      this._error = `Could not reach the jupyter_pipes server extension: ${
        (error as Error).message
      }`;
    }
    this._loaded = true;
    this._changed.emit();
  }

  private _repos: IRepo[] = [];
  private _error: string | null = null;
  private _loaded = false;
  private _changed = new Signal<this, void>(this);
}
