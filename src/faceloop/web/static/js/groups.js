// The groups page: the largest group of look-alike faces first; take out the faces that do not
// belong, then one action names the rest.
//
// The next group is fetched ahead (its chips preloaded), so after Enter it shows at once; the
// answers go to the server in order in the background, and a failed one brings its group back.
// Undo (z) withdraws the last answer as soon as it has been saved and shows its group again.

import { api, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';
import { FaceGrid, gridKey, preloadChips } from './facegrid.js';

const initial = JSON.parse(document.getElementById('initial').textContent);
const $ = (id) => document.getElementById(id);
const el = {
  view: $('group'),
  empty: $('empty'),
  title: $('group-title'),
  suggestion: $('group-suggestion'),
  name: $('name'),
  list: $('name-list'),
  mergeBox: $('merge-box'),
  mergeList: $('merge-list'),
  history: $('history'),
  total: $('group-total'),
  faces: $('group-faces'),
};

const PAGE = 50;
const AHEAD = 2;

let current = null; // a group's detail: {summary, faces, merge_candidates}
let ahead = []; // details fetched ahead, shown next
let fetching = null;
let exhausted = false;
let chain = Promise.resolve();
let busy = false; // an action that must finish before anything else (merge, split)
const seen = new Set(); // groups shown on this page: not offered again until a reload
const history = [];

const grid = new FaceGrid($('group-grid'), { onToggle: () => el.name.focus({ preventScroll: true }) });

function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
}

// ------------------------------------------------------------------ fetching ahead

async function nextGroupId() {
  for (let offset = 0; offset < 10 * PAGE; offset += PAGE) {
    const page = await api('GET', `/groups?limit=${PAGE}&offset=${offset}`);
    el.total.textContent = page.total.toLocaleString();
    el.faces.textContent = page.faces.toLocaleString();
    const fresh = page.groups.find((g) => !seen.has(g.id) && !ahead.some((d) => d.summary.id === g.id));
    if (fresh) return fresh.id;
    if (page.groups.length < PAGE) return null;
  }
  return null;
}

function refill() {
  if (fetching || exhausted || ahead.length >= AHEAD) return fetching;
  fetching = nextGroupId()
    .then((id) => (id === null ? null : api('GET', `/groups/${id}`)))
    .then((detail) => {
      if (detail === null) {
        exhausted = true;
        return;
      }
      if (detail.faces.length && !seen.has(detail.summary.id)) {
        preloadChips(detail.faces.map((f) => f.face_id));
        ahead.push(detail);
      } else {
        seen.add(detail.summary.id);
      }
    })
    .catch((error) => {
      showError(error);
      exhausted = true;
      setTimeout(() => {
        exhausted = false;
        refill();
      }, 5000);
    })
    .finally(() => {
      fetching = null;
      if (!current) showNext();
      else refill();
    });
  return fetching;
}

function showNext() {
  const next = ahead.shift() || null;
  if (!next) refill();
  show(next);
  if (next) refill();
}

function show(detail) {
  current = detail;
  if (detail) seen.add(detail.summary.id);
  render();
}

// ------------------------------------------------------------------ showing a group

function render() {
  autocomplete.clear();
  if (!current) {
    el.view.hidden = true;
    el.empty.hidden = fetching !== null && !exhausted;
    if (fetching) fetching.then(() => { if (!current) el.empty.hidden = false; });
    return;
  }
  el.empty.hidden = true;
  el.view.hidden = false;
  const s = current.summary;
  el.view.dataset.group = s.id;
  el.title.textContent = `${plural(current.faces.length, 'face')} that look alike · group ${s.id}`;
  el.suggestion.replaceChildren();
  el.suggestion.hidden = !s.suggested_person_id;
  if (s.suggested_person_id) {
    const name = document.createElement('strong');
    name.textContent = s.suggested_name;
    const key = document.createElement('span');
    key.className = 'muted';
    key.append(' — ');
    const enter = document.createElement('kbd');
    enter.textContent = 'Enter';
    const y = document.createElement('kbd');
    y.textContent = 'y';
    key.append(enter, ' or ', y, ' names them');
    el.suggestion.append('Probably ', name, ` (distance ${(s.suggested_distance ?? 0).toFixed(2)})`, key);
  }
  el.name.placeholder = s.suggested_name ? `${s.suggested_name}, or type another name` : '';
  grid.show(current.faces);
  renderMerges();
  el.name.focus({ preventScroll: true });
}

function renderMerges() {
  el.mergeList.replaceChildren();
  const candidates = current.merge_candidates.filter((c) => c.size > 0);
  el.mergeBox.hidden = candidates.length === 0;
  candidates.forEach((candidate, index) => {
    const li = document.createElement('li');
    li.className = 'merge-candidate';
    li.dataset.group = candidate.id;
    const covers = document.createElement('a');
    covers.className = 'covers';
    covers.href = `/groups/${candidate.id}`;
    covers.title = `Open group ${candidate.id}`;
    for (const faceId of candidate.cover_face_ids) {
      const image = document.createElement('img');
      image.className = 'chip small';
      image.src = `/api/v1/faces/${faceId}/chip.jpg`;
      image.alt = '';
      image.width = 64;
      image.height = 64;
      image.loading = 'lazy';
      covers.append(image);
    }
    const text = document.createElement('span');
    text.textContent = plural(candidate.size, 'face')
      + (candidate.suggested_name ? ` · probably ${candidate.suggested_name}` : '');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'small';
    button.append('Merge');
    if (index === 0) {
      const key = document.createElement('kbd');
      key.textContent = 'm';
      button.append(' ', key);
    }
    button.addEventListener('click', () => mergeWith(candidate.id));
    li.append(covers, text, button);
    el.mergeList.append(li);
  });
}

// ------------------------------------------------------------------ answering

function record(detail, kind, send, shownName, excluded = []) {
  const entry = { detail, kind, shownName, state: 'pending', result: null, count: 0 };
  entry.promise = chain.then(send).then(
    (result) => {
      entry.result = result;
      entry.state = 'saved';
      renderHistory();
      return result;
    },
    (error) => {
      entry.state = 'failed';
      renderHistory();
      bringBack(detail, excluded);
      if (error.status === 409 && kind === 'label' && entry.retry) {
        if (window.confirm(`${error.message.replace(/ Send confirm=true.*$/, '')}.\n\nName them anyway?`)) {
          entry.retry();
        }
      } else {
        showError(error);
      }
      return null;
    },
  );
  chain = entry.promise.catch(() => null);
  history.unshift(entry);
  if (history.length > 50) history.pop();
  renderHistory();
  return entry;
}

function bringBack(detail, excluded = []) {
  if (current && current !== detail) ahead.unshift(current);
  show(detail);
  for (const id of excluded) grid.out.add(id);
  grid.paint();
}

function labelGroup(person, shownName, confirm = false) {
  const detail = current;
  if (!detail) return;
  const chosen = grid.chosen();
  if (!chosen.length) {
    toast('Every face is taken out: press r if they are not one person, or s to skip.');
    return;
  }
  const body = {
    ...person,
    exclude_face_ids: grid.excluded(),
    face_ids: detail.faces.map((f) => f.face_id),
    confirm,
  };
  const send = () => api('POST', `/groups/${detail.summary.id}/label`, body);
  const entry = record(detail, 'label', send, shownName, body.exclude_face_ids);
  entry.count = chosen.length;
  entry.retry = () => labelGroup(person, shownName, true);
  showNext();
}

function markUnknown() {
  const detail = current;
  if (!detail) return;
  const chosen = grid.chosen();
  if (!chosen.length) return;
  const body = { exclude_face_ids: grid.excluded(), face_ids: detail.faces.map((f) => f.face_id) };
  const send = () => api('POST', `/groups/${detail.summary.id}/unknown`, body);
  const entry = record(detail, 'unknown', send, '', body.exclude_face_ids);
  entry.count = chosen.length;
  showNext();
}

function rejectGroup() {
  const detail = current;
  if (!detail) return;
  const entry = record(detail, 'reject', () => api('POST', `/groups/${detail.summary.id}/reject`), '');
  entry.count = detail.faces.length;
  showNext();
}

function skip() {
  if (!current) return;
  showNext();
}

function acceptSuggestion() {
  const s = current?.summary;
  if (s?.suggested_person_id) {
    labelGroup({ person_id: s.suggested_person_id }, s.suggested_name);
  } else {
    toast('No suggestion for this group: type a name, or press u, r or s.');
  }
}

async function acceptTyped() {
  const option = await autocomplete.resolve();
  if (option) pick(option);
}

function pick(option) {
  if (option.kind === 'person') labelGroup({ person_id: option.match.person_id }, option.match.name);
  else labelGroup({ name: option.name }, option.name);
}

function accept() {
  if (el.name.value.trim()) acceptTyped();
  else acceptSuggestion();
}

// Merge and split change which groups exist: they wait for the answers before them, and the
// page waits for them.
async function exclusive(work) {
  if (busy) return;
  busy = true;
  try {
    await chain;
    await work();
  } catch (error) {
    showError(error);
  } finally {
    busy = false;
  }
}

function mergeWith(otherId) {
  const detail = current;
  if (!detail) return;
  exclusive(async () => {
    const result = await api('POST', `/groups/${detail.summary.id}/merge`, { other_id: otherId });
    const kept = result.group_ids[0];
    seen.add(otherId);
    ahead = ahead.filter((d) => d.summary.id !== otherId && d.summary.id !== kept);
    show(await api('GET', `/groups/${kept}`));
    toast('Merged: the two groups are one now.');
    refill();
  });
}

function mergeFirst() {
  const first = current?.merge_candidates.find((c) => c.size > 0);
  if (first) mergeWith(first.id);
  else toast('No group looks like this one.');
}

function splitGroup() {
  const detail = current;
  if (!detail) return;
  exclusive(async () => {
    const result = await api('POST', `/groups/${detail.summary.id}/split`);
    const parts = await Promise.all(result.group_ids.map((id) => api('GET', `/groups/${id}`)));
    const [first, ...rest] = parts.filter((d) => d.faces.length);
    for (const part of rest) preloadChips(part.faces.map((f) => f.face_id));
    ahead = [...rest, ...ahead.filter((d) => !result.group_ids.includes(d.summary.id))];
    show(first || null);
    if (!first) showNext();
    toast(`Split in ${plural(parts.length, 'part')}: name each on its own.`);
  });
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
  const id = entry.detail.summary.id;
  const work = entry.promise
    .then((result) => {
      if (!result) return null;
      if (entry.kind === 'reject') return api('POST', `/groups/${id}/reject/undo`);
      return api('POST', `/batches/${result.batch}/undo`);
    })
    .then(() => api('GET', `/groups/${id}`))
    .then(
      (detail) => {
        entry.state = 'undone';
        renderHistory();
        if (detail.faces.length) {
          preloadChips(detail.faces.map((f) => f.face_id));
          bringBack(detail);
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

function describe(entry) {
  const faces = plural(entry.count, 'face');
  if (entry.kind === 'label') return `${faces} → ${entry.shownName}`;
  if (entry.kind === 'unknown') return `${faces} → unknown person`;
  return `${faces}: not the same person`;
}

function renderHistory() {
  el.history.replaceChildren();
  for (const entry of history.slice(0, 8)) {
    const li = document.createElement('li');
    li.className = `history-entry ${entry.state}`;
    const image = document.createElement('img');
    image.className = 'chip tiny';
    const cover = entry.detail.faces[0];
    if (cover) image.src = `/api/v1/faces/${cover.face_id}/chip.jpg`;
    image.alt = '';
    image.width = 40;
    image.height = 40;
    const text = document.createElement('span');
    text.textContent = describe(entry);
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

// ------------------------------------------------------------------ re-clustering

// A run started here reloads the page once it is done and the answers given meanwhile are saved;
// a run started elsewhere (or by itself after many answers) keeps the page as it is: group ids
// are stable, and the groups fetched next come from the new run.
const started = new Set();
document.addEventListener('faceloop:job-started', (event) => started.add(event.detail.id));
document.addEventListener('faceloop:jobs-finished', (event) => {
  event.preventDefault();
  if (event.detail.some((job) => started.has(job.id))) {
    chain.then(() => location.reload());
  } else {
    exhausted = false;
    refill();
  }
});

// ------------------------------------------------------------------ keyboard

const autocomplete = new Autocomplete(el.name, el.list, { onPick: pick });

const COMMANDS = {
  Enter: accept,
  y: acceptSuggestion,
  u: markUnknown,
  r: rejectGroup,
  s: skip,
  m: mergeFirst,
  z: undoLast,
};

document.addEventListener('keydown', (event) => {
  if (event.isComposing || event.keyCode === 229 || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const inName = target === el.name;
  if (!inName && target.closest?.('input, select, textarea, [contenteditable]')) return;
  if (inName && el.name.value !== '') {
    if (event.key === 'Enter') {
      event.preventDefault();
      acceptTyped();
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
  if (!current && event.key !== 'z') return;
  if (current && gridKey(grid, event)) {
    event.preventDefault();
  } else if (COMMANDS[event.key]) {
    event.preventDefault();
    COMMANDS[event.key]();
  } else if (!inName && event.key.length === 1 && !event.repeat) {
    el.name.focus({ preventScroll: true });
  }
});

const ACTIONS = {
  accept, unknown: markUnknown, reject: rejectGroup, split: splitGroup, skip, undo: undoLast,
};
for (const button of document.querySelectorAll('.group-answer [data-action]')) {
  button.addEventListener('click', () => {
    if (busy) return;
    ACTIONS[button.dataset.action]();
  });
}

if (initial.detail && initial.detail.faces.length) {
  show(initial.detail);
} else {
  current = null;
}
for (const id of initial.seen || []) seen.add(id);
if (current) refill();
else showNext();

window.faceloopGroups = {
  get current() { return current; },
  get ahead() { return ahead; },
  get grid() { return grid; },
  settled: () => chain,
};
