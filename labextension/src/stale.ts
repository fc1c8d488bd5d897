/**
 * The panels of a dead kernel: a %%tune panel (ipywidgets, class `hptune-panel`) stays in the cell's output after
 * its kernel restarted or shut down, and its buttons would do nothing. Each panel carries its kernel process's token
 * as the class `hptune-kernel-TOKEN`; a panel whose token is not the one the notebook's kernel sends is marked stale:
 * a notice at its top, its buttons and inputs disabled.
 */

export const PANEL_CLASS = 'hptune-panel';
export const STALE_CLASS = 'hptune-panel-stale';
export const NOTICE_CLASS = 'hptune-stale-notice';
const TOKEN_PREFIX = 'hptune-kernel-';
const DISABLED_HERE = 'hptuneStaleDisabled'; // data attribute: a control this module disabled, to enable again

export const STALE_NOTICE =
  'The kernel this panel belonged to has been restarted or shut down: its buttons no longer do anything. ' +
  'Run the cell again for a live panel.';

/** The token of the kernel process that made a panel, from its classes (null: a panel of an older version). */
export function panelToken(classes: Iterable<string>): string | null {
  for (const name of classes) {
    if (name.startsWith(TOKEN_PREFIX)) {
      return name.slice(TOKEN_PREFIX.length);
    }
  }
  return null;
}

/**
 * Whether a panel is of a dead kernel. `live` is the token of the notebook's kernel: null when no kernel with
 * jupyter-hptune is running (restarting, shut down, or the extension not loaded), undefined while not yet known.
 */
export function isStale(classes: Iterable<string>, live: string | null | undefined): boolean {
  if (live === undefined) {
    return false;
  }
  return live === null || panelToken(classes) !== live;
}

const CONTROLS = 'button, input, select, textarea';

/** Mark a panel stale (notice, controls disabled) or live again (what this module did undone). */
export function markPanel(node: HTMLElement, stale: boolean): void {
  if (stale) {
    node.classList.add(STALE_CLASS);
    if (!node.querySelector(`:scope > .${NOTICE_CLASS}`)) {
      const notice = document.createElement('div');
      notice.className = NOTICE_CLASS;
      notice.setAttribute('role', 'status');
      notice.textContent = STALE_NOTICE;
      node.insertBefore(notice, node.firstChild);
    }
    node.querySelectorAll<HTMLButtonElement | HTMLInputElement>(CONTROLS).forEach(control => {
      if (!control.disabled) {
        control.disabled = true;
        control.dataset[DISABLED_HERE] = '1';
      }
    });
  } else if (node.classList.contains(STALE_CLASS)) {
    node.classList.remove(STALE_CLASS);
    node.querySelectorAll(`:scope > .${NOTICE_CLASS}`).forEach(notice => notice.remove());
    node.querySelectorAll<HTMLButtonElement | HTMLInputElement>(CONTROLS).forEach(control => {
      if (control.dataset[DISABLED_HERE]) {
        control.disabled = false;
        delete control.dataset[DISABLED_HERE];
      }
    });
  }
}

/** Mark every panel under `root` by whether it belongs to the live kernel. */
export function markPanels(root: ParentNode, live: string | null | undefined): void {
  if (live === undefined) {
    return;
  }
  root.querySelectorAll<HTMLElement>(`.${PANEL_CLASS}`).forEach(node => markPanel(node, isStale(node.classList, live)));
}

/** Keep the panels under `root` marked as they render (ipywidgets renders outputs late, and again on reload). */
export function watchPanels(root: HTMLElement, live: () => string | null | undefined): () => void {
  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) {
      return;
    }
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      markPanels(root, live());
    });
  });
  observer.observe(root, { childList: true, subtree: true });
  return () => observer.disconnect();
}
