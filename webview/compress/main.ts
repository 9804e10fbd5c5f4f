// The Compress panel: architecture overview, target controls that only offer legal values, the live
// parameter estimate, data settings and the buttons that start tasks. All state comes from the host.

import { connect, post, setState } from '../shared/host';
import { badge, button, divider, dropdown, el, registerComponents, setDisabled, textField } from '../shared/components';
import { DEVICES, type AxisKey, type AxisVM, type CompressAction, type CompressForm, type CompressState, type EstimateVM, type Targets } from '../protocol';
import { formatBytesShort, formatCount, KIND_LABEL } from '../shared/format';

registerComponents();
const app = document.getElementById('app')!;
let state: CompressState | undefined;
let targets: Targets = {};
let form: CompressForm;
let estimateEl: HTMLElement | undefined;
let noteEl: HTMLElement | undefined;
/** The target controls by axis, so dependent axes can be updated in place (a slider being dragged must not be replaced). */
const controls = new Map<AxisKey, { axis: AxisVM; range: HTMLInputElement; out: HTMLOutputElement; rule: HTMLElement }>();
const buttons = new Map<CompressAction, HTMLElement>();
let sendTimer: ReturnType<typeof setTimeout> | undefined;

connect('compress', (m) => {
  if (m.type === 'compress/state') {
    state = m.state;
    targets = { ...m.state.targets };
    form = { ...m.state.form };
    setState({ dir: m.state.model.dir });
    render();
  } else if (m.type === 'compress/estimate' && estimateEl) {
    if (m.targets) targets = { ...m.targets };
    if (m.axes) for (const a of m.axes) updateAxis(a);
    if (noteEl) noteEl.textContent = m.note ?? '';
    renderEstimate(m.estimate);
  } else if (m.type === 'compress/error') {
    state = undefined;
    estimateEl = undefined;
    setState({ dir: m.dir });
    renderError(m.dir, m.message);
  }
});

/** An unreadable checkpoint: the reason, in the panel, with a way to read it again. */
function renderError(dir: string, message: string): void {
  app.replaceChildren();
  const header = el('header', 'panel-header');
  header.append(el('h1', undefined, dir.split(/[\\/]/).filter(Boolean).pop() ?? dir), badge('unreadable'));
  const msg = el('p', 'error load-error', message);
  msg.setAttribute('role', 'alert');
  app.append(header, el('p', 'muted', `Hybrid Compress cannot read this checkpoint (${dir}):`), msg, button('Retry', { id: 'retry', onClick: () => post({ type: 'compress/reload' }) }));
}

function render(): void {
  const s = state!;
  const m = s.model;
  app.replaceChildren();
  const header = el('header', 'panel-header');
  header.append(el('h1', undefined, m.name), badge(m.modelType), el('span', 'muted', `${formatCount(m.params)} parameters · ${formatBytesShort(m.bytesOnDisk)} on disk`));
  app.append(header);
  if (!m.runnable) app.append(el('p', 'warning', `Inspection only: ${m.unsupportedReason ?? 'this family cannot be run'}`));

  // Architecture overview.
  const arch = el('section', 'arch');
  arch.append(el('h2', undefined, 'Architecture'));
  const strip = el('div', 'layer-strip');
  strip.setAttribute('role', 'list');
  strip.setAttribute('aria-label', `Layer pattern ${m.pattern}`);
  for (const l of m.layers) {
    const cell = el('div', `layer kind-${kindClass(l.kind)}`);
    cell.setAttribute('role', 'listitem');
    cell.tabIndex = 0;
    cell.title = `layer ${l.index}: ${KIND_LABEL[l.kind]} · ${formatCount(l.params)} params`;
    cell.setAttribute('aria-label', cell.title);
    strip.append(cell);
  }
  arch.append(strip, legend());
  const dims = el('dl', 'dims');
  const dim = (k: string, v: string) => dims.append(el('dt', undefined, k), el('dd', undefined, v));
  dim('layers', `${m.numLayers} (${m.pattern})`);
  dim('hidden / vocab', `${m.hiddenSize} / ${m.vocabSize}`);
  if (m.mamba) dim('Mamba', `${m.mamba.numHeads} heads × ${m.mamba.headDim}, ${m.mamba.nGroups} groups, state ${m.mamba.stateSize}`);
  if (m.attention) dim('attention', `${m.attention.numHeads} q / ${m.attention.numKvHeads} kv heads × ${m.attention.headDim}`);
  if (m.mlp) dim('FFN', String(m.mlp.intermediateSize));
  arch.append(dims);
  app.append(arch, divider());

  // Targets.
  const tg = el('section', 'targets');
  tg.append(el('h2', undefined, 'Targets'));
  controls.clear();
  for (const a of s.axes) tg.append(axisControl(a));
  noteEl = el('p', 'muted axis-note');
  noteEl.id = 'axis-note';
  noteEl.setAttribute('aria-live', 'polite');
  tg.append(noteEl);
  estimateEl = el('p', 'estimate');
  estimateEl.id = 'estimate';
  tg.append(estimateEl);
  tg.append(button('Reset targets', { onClick: () => ((targets = {}), render(), sendTargets()) }));
  app.append(tg, divider());
  renderEstimate(s.estimate);

  // Data and run settings.
  const data = el('section', 'data');
  data.append(el('h2', undefined, 'Data and settings'));
  const dataRow = el('div', 'row');
  const files = s.dataFiles.includes(form.dataFile) || !form.dataFile ? s.dataFiles : [form.dataFile, ...s.dataFiles];
  dataRow.append(
    el('label', undefined, 'Data file'),
    dropdown([{ value: '', label: files.length ? '(choose a file)' : '(no .txt/.jsonl/.parquet in the workspace)' }, ...files.map((f) => ({ value: f, label: f }))], form.dataFile, (v) => updateForm({ dataFile: v }), 'Data file'),
    button('Browse…', { onClick: () => post({ type: 'compress/pickData' }) }),
  );
  data.append(dataRow);
  const nums = el('div', 'row');
  nums.append(
    numberField('Samples', form.samples, (v) => updateForm({ samples: v })),
    numberField('Sequence length', form.seqLen, (v) => updateForm({ seqLen: v })),
    numberField('Distill steps', form.steps, (v) => updateForm({ steps: v })),
  );
  const devRow = el('div', 'row');
  devRow.append(
    el('label', undefined, 'Device'),
    dropdown(DEVICES.map((d) => ({ value: d, label: d })), form.device, (v) => updateForm({ device: v as CompressForm['device'] }), 'Device'),
    textField(form.targetParams, { label: 'Parameter budget (search)', placeholder: '50% or 4B', onInput: (v) => updateForm({ targetParams: v.trim() }) }),
  );
  data.append(nums, devRow);
  app.append(data, divider());

  // Actions.
  const actions = el('section', 'actions');
  const why = !s.trusted ? 'Jobs need a trusted workspace: they run native code over workspace files.' : s.running ? `${s.running} is running for this model` : undefined;
  buttons.clear();
  const row = el('div', 'row');
  for (const [action, label, primary] of [
    ['calibrate', 'Calibrate', true],
    ['prune', 'Prune', false],
    ['search', 'Search', false],
    ['distill', 'Distill', false],
    ['distill-external', 'Distill on cluster…', false],
  ] as const) {
    // A cluster recipe runs nothing here, so it does not need a model this tool can run.
    const blocked = why !== undefined || (!m.runnable && action !== 'distill-external');
    const b = button(label, { primary, id: `action-${action}`, disabled: blocked, title: why ?? taskHint(action), onClick: () => post({ type: 'compress/run', action, targets, form }) });
    buttons.set(action, b);
    row.append(b);
  }
  actions.append(row);
  if (why) actions.append(el('p', 'muted', why));
  actions.append(el('p', 'muted', s.calibrationRun ? `Importance: ${s.calibrationRun.split(/[\\/]/).pop()}` : 'No calibration yet: Prune and Search need one.'));
  app.append(actions);
  for (const [a, b] of buttons) if ((a === 'prune' || a === 'search') && !s.calibrationRun) setDisabled(b, true);
}

function taskHint(a: CompressAction): string {
  return { calibrate: 'Score heads, channels, neurons and layers on the data (a hybrid-compress task)', prune: 'Write the pruned checkpoint for these targets', search: 'Search the architecture for the parameter budget', distill: 'Distill a student from this model', 'distill-external': 'Write a Megatron-Bridge launch recipe (torchrun + Slurm) to distill a pruned student from this model on a GPU cluster; nothing runs until you start it' }[a];
}

function kindClass(k: string): string {
  return { M: 'mamba', '*': 'attention', '-': 'mlp', E: 'moe' }[k] ?? 'other';
}

function legend(): HTMLElement {
  const l = el('div', 'legend');
  for (const k of ['M', '*', '-', 'E'] as const) {
    const item = el('span', 'legend-item');
    item.append(el('span', `swatch kind-${kindClass(k)}`), document.createTextNode(KIND_LABEL[k]));
    l.append(item);
  }
  return l;
}

function axisControl(a: AxisVM): HTMLElement {
  const row = el('div', 'axis');
  row.dataset['axis'] = a.key;
  const id = `axis-${a.key}`;
  const label = el('label', undefined, a.label);
  label.htmlFor = id;
  const range = el('input');
  range.type = 'range';
  range.id = id;
  range.setAttribute('aria-describedby', `${id}-rule`);
  const out = el('output', 'axis-value');
  out.htmlFor.add(id);
  const rule = el('span', 'muted rule');
  rule.id = `${id}-rule`;
  const c = { axis: a, range, out, rule };
  controls.set(a.key, c);
  range.addEventListener('input', () => {
    const v = valueAt(c.axis, Number(range.value));
    out.textContent = `${v} / ${c.axis.max}`;
    range.setAttribute('aria-valuetext', String(v));
    range.dataset['value'] = String(v);
    if (v === c.axis.max) delete targets[c.axis.key];
    else targets[c.axis.key] = v;
    sendTargets();
  });
  updateAxis(a);
  row.append(label, range, out, rule);
  return row;
}

/** The value at slider position `pos`: a legal value either way (an index into `values`, or min..max by step). */
function valueAt(a: AxisVM, pos: number): number {
  return a.values ? a.values[Math.max(0, Math.min(a.values.length - 1, pos))]! : pos;
}

/** (Re)configures an axis control: its grid is exactly the legal values, its value the current target. */
function updateAxis(a: AxisVM): void {
  const c = controls.get(a.key);
  if (!c) return;
  c.axis = a;
  const value = targets[a.key] ?? a.max;
  if (a.values) {
    c.range.min = '0';
    c.range.max = String(a.values.length - 1);
    c.range.step = '1';
    const i = a.values.indexOf(value);
    if (Number(c.range.value) !== i) c.range.value = String(i >= 0 ? i : a.values.length - 1);
  } else {
    c.range.min = String(a.min);
    c.range.max = String(a.max);
    c.range.step = String(a.step);
    c.range.value = String(value);
  }
  c.range.setAttribute('aria-valuetext', String(value));
  c.range.dataset['value'] = String(value);
  c.out.textContent = `${value} / ${a.max}`;
  c.rule.textContent = `--${a.option}: ${a.rule}${a.values ? ` (${a.values.length} legal values here)` : ''}`;
}

function numberField(label: string, value: number, onChange: (v: number) => void): HTMLElement {
  return textField(String(value), {
    label,
    size: 8,
    onInput: (v) => {
      const n = Number(v);
      if (Number.isInteger(n) && n >= 1) onChange(n);
    },
  });
}

function updateForm(patch: Partial<CompressForm>): void {
  form = { ...form, ...patch };
  post({ type: 'compress/form', form });
}

function sendTargets(): void {
  if (sendTimer) clearTimeout(sendTimer);
  sendTimer = setTimeout(() => post({ type: 'compress/targets', targets }), 30);
}

function renderEstimate(e: EstimateVM): void {
  if (!estimateEl || !state) return;
  estimateEl.replaceChildren();
  if (e.error) {
    estimateEl.append(el('span', 'error', e.error));
    return;
  }
  const pct = (100 * e.ratio).toFixed(1);
  estimateEl.append(el('strong', undefined, `${formatCount(e.params)} parameters`), document.createTextNode(` · ${pct}% of ${formatCount(state.model.params)} · ≈ ${formatBytesShort(e.bytes)}`));
  estimateEl.dataset['params'] = String(e.params);
}
