// The groups page: the largest group of look-alike faces first; take out the faces that do not
// belong, then one action names the rest.
//
// The next group is fetched ahead (its chips preloaded), so after Enter it shows at once; the
// answers go to the server in order in the background, and a failed one brings its group back.
// Undo (z) withdraws the last answer as soon as it has been saved and shows its group again.

import { JOB_ACTIVE, api, chipImage, followJob, plural, showError, startGrouping, toast } from './common.js';
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

// The header counts come with every page of groups fetched, and are asked for again after each
// answer is saved or undone; an answer that arrives after a newer one's is dropped.
let countsAsked = 0;
let countsShown = 0;

function showCounts(page, asked) {
  if (asked < countsShown) return;
  countsShown = asked;
  el.total.textContent = page.total.toLocaleString();
  el.faces.textContent = page.faces.toLocaleString();
}

async function fetchGroups(offset, limit = PAGE) {
  const asked = ++countsAsked;
  const page = await api('GET', `/groups?limit=${limit}&offset=${offset}`);
  showCounts(page, asked);
  return page;
}

function refreshCounts() {
  history.chain.then(() => fetchGroups(0, 1)).catch(() => null);
}

async function nextGroupId() {
  for (let offset = 0; offset < 10 * PAGE; offset += PAGE) {
    const page = await fetchGroups(offset);
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
  if (next) {
    queue.refill();
    recheck(next);
  }
}

// Groups as the server has them now; a group that is gone comes back with no faces.
function fresh(ids) {
  return Promise.all(ids.map((id) => api('GET', `/groups/${id}`).catch((error) => {
    if (error.status === 404) return { summary: { id }, faces: [], merge_candidates: [] };
    throw error;
  })));
}

// A group fetched ahead may have changed since (named on another page or by someone else, a
// run that moved its faces): once shown, it is asked for again. A group left with no face is
// passed over; one whose faces changed is shown as it is now, unless the user has begun on it.
async function recheck(detail) {
  const [now] = await fresh([detail.summary.id]).catch(() => [detail]);
  if (queue.current !== detail) return;
  const ids = (d) => d.faces.map((f) => f.face_id).join();
  if (ids(now) === ids(detail)) return;
  if (!now.faces.length) {
    showNext();
  } else if (!el.name.value && !grid.excluded().length) {
    preloadChips(now.faces.map((f) => f.face_id));
    show(now);
  }
}

// What the page holds of these groups, shown or fetched ahead, is out of date.
function forget(ids) {
  queue.ahead = queue.ahead.filter((d) => !ids.includes(d.summary.id));
  if (queue.current && ids.includes(queue.current.summary.id)) queue.current = null;
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
    renderEmpty();
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
// Any other failure shows the group as the server has it now (a group whose faces are gone is
// not shown again).
function record(entry, send, excluded = [], retry = null) {
  history.record(entry, send, {
    saved: refreshCounts,
    failed: (error) => {
      if (error.body?.existing_person_id && retry) {
        bringBack([entry.detail], excluded);
        settleRefusal(error, entry.shownName).then((choice) => choice && retry(choice));
      } else if (error.status === 409 && retry) {
        bringBack([entry.detail], excluded);
        if (window.confirm(`${error.message.replace(/ Send confirm=true.*$/, '')}.\n\nName them anyway?`)) {
          retry();
        }
      } else {
        showError(error);
        fresh([entry.detail.summary.id]).then((details) => bringBack(details, excluded), showError);
      }
    },
  });
}

// Groups shown again (fetched after an undo or a failed answer) replace what the page held of
// them: the first with faces is shown, the others with faces come next, then the group that
// was shown; those with no face left are gone.
function bringBack(details, excluded = []) {
  const ids = details.map((d) => d.summary.id);
  forget(ids);
  const [first, ...rest] = details.filter((d) => d.faces.length);
  if (!first) {
    if (!queue.current) showNext();
    return;
  }
  for (const detail of details) preloadChips(detail.faces.map((f) => f.face_id));
  if (queue.current) queue.ahead.unshift(queue.current);
  queue.ahead.unshift(...rest);
  show(first);
  const faces = new Set(first.faces.map((f) => f.face_id));
  for (const id of excluded) if (faces.has(id)) grid.out.add(id);
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

// the toast that says two groups were merged, taken away when the merge is undone
let mergedToast = null;

function mergeWith(otherId) {
  const detail = queue.current;
  if (!detail) return;
  exclusive(async () => {
    const result = await api('POST', `/groups/${detail.summary.id}/merge`, { other_id: otherId });
    const kept = result.group_ids[0];
    seen.add(otherId);
    forget([otherId, kept]);
    const [merged] = await fresh([kept]);
    show(merged);
    done({ detail: merged, kind: 'merge', count: merged.faces.length, from: detail.summary.id }, result);
    mergedToast?.remove();
    mergedToast = toast('Merged: the two groups are one now (z takes it back).');
    refreshCounts();
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
    refreshCounts();
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

// Every group the undo changed is fetched again: after a merge, both groups (the one shown
// before the merge first); after a split, the group and the parts split off (gone again).
function undoEntry(entry) {
  const id = entry.detail.summary.id;
  history.undo(entry, {
    withdraw: async (result) => {
      let ids = [id];
      if (result) {
        const answer = await (WITHDRAW[entry.kind] ? WITHDRAW[entry.kind](id) : undoBatch(result));
        if (entry.kind === 'merge') {
          ids = [...answer.group_ids].sort((a, b) => (b === entry.from) - (a === entry.from));
        } else if (entry.kind === 'split') {
          ids = [id, ...entry.result.group_ids.filter((g) => g !== id)];
        }
      }
      return fresh(ids);
    },
    undone: (details) => {
      if (entry.kind === 'merge') {
        mergedToast?.remove();
        mergedToast = null;
        toast('Merge undone: the two groups are apart again.');
      }
      bringBack(details);
      refreshCounts();
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

// ------------------------------------------------------------------ nothing to show

// With no group to show, the page says why: the faces were never grouped (and how to group
// them), a grouping run is under way (and how far it is), or every group is answered.
const grouping = { ran: Boolean(initial.grouping?.ran), job: initial.grouping?.job || null };
let following = null;

function renderEmpty() {
  const running = grouping.job && JOB_ACTIVE.has(grouping.job.status);
  const state = running ? 'grouping' : (grouping.ran ? 'answered' : 'not-grouped');
  el.empty.dataset.state = state;
  for (const part of el.empty.querySelectorAll('[data-empty]')) part.hidden = part.dataset.empty !== state;
  if (running) {
    const job = grouping.job;
    const bar = $('grouping-progress');
    bar.max = job.total || 1;
    bar.value = job.total ? job.done : 0;
    $('grouping-message').textContent = job.message || job.status;
    follow(job.id);
  }
}

// While a run is shown in the empty state, its progress is asked for every second; once it is
// done the groups it made are fetched.
async function follow(jobId) {
  if (following === jobId) return;
  following = jobId;
  const shown = (job) => {
    grouping.job = job;
    if (!queue.current) renderEmpty();
  };
  try {
    grouping.job = await followJob(jobId, { every: 1000, update: shown, wanted: () => following === jobId });
  } catch {
    grouping.job = null;
  }
  if (following !== jobId) return;
  following = null;
  grouping.ran = grouping.ran || grouping.job?.status === 'done';
  queue.exhausted = false;
  queue.refill();
  if (!queue.current) renderEmpty();
}

$('group-now')?.addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    grouping.job = await startGrouping();
    if (!queue.current) renderEmpty();
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
});

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
    // the groups fetched ahead are from the run before
    if (event.detail.some((job) => job.kind === 'cluster')) {
      grouping.ran = true;
      queue.ahead = [];
      if (queue.current) recheck(queue.current);
    }
    queue.exhausted = false;
    queue.refill();
    refreshCounts();
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
