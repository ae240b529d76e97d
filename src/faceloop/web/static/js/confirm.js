// The confirm page: "Is this <name>?" about the model's guesses or about faces like a person's
// labelled faces: one face at a time, a page of up to 24 faces suggested as one person, or a
// mixed page of up to 24 faces of anyone, each with its own suggested name under it (the
// default: the most faces per Enter). Keyboard first, never waiting.
//
// The source (auto, the model, labelled look-alikes) and the reach of the look-alikes (close,
// wide) are chosen with the page's switches and asked for at every fetch; each unit keeps the
// source it came from, shows it, and sends it with its answer (a mixed page: each face its own
// person and source). With "auto" the model's guesses come first and the look-alikes follow once
// they run out, the wide ones last.
//
// The next faces (or the next page) are fetched ahead with their images preloaded, so after a
// key the next question shows at once; answers go to the server in order in the background,
// a failed one brings its question back. Undo (z) shows the last question again at once and
// withdraws its answer as soon as that answer has been saved.

import { api, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';

const app = document.getElementById('confirm-app');
const MODE = app.dataset.mode;
const ORDER = app.dataset.order;
const SOURCE = app.dataset.source;
const REACH = app.dataset.reach || 'close';
// page and mixed modes show a grid of faces answered by one Enter
const GRID = MODE !== 'one';
const initial = JSON.parse(document.getElementById('initial').textContent);

const $ = (id) => document.getElementById(id);
const el = {
  title: $('question-title'),
  person: $('person-name'),
  source: $('source-note'),
  pending: $('pending'),
  one: $('one'),
  page: $('page'),
  empty: $('empty'),
  emptyTitle: $('empty-title'),
  emptyText: $('empty-text'),
  emptyTraining: $('empty-training'),
  chip: $('chip'),
  score: $('score'),
  photo: $('photo'),
  boxes: $('boxes'),
  photoLink: $('photo-link'),
  references: $('references'),
  pageReferences: $('page-references'),
  grid: $('grid'),
  name: $('name'),
  list: $('name-list'),
  history: $('history'),
};

const SVG = 'http://www.w3.org/2000/svg';
const PHOTO_SIZE = 1024;
const LOW_WATER = GRID ? 1 : 3;
const AHEAD = 5;
const TITLES = {
  no_model: 'No model yet',
  not_predicted: 'No guesses yet',
  nothing_left: 'Nothing left to confirm',
  nothing_near: 'No faces like labelled ones',
  nothing_sure: 'No sure guesses left',
};

let buffer = [];
let current = null;
let pending = initial.pending;
let fetching = null;
let exhausted = false;
let emptyInfo = initial;
let chain = Promise.resolve();
let retry = null;
const inFlight = new Set();
const history = [];
const preloaded = new Map();

const chipUrl = (faceId) => `/api/v1/faces/${faceId}/chip.jpg`;
const photoUrl = (item) => `/api/v1/photos/${item.image_id}/image.jpg?size=${PHOTO_SIZE}`;
const percent = (score) => `${Math.round(score * 100)}%`;
// a look-alike's score is 1 - its distance to the nearest labelled face
const distance = (score) => (1 - score).toFixed(2);
const sourceOf = (unit, item) => item.source || unit.source;
const scoreText = (unit, item) => (sourceOf(unit, item) === 'nearest' ? distance(item.score) : percent(item.score));

function preload(url) {
  if (preloaded.has(url)) return;
  const image = new Image();
  image.decoding = 'async';
  image.src = url;
  preloaded.set(url, image);
  if (preloaded.size > 300) preloaded.delete(preloaded.keys().next().value);
}

function preloadUnit(unit) {
  for (const item of unit.items) {
    preload(chipUrl(item.face_id));
    if (MODE === 'one') preload(photoUrl(item));
    // a mixed page shows one labelled face of each face's person
    if (MODE === 'mixed' && item.reference_face_ids.length) preload(chipUrl(item.reference_face_ids[0]));
  }
  if (MODE !== 'mixed') for (const face of unit.items[0].reference_face_ids) preload(chipUrl(face));
}

// A unit is what one answer covers: one face, one page of faces suggested as one person, or one
// mixed page (no person of its own: each item has its own).
function unitsOf(view) {
  if (!view.items.length) return [];
  if (GRID) {
    return [{
      source: view.source,
      reach: view.reach,
      person_id: MODE === 'mixed' ? null : view.person_id,
      person_name: MODE === 'mixed' ? null : view.person_name,
      items: view.items,
      selected: new Set(view.items.map((i) => i.face_id)),
      cursor: 0,
    }];
  }
  return view.items.map((item) => ({
    source: view.source, reach: view.reach, person_id: item.person_id, person_name: item.person_name, items: [item],
  }));
}

function heldIds() {
  const ids = new Set(inFlight);
  for (const unit of [current, ...buffer]) {
    if (unit) for (const item of unit.items) ids.add(item.face_id);
  }
  return ids;
}

function refill() {
  if (fetching || exhausted || buffer.length >= LOW_WATER) return fetching;
  const params = new URLSearchParams({ mode: MODE, order: ORDER, source: SOURCE, reach: REACH });
  if (MODE === 'one') params.set('limit', AHEAD);
  const held = heldIds();
  for (const id of [...held].slice(-500)) params.append('exclude', id);
  fetching = api('GET', '/confirm?' + params)
    .then((view) => {
      const fresh = unitsOf(view).filter((unit) => unit.items.every((i) => !heldIds().has(i.face_id)));
      fresh.forEach(preloadUnit);
      buffer.push(...fresh);
      exhausted = fresh.length === 0;
      if (exhausted) emptyInfo = view;
      pending = view.pending - inFlight.size;
    })
    .catch(showError)
    .finally(() => {
      fetching = null;
      if (!current) showNext();
      else showPending();
    });
  return fetching;
}

function showPending() {
  el.pending.textContent = Math.max(0, pending).toLocaleString();
}

function showNext() {
  current = buffer.shift() || null;
  render();
  refill();
}

function render() {
  showPending();
  if (!current) {
    el.one.hidden = true;
    el.page.hidden = true;
    el.title.hidden = true;
    el.source.hidden = true;
    renderEmpty();
    return;
  }
  el.empty.hidden = true;
  el.title.hidden = false;
  if (el.person) el.person.textContent = current.person_name;
  el.source.hidden = false;
  el.source.dataset.source = current.source;
  el.source.classList.toggle('wide', isWide(current));
  el.source.textContent = sourceNote(current);
  for (const node of document.querySelectorAll('.ref-name')) node.textContent = current.person_name;
  if (GRID) renderPage(current);
  else renderOne(current);
}

const isWide = (unit) => unit.reach === 'wide' && unit.source !== 'model';

function sourceNote(unit) {
  if (isWide(unit)) return 'wide reach: look-alikes a little farther than the learned distance, less sure';
  if (MODE === 'mixed') {
    if (unit.source === 'model') return "the model's surest guesses";
    if (unit.source === 'nearest') return 'like labelled faces of each person';
    return "the model's surest guesses, then faces like labelled ones";
  }
  return unit.source === 'nearest' ? `like labelled faces of ${unit.person_name}` : 'from the model';
}

function renderEmpty() {
  if (fetching && !exhausted) {
    el.empty.hidden = true;
    fetching.then(() => { if (!current) renderEmpty(); });
    return;
  }
  el.empty.hidden = false;
  el.emptyTitle.textContent = TITLES[emptyInfo.empty_reason] || 'Nothing to confirm';
  el.emptyText.textContent = emptyInfo.message || '';
  el.emptyTraining.hidden = !emptyInfo.training_job_id;
  el.emptyTraining.textContent = emptyInfo.training_job_id
    ? `A model is training now (job #${emptyInfo.training_job_id}): its guesses appear here when it is done.`
    : '';
  clearTimeout(retry);
  retry = setTimeout(() => {
    exhausted = false;
    if (!current) refill();
  }, emptyInfo.training_job_id ? 3000 : 10000);
}

function renderReferences(container, unit) {
  container.replaceChildren();
  const ids = unit.items[0].reference_face_ids;
  for (const faceId of ids) {
    const image = document.createElement('img');
    image.className = 'chip reference';
    image.src = chipUrl(faceId);
    image.alt = `a labelled face of ${unit.person_name}`;
    image.width = 96;
    image.height = 96;
    container.append(image);
  }
  if (!ids.length) {
    const note = document.createElement('span');
    note.className = 'muted';
    note.textContent = 'no labelled faces to compare with';
    container.append(note);
  }
}

// ------------------------------------------------------------------ one face at a time

function renderOne(unit) {
  el.page.hidden = true;
  el.one.hidden = false;
  const item = unit.items[0];
  el.chip.src = chipUrl(item.face_id);
  el.chip.alt = `face ${item.face_id}`;
  el.score.textContent = unit.source === 'nearest'
    ? `distance ${distance(item.score)} to a labelled face of ${unit.person_name} · face ${item.face_id}`
    : `model ${percent(item.score)} sure · face ${item.face_id}`;
  el.photo.src = photoUrl(item);
  el.photoLink.href = `/photos/${item.image_id}#face-${item.face_id}`;
  drawBox(item);
  renderReferences(el.references, unit);
  autocomplete.clear();
  el.name.focus({ preventScroll: true });
}

function drawBox(item) {
  el.boxes.setAttribute('viewBox', `0 0 ${item.width} ${item.height}`);
  el.boxes.setAttribute('preserveAspectRatio', 'none');
  el.boxes.replaceChildren();
  const [left, top, right, bottom] = item.box;
  const rect = document.createElementNS(SVG, 'rect');
  rect.setAttribute('x', left);
  rect.setAttribute('y', top);
  rect.setAttribute('width', right - left);
  rect.setAttribute('height', bottom - top);
  rect.setAttribute('stroke-width', Math.max(3, Math.round(Math.max(item.width, item.height) / 160)));
  rect.setAttribute('class', 'main');
  el.boxes.append(rect);
}

function answerOne(answer, extra = {}, shownName = '') {
  if (!current || MODE !== 'one') return;
  const item = current.items[0];
  submit(current, [{ face_id: item.face_id, answer, ...extra }], shownName);
}

async function correct(option) {
  if (!option) return;
  if (option.kind === 'person') {
    answerOne('correct', { person_id: option.match.person_id }, option.match.name);
  } else {
    answerOne('correct', { name: option.name }, option.name);
  }
}

// ------------------------------------------------------------------ a page of faces

function renderPage(unit) {
  el.one.hidden = true;
  el.page.hidden = false;
  if (MODE === 'page') {
    renderReferences(el.pageReferences, unit);
    el.grid.setAttribute('aria-label', `Faces suggested as ${unit.person_name}`);
  }
  el.grid.replaceChildren();
  unit.items.forEach((item, index) => {
    const li = document.createElement('li');
    li.className = MODE === 'mixed' ? 'face-tile confirm-tile mixed' : 'face-tile confirm-tile';
    li.id = `tile-${item.face_id}`;
    li.dataset.face = item.face_id;
    li.setAttribute('role', 'option');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'tile-select';
    button.tabIndex = -1;
    const image = document.createElement('img');
    image.className = 'chip';
    image.src = chipUrl(item.face_id);
    image.alt = MODE === 'mixed' ? `face ${item.face_id}, suggested as ${item.person_name}` : `face ${item.face_id}`;
    image.width = 150;
    image.height = 150;
    button.append(image);
    button.addEventListener('click', () => {
      unit.cursor = index;
      toggle(unit, item.face_id);
    });
    const score = document.createElement('span');
    score.className = 'dist';
    score.textContent = scoreText(unit, item);
    score.title = sourceOf(unit, item) === 'nearest' ? 'distance to the nearest labelled face' : 'how sure the model is';
    const link = document.createElement('a');
    link.className = 'tile-photo';
    link.href = `/photos/${item.image_id}#face-${item.face_id}`;
    link.target = '_blank';
    link.textContent = 'photo';
    link.tabIndex = -1;
    if (MODE === 'mixed') li.append(button, score, caption(item, link));
    else li.append(button, score, link);
    el.grid.append(li);
  });
  paintPage(unit);
}

// Under a mixed page's face: a labelled face of the person suggested, and their name.
function caption(item, link) {
  const row = document.createElement('div');
  row.className = 'tile-caption';
  const reference = item.reference_face_ids[0];
  if (reference !== undefined) {
    const image = document.createElement('img');
    image.className = 'chip tiny reference';
    image.src = chipUrl(reference);
    image.alt = `a labelled face of ${item.person_name}`;
    image.width = 40;
    image.height = 40;
    row.append(image);
  }
  const name = document.createElement('span');
  name.className = 'tile-name';
  name.textContent = item.person_name;
  name.title = item.person_name;
  row.append(name, link);
  return row;
}

function paintPage(unit) {
  unit.items.forEach((item, index) => {
    const li = $(`tile-${item.face_id}`);
    if (!li) return;
    const on = unit.selected.has(item.face_id);
    li.classList.toggle('selected', on);
    li.classList.toggle('refused', !on);
    li.classList.toggle('cursor', index === unit.cursor);
    li.setAttribute('aria-selected', on ? 'true' : 'false');
  });
  const cursor = unit.items[unit.cursor];
  if (cursor) el.grid.setAttribute('aria-activedescendant', `tile-${cursor.face_id}`);
}

function toggle(unit, faceId) {
  if (unit.selected.has(faceId)) unit.selected.delete(faceId);
  else unit.selected.add(faceId);
  paintPage(unit);
}

function columns() {
  const tiles = [...el.grid.children];
  if (!tiles.length) return 1;
  const top = tiles[0].offsetTop;
  return Math.max(1, tiles.filter((tile) => tile.offsetTop === top).length);
}

function move(step) {
  const unit = current;
  if (!unit) return;
  const next = unit.cursor + step;
  if (next < 0 || next >= unit.items.length) return;
  unit.cursor = next;
  paintPage(unit);
  $(`tile-${unit.items[next].face_id}`)?.scrollIntoView({ block: 'nearest' });
}

// On a mixed page each answer says whom its face was suggested as, and where from.
function ownPerson(unit, item, answer) {
  if (MODE !== 'mixed') return answer;
  return { ...answer, suggested_person_id: item.person_id, source: sourceOf(unit, item) };
}

function acceptPage() {
  const unit = current;
  if (!unit || !GRID) return;
  const answers = unit.items.map((item) => ownPerson(unit, item, {
    face_id: item.face_id,
    answer: unit.selected.has(item.face_id) ? 'yes' : 'no',
  }));
  submit(unit, answers, unit.person_name);
}

function skipPage() {
  const unit = current;
  if (!unit) return;
  submit(unit, unit.items.map((item) => ownPerson(unit, item, { face_id: item.face_id, answer: 'skip' })), '');
}

// ------------------------------------------------------------------ answering

function submit(unit, answers, shownName, confirmed = false) {
  const body = unit.person_id ? { person_id: unit.person_id, answers } : { answers };
  if (unit.source === 'model' || unit.source === 'nearest') body.source = unit.source;
  if (confirmed) body.confirm = true;
  const entry = { unit, body, shownName, state: 'pending', result: null };
  for (const a of answers) inFlight.add(a.face_id);
  entry.promise = chain.then(() => api('POST', '/confirm', body)).then(
    (result) => {
      entry.result = result;
      entry.state = 'saved';
      for (const a of answers) inFlight.delete(a.face_id);
      if (result.retrain_job_id) toast(`Enough new answers: a model is training (job #${result.retrain_job_id}).`);
      renderHistory();
      return result;
    },
    (error) => {
      entry.state = 'failed';
      for (const a of answers) inFlight.delete(a.face_id);
      pending += answers.length - skipsIn(answers);
      renderHistory();
      bringBack(unit);
      if (error.status === 409 && !confirmed) {
        const yes = window.confirm(`${error.message}\n\nA person appears once in a photo, unless it is a mirror, a poster or twins. Save anyway?`);
        if (yes && current === unit) submit(unit, answers, shownName, true);
      } else {
        showError(error);
      }
      return null;
    },
  );
  chain = entry.promise.catch(() => null);
  history.unshift(entry);
  if (history.length > 50) history.pop();
  pending -= answers.length - skipsIn(answers);
  renderHistory();
  showNext();
}

const skipsIn = (answers) => answers.filter((a) => a.answer === 'skip').length;

function bringBack(unit) {
  if (current && current !== unit) buffer.unshift(current);
  current = unit;
  render();
}

function undoLast() {
  const entry = history.find((e) => e.state === 'pending' || e.state === 'saved');
  if (!entry) {
    toast('Nothing to undo on this page. Older answers can be undone from Activity.');
    return;
  }
  undoEntry(entry, true);
}

function undoEntry(entry, reshow) {
  entry.state = 'undoing';
  const { unit, body } = entry;
  if (reshow) {
    if (current) buffer.unshift(current);
    current = unit;
    render();
  }
  pending += body.answers.length - skipsIn(body.answers);
  showPending();
  for (const a of body.answers) inFlight.add(a.face_id);
  const work = entry.promise.then((result) => {
    if (!result) return null;
    return api('POST', `/batches/${result.batch}/undo`);
  }).then(
    () => {
      entry.state = 'undone';
      for (const a of body.answers) inFlight.delete(a.face_id);
      renderHistory();
    },
    (error) => {
      entry.state = 'saved';
      for (const a of body.answers) inFlight.delete(a.face_id);
      renderHistory();
      showError(error);
    },
  );
  chain = chain.then(() => work).catch(() => null);
  renderHistory();
}

function describe(entry) {
  const answers = entry.body.answers;
  if (GRID) {
    if (answers.every((a) => a.answer === 'skip')) return `skipped ${answers.length} faces`;
    const yes = answers.filter((a) => a.answer === 'yes').length;
    const no = answers.length - yes;
    if (MODE === 'mixed') return `${yes} named as suggested` + (no ? `, ${no} not` : '');
    return `${yes} × ${entry.shownName}` + (no ? `, ${no} not` : '');
  }
  const a = answers[0];
  if (a.answer === 'yes') return `yes, ${entry.unit.person_name}`;
  if (a.answer === 'no') return `not ${entry.unit.person_name}`;
  if (a.answer === 'skip') return 'skipped';
  return `${entry.shownName}, not ${entry.unit.person_name}`;
}

function renderHistory() {
  el.history.replaceChildren();
  for (const entry of history.slice(0, 8)) {
    const li = document.createElement('li');
    li.className = `history-entry ${entry.state}`;
    const image = document.createElement('img');
    image.className = 'chip tiny';
    image.src = chipUrl(entry.unit.items[0].face_id);
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
      button.addEventListener('click', () => undoEntry(entry, entry === history[0]));
      li.append(button);
    }
    el.history.append(li);
  }
}

// ------------------------------------------------------------------ keyboard

const autocomplete = new Autocomplete(el.name, el.list, { onPick: correct });

const ONE_KEYS = {
  y: () => answerOne('yes'),
  Enter: () => answerOne('yes'),
  n: () => answerOne('no'),
  s: () => answerOne('skip'),
  z: undoLast,
};
const PAGE_KEYS = {
  Enter: acceptPage,
  ' ': () => current && toggle(current, current.items[current.cursor].face_id),
  x: () => current && toggle(current, current.items[current.cursor].face_id),
  s: skipPage,
  z: undoLast,
  ArrowLeft: () => move(-1),
  h: () => move(-1),
  ArrowRight: () => move(1),
  l: () => move(1),
  ArrowUp: () => move(-columns()),
  k: () => move(-columns()),
  ArrowDown: () => move(columns()),
  j: () => move(columns()),
};

document.addEventListener('keydown', (event) => {
  if (event.isComposing || event.keyCode === 229 || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  const inName = target === el.name;
  if (!inName && target.closest?.('input, select, textarea, [contenteditable]')) return;
  if (inName && el.name.value !== '') {
    if (event.key === 'Enter') {
      event.preventDefault();
      autocomplete.resolve().then(correct);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      autocomplete.clear();
    }
    return;
  }
  const ownButton = target.tagName === 'BUTTON' && !target.classList.contains('tile-select');
  if (ownButton && (event.key === 'Enter' || event.key === ' ')) return;
  if (target.tagName === 'A' && event.key === 'Enter') return;
  const keys = GRID ? PAGE_KEYS : ONE_KEYS;
  const command = keys[event.key];
  if (!current && event.key !== 'z') return;
  if (command) {
    event.preventDefault();
    command();
  } else if (MODE === 'one' && !inName && event.key.length === 1 && !event.repeat) {
    el.name.focus({ preventScroll: true });
  }
});

for (const button of document.querySelectorAll('#confirm-app .actions [data-action]')) {
  button.addEventListener('click', () => {
    const action = button.dataset.action;
    if (action === 'undo') undoLast();
    else if (action === 'accept') acceptPage();
    else if (action === 'skip' && GRID) skipPage();
    else answerOne(action);
  });
}

buffer = unitsOf(initial);
buffer.forEach(preloadUnit);
exhausted = buffer.length === 0;
showNext();
window.faceloopConfirm = {
  get current() { return current; },
  get buffer() { return buffer; },
  settled: () => chain,
};
