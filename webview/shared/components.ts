// Our own small component set for the webviews. The form controls come from
// @vscode/webview-ui-toolkit (the design asked for it), which Microsoft archived in January 2025:
// every use of it is in this one file, so replacing it (e.g. with @vscode-elements/elements, or plain
// elements styled with --vscode-* variables) means rewriting only these functions.

import {
  provideVSCodeDesignSystem,
  vsCodeBadge,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDivider,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeProgressRing,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Registers the custom elements once per page. */
export function registerComponents(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField(), vsCodeCheckbox(), vsCodeDivider(), vsCodeBadge(), vsCodeProgressRing());
}

export interface ButtonOptions {
  primary?: boolean;
  disabled?: boolean;
  title?: string;
  id?: string;
  onClick: () => void;
}

export function button(label: string, o: ButtonOptions): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('appearance', o.primary ? 'primary' : 'secondary');
  if (o.disabled) b.setAttribute('disabled', '');
  if (o.title) b.title = o.title;
  if (o.id) b.id = o.id;
  b.addEventListener('click', () => {
    if (!b.hasAttribute('disabled')) o.onClick();
  });
  return b;
}

export function setDisabled(el: HTMLElement, disabled: boolean): void {
  if (disabled) el.setAttribute('disabled', '');
  else el.removeAttribute('disabled');
}

export function dropdown(options: { value: string; label: string }[], value: string, onChange: (v: string) => void, ariaLabel: string): HTMLElement {
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  d.setAttribute('aria-label', ariaLabel);
  for (const o of options) {
    const opt = document.createElement('vscode-option');
    opt.setAttribute('value', o.value);
    opt.textContent = o.label;
    if (o.value === value) opt.setAttribute('selected', '');
    d.appendChild(opt);
  }
  d.addEventListener('change', () => onChange(d.value));
  // The element reads `selected` only once connected; set the value again after it is in the page.
  requestAnimationFrame(() => {
    if (value && d.value !== value) d.value = value;
  });
  return d;
}

export function textField(value: string, o: { label: string; placeholder?: string; size?: number; onInput: (v: string) => void }): HTMLElement {
  const t = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  t.setAttribute('value', value);
  if (o.placeholder) t.setAttribute('placeholder', o.placeholder);
  if (o.size) t.setAttribute('size', String(o.size));
  t.textContent = o.label;
  t.addEventListener('input', () => o.onInput(t.value));
  return t;
}

export function checkbox(label: string, checked: boolean, onChange: (v: boolean) => void, id?: string): HTMLElement {
  const c = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  c.textContent = label;
  if (checked) c.setAttribute('checked', '');
  if (id) c.id = id;
  c.addEventListener('change', () => onChange(c.checked));
  return c;
}

export function badge(text: string): HTMLElement {
  const b = document.createElement('vscode-badge');
  b.textContent = text;
  return b;
}

export function divider(): HTMLElement {
  return document.createElement('vscode-divider');
}

export function progressRing(): HTMLElement {
  return document.createElement('vscode-progress-ring');
}

/** A plain element with classes and text (no toolkit). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
