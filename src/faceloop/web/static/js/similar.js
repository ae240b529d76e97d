// "More like this": the unlabelled faces nearest to one face, in the groups page's grid. Take
// out the ones that are someone else, then Enter names the rest as the face's person (offered
// when the face has one) or as the name typed. The next nearest faces follow.

import { api, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';
import { FaceGrid, gridKey } from './facegrid.js';

const app = document.getElementById('similar-app');
const faceId = Number(app.dataset.face);
const limit = Number(app.dataset.limit);
const $ = (id) => document.getElementById(id);
const el = {
  view: $('similar'),
  empty: $('empty'),
  offer: $('group-suggestion'),
  name: $('name'),
  list: $('name-list'),
  history: $('history'),
};

let data = JSON.parse($('initial').textContent);
let offer = null; // {person_id, name, why}: what Enter alone names them
let busy = false;
const dismissed = new Set(); // faces taken out before an answer: not offered again here
const history = [];

const grid = new FaceGrid($('group-grid'), { onToggle: () => el.name.focus({ preventScroll: true }) });

function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
}

function render() {
  autocomplete.clear();
  if (data.person_id && data.verdict === 'person') {
    offer = { person_id: data.person_id, name: data.name, why: 'the person of this face' };
  } else if (data.suggested_person_id) {
    offer = { person_id: data.suggested_person_id, name: data.suggested_name, why: 'suggested for this face' };
  } else {
    offer = null;
  }
  const faces = data.faces.filter((f) => !dismissed.has(f.face_id));
  if (data.verdict === null && !dismissed.has(data.face_id)) {
    faces.unshift({ face_id: data.face_id, image_id: data.image_id, distance: 0, note: 'this face' });
  }
  el.view.hidden = faces.length === 0;
  el.empty.hidden = faces.length !== 0;
  el.offer.replaceChildren();
  el.offer.hidden = !offer;
  if (offer) {
    const name = document.createElement('strong');
    name.textContent = offer.name;
    const key = document.createElement('kbd');
    key.textContent = 'Enter';
    el.offer.append(key, ' names them ', name, ` (${offer.why})`);
  }
  el.name.placeholder = offer ? `${offer.name}, or type another name` : '';
  const shown = faces.slice(0, limit);
  grid.show(shown, shown.filter((f) => f.distance > data.threshold).map((f) => f.face_id));
  el.name.focus({ preventScroll: true });
}

async function refresh() {
  const wanted = Math.min(200, limit + dismissed.size);
  data = await api('GET', `/faces/${faceId}/similar?limit=${wanted}`);
  render();
}

async function act(body, describe) {
  if (busy) return;
  const chosen = grid.chosen();
  if (!chosen.length) {
    toast('Every face is taken out.');
    return;
  }
  busy = true;
  const excluded = grid.excluded();
  try {
    let result;
    try {
      result = await api('POST', '/labels', { face_ids: chosen, origin: 'bulk', ...body });
    } catch (error) {
      if (error.status !== 409) throw error;
      if (!window.confirm(`${error.message.replace(/ Send confirm=true.*$/, '')}.\n\nName them anyway?`)) return;
      result = await api('POST', '/labels', { face_ids: chosen, origin: 'bulk', ...body, confirm: true });
    }
    for (const id of excluded) dismissed.add(id);
    const entry = { result, text: describe(result, chosen.length), cover: chosen[0], state: 'saved' };
    history.unshift(entry);
    renderHistory();
    await refresh();
  } catch (error) {
    showError(error);
  } finally {
    busy = false;
  }
}

function nameAs(option) {
  const body = option.person_id
    ? { verdict: 'person', person_id: option.person_id }
    : { verdict: 'person', name: option.name };
  act(body, (result, n) => `${plural(n, 'face')} → ${result.person_name || option.name}`);
}

function pick(option) {
  if (option.kind === 'person') nameAs({ person_id: option.match.person_id, name: option.match.name });
  else nameAs({ name: option.name });
}

async function accept() {
  if (el.name.value.trim()) {
    const option = await autocomplete.resolve();
    if (option) pick(option);
  } else if (offer) {
    nameAs(offer);
  } else {
    toast('Type a name for the chosen faces.');
  }
}

function unknown() {
  act({ verdict: 'unknown' }, (_r, n) => `${plural(n, 'face')} → unknown person`);
}

async function undo() {
  const entry = history.find((e) => e.state === 'saved');
  if (!entry) {
    toast('Nothing to undo on this page. Older answers can be undone from Activity.');
    return;
  }
  await undoEntry(entry);
}

async function undoEntry(entry) {
  if (busy) return;
  busy = true;
  entry.state = 'undoing';
  renderHistory();
  try {
    await api('POST', `/batches/${entry.result.batch}/undo`);
    entry.state = 'undone';
    await refresh();
  } catch (error) {
    entry.state = 'saved';
    showError(error);
  } finally {
    busy = false;
    renderHistory();
  }
}

function renderHistory() {
  el.history.replaceChildren();
  for (const entry of history.slice(0, 8)) {
    const li = document.createElement('li');
    li.className = `history-entry ${entry.state}`;
    const image = document.createElement('img');
    image.className = 'chip tiny';
    image.src = `/api/v1/faces/${entry.cover}/chip.jpg`;
    image.alt = '';
    image.width = 40;
    image.height = 40;
    const text = document.createElement('span');
    text.textContent = entry.text;
    const state = document.createElement('span');
    state.className = 'muted';
    state.textContent = { saved: '', undoing: 'undoing…', undone: 'undone' }[entry.state];
    li.append(image, text, state);
    if (entry.state === 'saved') {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'small';
      button.textContent = 'Undo';
      button.addEventListener('click', () => undoEntry(entry));
      li.append(button);
    }
    el.history.append(li);
  }
}

const autocomplete = new Autocomplete(el.name, el.list, { onPick: pick });
const COMMANDS = { Enter: accept, y: accept, u: unknown, z: undo };

document.addEventListener('keydown', (event) => {
  if (event.isComposing || event.keyCode === 229 || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const inName = target === el.name;
  if (!inName && target.closest?.('input, select, textarea, [contenteditable]')) return;
  if (inName && el.name.value !== '') {
    if (event.key === 'Enter') {
      event.preventDefault();
      accept();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      autocomplete.clear();
    }
    return;
  }
  if (target.tagName === 'BUTTON' && (event.key === 'Enter' || event.key === ' ')) return;
  if (target.tagName === 'A' && event.key === 'Enter') return;
  if (busy) {
    event.preventDefault();
    return;
  }
  if (gridKey(grid, event)) {
    event.preventDefault();
  } else if (COMMANDS[event.key]) {
    event.preventDefault();
    COMMANDS[event.key]();
  } else if (!inName && event.key.length === 1 && !event.repeat) {
    el.name.focus({ preventScroll: true });
  }
});

const ACTIONS = { accept, unknown, undo };
for (const button of document.querySelectorAll('.group-answer [data-action]')) {
  button.addEventListener('click', () => ACTIONS[button.dataset.action]());
}

render();
window.faceloopSimilar = { get grid() { return grid; }, get data() { return data; } };
