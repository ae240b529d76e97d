// The groups page: the largest group of look-alike faces first; take out the faces that do not
// belong, then one action names the rest.
//
// The next group is fetched ahead (its chips preloaded), so after Enter it shows at once; the
// answers go to the server in order in the background, and a failed one brings its group back.
// Undo (z) withdraws the last answer as soon as it has been saved and shows its group again.

import { api, chipImage, plural, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';
import { FaceGrid, preloadChips } from './facegrid.js';
import { History, undoBatch } from './history.js';
import { answerKey, focusName, nameMode, pageKey } from './keys.js';
import { settleOption, settleRefusal } from './namesake.js';
import { Queue } from './queue.js';

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

let busy = false; // an action that must finish before anything else (merge, split)
const seen = new Set(); // groups shown on this page: not offered again until a reload

const grid = new FaceGrid($('group-grid'), { onToggle: () => focusName(autocomplete) });
const history = new History(el.history, {
  cover: (entry) => entry.detail.faces[0]?.face_id,
  describe,
  onUndo: undoEntry,
});

// ------------------------------------------------------------------ fetching ahead

async function nextGroupId() {
  for (let offset = 0; offset < 10 * PAGE; offset += PAGE) {
    const page = await api('GET', `/groups?limit=${PAGE}&offset=${offset}`);
    el.total.textContent = page.total.toLocaleString();
    el.faces.textContent = page.faces.toLocaleString();
    const fresh = page.groups.find((g) => !seen.has(g.id) && !queue.ahead.some((d) => d.summary.id === g.id));
    if (fresh) return fresh.id;
    if (page.groups.length < PAGE) return null;
  }
  return null;
}

// the queue holds group details ({summary, faces, merge_candidates}); a group already seen
// (shown here, or split or merged away) is passed over, and the next one asked for
const queue = new Queue({
  low: AHEAD,
  load: () => nextGroupId()
    .then((id) => (id === null ? null : api('GET', `/groups/${id}`)))
    .then((detail) => {
      if (detail === null) return null;
      if (detail.faces.length && !seen.has(detail.summary.id)) {
        preloadChips(detail.faces.map((f) => f.face_id));
        return [detail];
      }
      seen.add(detail.summary.id);
      return [];
    }),
  loaded: () => {
    if (!queue.current) showNext();
    else queue.refill();
  },
});

function showNext() {
  const next = queue.next();
  if (!next) queue.refill();
  show(next);
  if (next) queue.refill();
}

function show(detail) {
  queue.current = detail;
  if (detail) seen.add(detail.summary.id);
  render();
}

// ------------------------------------------------------------------ showing a group

function render() {
  autocomplete.clear();
  const current = queue.current;
  if (!current) {
    el.view.hidden = true;
    queue.showEmpty(el.empty);
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
  renderMerges(current);
  focusName(autocomplete);
}

function renderMerges(detail) {
  el.mergeList.replaceChildren();
  const candidates = detail.merge_candidates.filter((c) => c.size > 0);
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
      covers.append(chipImage(faceId, 64, { className: 'chip small', lazy: true }));
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

// A failed answer brings its group back as it was, taken-out faces and all; a label refused
// because the person is already in one of the photos (409) may be sent again, confirmed.
function record(entry, send, excluded = [], retry = null) {
  history.record(entry, send, {
    failed: (error) => {
      bringBack(entry.detail, excluded);
      if (error.body?.existing_person_id && retry) {
        settleRefusal(error, entry.shownName).then((choice) => choice && retry(choice));
      } else if (error.status === 409 && retry) {
        if (window.confirm(`${error.message.replace(/ Send confirm=true.*$/, '')}.\n\nName them anyway?`)) {
          retry();
        }
      } else {
        showError(error);
      }
    },
  });
}

function bringBack(detail, excluded = []) {
  queue.bringBack(detail);
  show(detail);
  for (const id of excluded) grid.out.add(id);
  grid.paint();
}

function labelGroup(person, shownName, confirm = false) {
  const detail = queue.current;
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
  const entry = { detail, kind: 'label', shownName, count: chosen.length };
  record(entry, send, body.exclude_face_ids, (choice) => {
    // a namesake's answer (choice) names the person again; a same-photo refusal confirms
    if (choice?.person_id) labelGroup({ person_id: choice.person_id }, choice.name, confirm);
    else if (choice) labelGroup({ ...person, ...choice }, shownName, confirm);
    else labelGroup(person, shownName, true);
  });
  showNext();
}

function markUnknown() {
  const detail = queue.current;
  if (!detail) return;
  const chosen = grid.chosen();
  if (!chosen.length) return;
  const body = { exclude_face_ids: grid.excluded(), face_ids: detail.faces.map((f) => f.face_id) };
  const send = () => api('POST', `/groups/${detail.summary.id}/unknown`, body);
  record({ detail, kind: 'unknown', count: chosen.length }, send, body.exclude_face_ids);
  showNext();
}

function rejectGroup() {
  const detail = queue.current;
  if (!detail) return;
  const send = () => api('POST', `/groups/${detail.summary.id}/reject`);
  record({ detail, kind: 'reject', count: detail.faces.length }, send);
  showNext();
}

function skip() {
  if (!queue.current) return;
  showNext();
}

function acceptSuggestion() {
  const s = queue.current?.summary;
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

async function pick(typed) {
  const option = await settleOption(typed);
  if (!option) return;
  if (option.kind === 'person') labelGroup({ person_id: option.match.person_id }, option.match.name);
  else labelGroup({ name: option.name, ...(option.newPerson ? { new_person: true } : {}) }, option.name);
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
    await history.chain;
    await work();
  } catch (error) {
    showError(error);
  } finally {
    busy = false;
  }
}

function mergeWith(otherId) {
  const detail = queue.current;
  if (!detail) return;
  exclusive(async () => {
    const result = await api('POST', `/groups/${detail.summary.id}/merge`, { other_id: otherId });
    const kept = result.group_ids[0];
    seen.add(otherId);
    queue.ahead = queue.ahead.filter((d) => d.summary.id !== otherId && d.summary.id !== kept);
    const merged = await api('GET', `/groups/${kept}`);
    show(merged);
    done({ detail: merged, kind: 'merge', count: merged.faces.length }, result);
    toast('Merged: the two groups are one now (z takes it back).');
    queue.refill();
  });
}

function mergeFirst() {
  const first = queue.current?.merge_candidates.find((c) => c.size > 0);
  if (first) mergeWith(first.id);
  else toast('No group looks like this one.');
}

function splitGroup() {
  const detail = queue.current;
  if (!detail) return;
  exclusive(async () => {
    const result = await api('POST', `/groups/${detail.summary.id}/split`);
    const parts = await Promise.all(result.group_ids.map((id) => api('GET', `/groups/${id}`)));
    const [first, ...rest] = parts.filter((d) => d.faces.length);
    for (const part of rest) preloadChips(part.faces.map((f) => f.face_id));
    queue.ahead = [...rest, ...queue.ahead.filter((d) => !result.group_ids.includes(d.summary.id))];
    show(first || null);
    if (!first) showNext();
    done({ detail, kind: 'split', count: detail.faces.length }, result);
    toast(`Split in ${plural(parts.length, 'part')}: name each on its own (z takes it back).`);
  });
}

// A merge or split, done at once (not queued like an answer), goes into the history as saved.
function done(entry, result) {
  history.add({ ...entry, state: 'saved', result, promise: Promise.resolve(result) });
}

// How each kind of entry is taken back on the server (result: what doing it answered)
const WITHDRAW = {
  reject: (id) => api('POST', `/groups/${id}/reject/undo`),
  merge: (id) => api('POST', `/groups/${id}/merge/undo`),
  split: (id) => api('POST', `/groups/${id}/split/undo`),
};

function undoEntry(entry) {
  const id = entry.detail.summary.id;
  history.undo(entry, {
    withdraw: async (result) => {
      if (result) await (WITHDRAW[entry.kind] ? WITHDRAW[entry.kind](id) : undoBatch(result));
      return api('GET', `/groups/${id}`);
    },
    undone: (detail) => {
      if (entry.kind === 'split') {
        // the parts split off are gone again
        queue.ahead = queue.ahead.filter((d) => !entry.result.group_ids.includes(d.summary.id));
      }
      if (detail.faces.length) {
        preloadChips(detail.faces.map((f) => f.face_id));
        bringBack(detail);
      }
    },
  });
}

function describe(entry) {
  const faces = plural(entry.count, 'face');
  if (entry.kind === 'label') return `${faces} → ${entry.shownName}`;
  if (entry.kind === 'unknown') return `${faces} → unknown person`;
  if (entry.kind === 'merge') return `${faces}: two groups merged`;
  if (entry.kind === 'split') return `${faces} split in two`;
  return `${faces}: not the same person`;
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
    history.chain.then(() => location.reload());
  } else {
    queue.exhausted = false;
    queue.refill();
  }
});

// ------------------------------------------------------------------ keyboard

const autocomplete = new Autocomplete(el.name, el.list, { onPick: pick });
nameMode(autocomplete);

const undoLast = () => history.undoLast();
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
  if (!pageKey(event, { autocomplete, onName: acceptTyped })) return;
  if (busy) {
    event.preventDefault();
    return;
  }
  if (!queue.current && event.key !== 'z') return;
  answerKey(event, { grid: queue.current && grid, commands: COMMANDS, typeTo: el.name });
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

if (initial.detail && initial.detail.faces.length) show(initial.detail);
for (const id of initial.seen || []) seen.add(id);
if (queue.current) queue.refill();
else showNext();

window.faceloopGroups = {
  get current() { return queue.current; },
  get ahead() { return queue.ahead; },
  get grid() { return grid; },
  settled: () => history.chain,
};
