/**
 * What every component may use: the root model (to render and call) and the command registry
 * (to open files, notebooks and dialogs through the extension's commands).
 */
import { CommandRegistry } from '@lumino/commands';
import { ISignal } from '@lumino/signaling';
import React, { useContext, useEffect, useState } from 'react';

import { isMenuKey } from '../menus';
import { PipesModel } from '../model';

export interface IPipesContext {
  model: PipesModel;
  commands: CommandRegistry;
}

export const PipesContext = React.createContext<IPipesContext | null>(null);

export function usePipes(): IPipesContext {
  const value = useContext(PipesContext);
  if (!value) {
    throw new Error('a Pipes component must be rendered inside PipesContext');
  }
  return value;
}

/** Re-render whenever one of `signals` fires. */
export function useSignals(...signals: ISignal<any, any>[]): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    const bump = () => setTick(t => t + 1);
    signals.forEach(s => s.connect(bump));
    return () => signals.forEach(s => s.disconnect(bump));
  }, signals);
}

/** Run a command, reporting a failure in the console (commands show their own dialogs). */
export function run(commands: CommandRegistry, id: string, args: Record<string, any> = {}): void {
  commands.execute(id, args).catch(error => console.error(`jupyter-pipes: ${id} failed`, error));
}

/**
 * Keys of a list: the arrow keys (and Home, End) move the focus between its `[data-row]`
 * buttons; the context-menu key or Shift+F10 opens the focused row's menu.
 */
export function onListKeyDown(event: React.KeyboardEvent<HTMLElement>): void {
  if (isMenuKey(event)) {
    const button = (document.activeElement as HTMLElement | null)
      ?.closest('[data-menu-kind]')
      ?.querySelector<HTMLElement>('.jp-Pipes-rowMenuButton');
    if (button) {
      event.preventDefault();
      button.click();
    }
    return;
  }
  if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(event.key)) {
    return;
  }
  const rows = Array.from(event.currentTarget.querySelectorAll<HTMLElement>('[data-row]'));
  if (rows.length === 0) {
    return;
  }
  const i = rows.indexOf(document.activeElement as HTMLElement);
  let next = i;
  if (event.key === 'ArrowDown') {
    next = Math.min(rows.length - 1, i + 1);
  } else if (event.key === 'ArrowUp') {
    next = Math.max(0, i - 1);
  } else if (event.key === 'Home') {
    next = 0;
  } else {
    next = rows.length - 1;
  }
  event.preventDefault();
  rows[next]?.focus();
}
