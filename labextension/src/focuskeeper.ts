/**
 * Keeps the keyboard on the sidebar's row while the sidebar updates in the background.
 *
 * Live updates (a branch created elsewhere, a commit, a job's progress) refresh the models and
 * the views re-render; JupyterLab may then activate the main area's current widget (seen: a
 * new branch listed in the Pipes files panel activates the Launcher), which takes the focus
 * from a focused row although the user did nothing. A keyboard user would lose their place.
 *
 * The keeper remembers the focused row by what it shows (`data-commit`, `data-job`,
 * `data-datum`, `data-repo` of its item) and, when the focus leaves it without any user input
 * since (no key pressed, no pointer pressed, no wheel), gives the focus back to that row — the
 * same element if React kept it, else the row of the same item rendered anew. Any input the
 * user makes lets the focus go wherever it goes.
 */

/** The attributes that name a row's item, most specific first. */
const ITEM_KEYS = ['datum', 'job', 'commit', 'repo'] as const;

/** A CSS selector for the row (`[data-row]`) of the item `item` belongs to. */
export function rowSelector(item: HTMLElement): string | null {
  for (const key of ITEM_KEYS) {
    const value = item.dataset[key];
    if (value) {
      const kind = item.dataset.menuKind;
      const scope = kind ? `[data-menu-kind="${kind}"]` : '';
      return `${scope}[data-${key}="${value.replace(/["\\]/g, '\\$&')}"] [data-row]`;
    }
  }
  return null;
}

export class FocusKeeper {
  constructor(private readonly _node: HTMLElement) {
    _node.addEventListener('focusin', this._onFocusIn);
    _node.addEventListener('focusout', this._onFocusOut);
    for (const type of ['keydown', 'pointerdown', 'wheel']) {
      document.addEventListener(type, this._onInput, true);
    }
  }

  dispose(): void {
    this._node.removeEventListener('focusin', this._onFocusIn);
    this._node.removeEventListener('focusout', this._onFocusOut);
    for (const type of ['keydown', 'pointerdown', 'wheel']) {
      document.removeEventListener(type, this._onInput, true);
    }
    this._row = null;
  }

  private _onInput = (): void => {
    this._userActed = true;
  };

  private _onFocusIn = (event: FocusEvent): void => {
    const target = event.target as HTMLElement;
    const item = target.matches?.('[data-row]') ? target.closest<HTMLElement>('[data-menu-kind]') : null;
    this._row = item ? { element: target, selector: rowSelector(item) } : null;
    this._userActed = false;
  };

  private _onFocusOut = (event: FocusEvent): void => {
    const row = this._row;
    const to = event.relatedTarget as Node | null;
    if (!row || this._userActed || (to && this._node.contains(to))) {
      return;
    }
    // the focus is taken away without user input: once it has landed, give it back
    queueMicrotask(() => {
      if (this._userActed || this._row !== row) {
        return;
      }
      const target = row.element.isConnected
        ? row.element
        : row.selector
          ? this._node.querySelector<HTMLElement>(row.selector)
          : null;
      target?.focus();
    });
  };

  private _row: { element: HTMLElement; selector: string | null } | null = null;
  private _userActed = false;
}
