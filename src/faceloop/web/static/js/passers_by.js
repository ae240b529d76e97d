// The passers-by page: faces that are most likely nobody to name (small faces beside a photo's
// subject), a page at a time. Take out anyone worth naming, then Enter marks the rest "unknown
// person" in one action.
//
// Faces taken out, and the faces of skipped pages, are sent as `exclude` with every fetch, so
// they are not shown again while the page is open (they stay in the label queue). The next page
// is fetched ahead (its chips preloaded), so after Enter it shows at once; answers go to the
// server in order in the background, and a failed one brings its page back. Undo (z) withdraws
// the last answer as soon as it has been saved and shows its page again.

import { api, plural, showError, toast } from './common.js';
import { FaceGrid, preloadChips } from './facegrid.js';
import { History } from './history.js';
import { answerKey, pageKey } from './keys.js';
import { Queue } from './queue.js';

const app = document.getElementById('passers-app');
const LIMIT = Number(app.dataset.limit) || 24;
const initial = JSON.parse(document.getElementById('initial').textContent);
const $ = (id) => document.getElementById(id);
const el = { view: $('passers'), empty: $('empty'), history: $('history') };

const dismissed = new Set(); // taken out or skipped: not shown again on this page
const inFlight = new Set(); // marked, not saved yet

const grid = new FaceGrid($('group-grid'), { similarLinks: false });
const history = new History(el.history, {
  cover: (entry) => entry.page[0].face_id,
  describe: (entry) => {
    const out = entry.body.exclude_face_ids.length;
    return `${plural(entry.count, 'face')} → unknown person` + (out ? `, ${out} taken out` : '');
  },
  onUndo: undoEntry,
});

// how the grid shows a face: its size beside the largest face of its photo, in per cent
function tiles(faces) {
  return faces.map((f) => ({ ...f, note: `${Math.max(1, Math.round(f.relative_size * 100))}%` }));
}

// ------------------------------------------------------------------ fetching ahead

// the queue holds pages of faces: [{face_id, image_id, relative_size}]
const facesOf = (page) => page.map((face) => face.face_id);
const held = () => queue.held(facesOf, [...dismissed, ...inFlight]);

const queue = new Queue({
  low: 1,
  load: () => {
    const params = new URLSearchParams({ limit: LIMIT });
    for (const id of [...held()].slice(-500)) params.append('exclude', id);
    return api('GET', '/passers-by?' + params).then((page) => {
      const taken = held();
      const fresh = page.faces.filter((f) => !taken.has(f.face_id));
      if (!fresh.length) return null;
      preloadChips(fresh.map((f) => f.face_id));
      return [fresh];
    });
  },
  loaded: () => {
    if (!queue.current) showNext();
  },
});

function showNext() {
  queue.advance(show);
}

function show(page, out = []) {
  queue.current = page && page.length ? page : null;
  if (!queue.current) {
    el.view.hidden = true;
    queue.showEmpty(el.empty);
    return;
  }
  el.empty.hidden = true;
  el.view.hidden = false;
  grid.show(tiles(page), out);
}

// ------------------------------------------------------------------ answering

function mark() {
  const page = queue.current;
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
  const entry = { page, body, count: chosen.length };
  for (const id of chosen) inFlight.add(id);
  history.record(entry, () => api('POST', '/passers-by', body), {
    saved: (result) => {
      entry.count = result.face_ids.length;
      for (const id of chosen) inFlight.delete(id);
      if (result.already_labelled.length) {
        toast(`${plural(result.already_labelled.length, 'face')} had been labelled meanwhile: left as they were.`);
      }
    },
    failed: (error) => {
      for (const id of chosen) inFlight.delete(id);
      bringBack(page, excluded);
      showError(error);
    },
  });
  showNext();
}

function skip() {
  if (!queue.current) return;
  for (const face of queue.current) dismissed.add(face.face_id);
  showNext();
}

function bringBack(page, out = []) {
  queue.bringBack(page);
  for (const id of out) dismissed.delete(id);
  show(page, out);
}

function undoEntry(entry) {
  history.undo(entry, {
    undone: (undone) => {
      if (undone) {
        queue.exhausted = false;
        bringBack(entry.page, entry.body.exclude_face_ids);
      }
    },
  });
}

// ------------------------------------------------------------------ keyboard

const undoLast = () => history.undoLast();
const COMMANDS = { Enter: mark, u: mark, s: skip, z: undoLast };

document.addEventListener('keydown', (event) => {
  if (!pageKey(event)) return;
  if (!queue.current && event.key !== 'z') return;
  answerKey(event, { grid: queue.current && grid, commands: COMMANDS });
});

const ACTIONS = { mark, skip, undo: undoLast };
for (const button of document.querySelectorAll('#passers [data-action]')) {
  button.addEventListener('click', () => ACTIONS[button.dataset.action]());
}

show(initial.faces);
queue.refill();

window.faceloopPassersBy = {
  get current() { return queue.current; },
  get ahead() { return queue.ahead; },
  get grid() { return grid; },
  get dismissed() { return [...dismissed]; },
  settled: () => history.chain,
};
