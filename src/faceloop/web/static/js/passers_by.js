// The passers-by page: faces that are most likely nobody to name (small faces beside a photo's
// subject), a page at a time. Take out anyone worth naming, then Enter marks the rest "unknown
// person" in one action.
//
// Faces taken out, and the faces of skipped pages, are sent as `exclude` with every fetch, so
// they are not shown again while the page is open (they stay in the label queue). The next page
// is fetched ahead (its chips preloaded), so after Enter it shows at once; answers go to the
// server in order in the background, and a failed one brings its page back. Undo (z) withdraws
// the last answer as soon as it has been saved and shows its page again.

import { api, showError, toast } from './common.js';
import { FaceGrid, gridKey, preloadChips } from './facegrid.js';

const app = document.getElementById('passers-app');
const LIMIT = Number(app.dataset.limit) || 24;
const initial = JSON.parse(document.getElementById('initial').textContent);
const $ = (id) => document.getElementById(id);
const el = { view: $('passers'), empty: $('empty'), history: $('history') };

let current = null; // the faces shown: [{face_id, image_id, relative_size}]
let ahead = []; // pages fetched ahead (or brought back), shown next
let fetching = null;
let exhausted = false;
let chain = Promise.resolve();
const dismissed = new Set(); // taken out or skipped: not shown again on this page
const inFlight = new Set(); // marked, not saved yet
const history = [];

const grid = new FaceGrid($('group-grid'), { similarLinks: false });

function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
}

// how the grid shows a face: its size beside the largest face of its photo, in per cent
function tiles(faces) {
  return faces.map((f) => ({ ...f, note: `${Math.max(1, Math.round(f.relative_size * 100))}%` }));
}

// ------------------------------------------------------------------ fetching ahead

function held() {
  const ids = new Set([...dismissed, ...inFlight]);
  for (const page of [current, ...ahead]) {
    if (page) for (const face of page) ids.add(face.face_id);
  }
  return ids;
}

function refill() {
  if (fetching || exhausted || ahead.length) return fetching;
  const params = new URLSearchParams({ limit: LIMIT });
  for (const id of [...held()].slice(-500)) params.append('exclude', id);
  fetching = api('GET', '/passers-by?' + params)
    .then((page) => {
      const taken = held();
      const fresh = page.faces.filter((f) => !taken.has(f.face_id));
      if (fresh.length) {
        preloadChips(fresh.map((f) => f.face_id));
        ahead.push(fresh);
      } else {
        exhausted = true;
      }
    })
    .catch((error) => {
      showError(error);
      exhausted = true;
      setTimeout(() => {
        exhausted = false;
        if (!ahead.length) refill();
      }, 5000);
    })
    .finally(() => {
      fetching = null;
      if (!current) showNext();
    });
  return fetching;
}

function showNext() {
  show(ahead.shift() || null);
  refill();
}

function show(page, out = []) {
  current = page && page.length ? page : null;
  if (!current) {
    el.view.hidden = true;
    el.empty.hidden = Boolean(fetching) && !exhausted;
    if (fetching) fetching.then(() => { if (!current) el.empty.hidden = false; });
    return;
  }
  el.empty.hidden = true;
  el.view.hidden = false;
  grid.show(tiles(current), out);
}

// ------------------------------------------------------------------ answering

function mark() {
  const page = current;
  if (!page) return;
  const chosen = grid.chosen();
  const excluded = grid.excluded();
  for (const id of excluded) dismissed.add(id);
  if (!chosen.length) {
    toast('Every face is taken out: nothing marked. They stay in the label queue.');
    showNext();
    return;
  }
  const body = { face_ids: page.map((f) => f.face_id), exclude_face_ids: excluded };
  const entry = { page, body, count: chosen.length, state: 'pending', result: null };
  for (const id of chosen) inFlight.add(id);
  entry.promise = chain.then(() => api('POST', '/passers-by', body)).then(
    (result) => {
      entry.result = result;
      entry.state = 'saved';
      entry.count = result.face_ids.length;
      for (const id of chosen) inFlight.delete(id);
      if (result.already_labelled.length) {
        toast(`${plural(result.already_labelled.length, 'face')} had been labelled meanwhile: left as they were.`);
      }
      renderHistory();
      return result;
    },
    (error) => {
      entry.state = 'failed';
      for (const id of chosen) inFlight.delete(id);
      renderHistory();
      bringBack(page, excluded);
      showError(error);
      return null;
    },
  );
  chain = entry.promise.catch(() => null);
  history.unshift(entry);
  if (history.length > 50) history.pop();
  renderHistory();
  showNext();
}

function skip() {
  if (!current) return;
  for (const face of current) dismissed.add(face.face_id);
  showNext();
}

function bringBack(page, out = []) {
  if (current && current !== page) ahead.unshift(current);
  for (const id of out) dismissed.delete(id);
  show(page, out);
}

function undoLast() {
  const entry = history.find((e) => e.state === 'pending' || e.state === 'saved');
  if (!entry) {
    toast('Nothing to undo on this page. Older answers can be undone from Activity.');
    return;
  }
  undoEntry(entry);
}

function undoEntry(entry) {
  entry.state = 'undoing';
  renderHistory();
  const work = entry.promise
    .then((result) => (result ? api('POST', `/batches/${result.batch}/undo`) : null))
    .then(
      (undone) => {
        entry.state = 'undone';
        renderHistory();
        if (undone) {
          exhausted = false;
          bringBack(entry.page, entry.body.exclude_face_ids);
        }
      },
      (error) => {
        entry.state = 'saved';
        renderHistory();
        showError(error);
      },
    );
  chain = chain.then(() => work).catch(() => null);
}

function renderHistory() {
  el.history.replaceChildren();
  for (const entry of history.slice(0, 8)) {
    const li = document.createElement('li');
    li.className = `history-entry ${entry.state}`;
    const image = document.createElement('img');
    image.className = 'chip tiny';
    image.src = `/api/v1/faces/${entry.page[0].face_id}/chip.jpg`;
    image.alt = '';
    image.width = 40;
    image.height = 40;
    const text = document.createElement('span');
    const out = entry.body.exclude_face_ids.length;
    text.textContent = `${plural(entry.count, 'face')} → unknown person` + (out ? `, ${out} taken out` : '');
    const state = document.createElement('span');
    state.className = 'muted';
    state.textContent = { pending: 'saving…', saved: '', undoing: 'undoing…', undone: 'undone', failed: 'not saved' }[entry.state];
    li.append(image, text, state);
    if (entry.state === 'saved' || entry.state === 'pending') {
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

// ------------------------------------------------------------------ keyboard

const COMMANDS = { Enter: mark, u: mark, s: skip, z: undoLast };

document.addEventListener('keydown', (event) => {
  if (event.isComposing || event.keyCode === 229 || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest?.('input, select, textarea, [contenteditable]')) return;
  const ownButton = target.tagName === 'BUTTON' && !target.classList.contains('tile-select');
  if (ownButton && (event.key === 'Enter' || event.key === ' ')) return;
  if (target.tagName === 'A' && event.key === 'Enter') return;
  if (!current && event.key !== 'z') return;
  if (current && gridKey(grid, event)) {
    event.preventDefault();
  } else if (COMMANDS[event.key]) {
    event.preventDefault();
    COMMANDS[event.key]();
  }
});

const ACTIONS = { mark, skip, undo: undoLast };
for (const button of document.querySelectorAll('#passers [data-action]')) {
  button.addEventListener('click', () => ACTIONS[button.dataset.action]());
}

show(initial.faces);
refill();

window.faceloopPassersBy = {
  get current() { return current; },
  get ahead() { return ahead; },
  get grid() { return grid; },
  get dismissed() { return [...dismissed]; },
  settled: () => chain,
};
