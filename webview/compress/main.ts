// The Compress panel: architecture overview, target controls that only offer legal values, the live
// parameter estimate, data settings and the buttons that start tasks. All state comes from the host.

import { connect, post, setState } from '../shared/host';
import { badge, button, divider, dropdown, el, registerComponents, setDisabled, textField } from '../shared/components';
import { DEVICES, type AxisVM, type CompressAction, type CompressForm, type CompressState, type EstimateVM, type Targets } from '../protocol';
import { formatBytesShort, formatCount, KIND_LABEL } from '../shared/format';
import { axisValues } from '../shared/axis-values';

registerComponents();
const app = document.getElementById('app')!;
let state: CompressState | undefined;
let targets: Targets = {};
let form: CompressForm;
let estimateEl: HTMLElement | undefined;
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
    renderEstimate(m.estimate);
  } else if (m.type === 'compress/unreadable') {
    state = undefined;
    estimateEl = undefined;
    setState({ dir: m.dir });
    renderUnreadable(m.dir, m.error);
  }
});

/** A checkpoint that cannot be read: say why, never an endless "Loading…". */
function renderUnreadable(dir: string, error: string): void {
  app.replaceChildren();
  const header = el('header', 'panel-header');
  header.append(el('h1', undefined, dir.split(/[\\/]/).pop() ?? dir), badge('unreadable'));
  const msg = el('p', 'error', error);
  msg.id = 'unreadable';
  msg.setAttribute('role', 'alert');
  app.append(header, el('p', 'muted', dir), msg, button('Retry', { id: 'retry', onClick: () => post({ type: 'compress/retry' }) }));
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
  for (const a of s.axes) tg.append(axisControl(a));
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
  // The slider runs over exactly the legal values (for coupled axes: legal given the other targets).
  const values = axisValues(a, targets, state!.model);
  const value = targets[a.key] ?? a.max;
  const range = el('input');
  range.type = 'range';
  range.id = id;
  range.min = '0';
  range.max = String(values.length - 1);
  range.step = '1';
  range.value = String(Math.max(0, values.indexOf(value)));
  range.setAttribute('aria-describedby', `${id}-rule`);
  range.setAttribute('aria-valuetext', String(value));
  range.dataset['values'] = values.join(',');
  const out = el('output', 'axis-value', `${value} / ${a.max}`);
  out.htmlFor.add(id);
  range.addEventListener('input', () => {
    const v = values[Number(range.value)]!;
    out.textContent = `${v} / ${a.max}`;
    range.setAttribute('aria-valuetext', String(v));
    if (v === a.max) delete targets[a.key];
    else targets[a.key] = v;
    if (a.coupled) refreshCoupled(a.key);
    sendTargets();
  });
  const rule = el('span', 'muted rule', `--${a.option}: ${a.rule}${a.coupled ? `; ${a.coupled}` : ''}`);
  rule.id = `${id}-rule`;
  row.append(label, range, out, rule);
  return row;
}

/** Rebuilds the other coupled axes' sliders so they offer only values legal with the new target. */
function refreshCoupled(changed: string): void {
  for (const a of state!.axes) {
    if (!a.coupled || a.key === changed) continue;
    const row = app.querySelector(`.axis[data-axis="${a.key}"]`);
    row?.replaceWith(axisControl(a));
  }
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
