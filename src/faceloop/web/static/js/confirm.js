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

import { api, chancePercent, chipImage, chipUrl, photoUrl, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';
import { TileGrid } from './grid.js';
import { History } from './history.js';
import { answerKey, focusName, nameMode, pageKey } from './keys.js';
import { settleOption } from './namesake.js';
import { preloader } from './preload.js';
import { Queue } from './queue.js';

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

let pending = initial.pending;
let emptyInfo = initial;
const inFlight = new Set();
const preload = preloader(300);

const percent = (score) => `${Math.round(score * 100)}%`;
// The server's calibrated chance that the face is the person: "likely" only when sure, "unsure"
// when the page does not pre-check it (the labeller ticks it if right).
function chanceText(item) {
  const p = item.probability;
  const chance = p == null ? '' : chancePercent(p);
  if (!item.checked) return chance ? `unsure ${chance}` : 'unsure';
  if (item.confident) return `likely ${chance}`;
  return chance || '';
}
// a look-alike's score is 1 - its distance to the nearest labelled face; a small group's face,
// 1 - its own distance to the nearest labelled face of the person its group looks like
const distance = (score) => (1 - score).toFixed(2);
const sourceOf = (unit, item) => item.source || unit.source;
const isDistance = (unit, item) => sourceOf(unit, item) !== 'model';
const scoreText = (unit, item) => {
  if (sourceOf(unit, item) === 'account') return 'selfie';
  return isDistance(unit, item) ? distance(item.score) : percent(item.score);
};
const SCORE_TITLES = {
  account: 'a single-face photo posted by the account linked to this person',
  model: 'how sure the model is',
  nearest: 'distance to the nearest labelled face',
  group: 'in a small group whose faces all look like this person: distance to the nearest labelled face',
};
// what a mixed page holds, in the order the server fills it
const MIXED_NOTES = {
  account: 'selfies from linked accounts',
  model: "the model's surest guesses",
  nearest: 'like labelled faces of each person',
  group: 'small groups that look like each person',
};

function preloadUnit(unit) {
  const urls = [];
  for (const item of unit.items) {
    urls.push(chipUrl(item.face_id));
    if (MODE === 'one') urls.push(photoUrl(item.image_id, PHOTO_SIZE));
    // a mixed page shows one labelled face of each face's person
    if (MODE === 'mixed' && item.reference_face_ids.length) urls.push(chipUrl(item.reference_face_ids[0]));
  }
  if (MODE !== 'mixed') for (const face of unit.items[0].reference_face_ids) urls.push(chipUrl(face));
  preload(urls);
}

// A unit is what one answer covers: one face, one page of faces suggested as one person, or one
// mixed page (no person of its own: each item has its own).
function unitsOf(view) {
  if (!view.items.length) return [];
  if (GRID) {
    return [{
      source: view.source,
      reach: view.reach,
      title: view.title,
      person_id: MODE === 'mixed' ? null : view.person_id,
      person_name: MODE === 'mixed' ? null : view.person_name,
      items: view.items,
      // only what the server pre-checks starts as a yes; the rest is unsure until ticked
      selected: new Set(view.items.filter((i) => i.checked !== false).map((i) => i.face_id)),
      refused: new Set(),
      cursor: 0,
    }];
  }
  return view.items.map((item) => ({
    source: view.source, reach: view.reach, person_id: item.person_id, person_name: item.person_name, items: [item],
  }));
}

const idsOf = (unit) => unit.items.map((item) => item.face_id);

const queue = new Queue({
  low: LOW_WATER,
  load: () => {
    const params = new URLSearchParams({ mode: MODE, order: ORDER, source: SOURCE, reach: REACH });
    if (MODE === 'one') params.set('limit', AHEAD);
    for (const id of [...queue.held(idsOf, inFlight)].slice(-500)) params.append('exclude', id);
    return api('GET', '/confirm?' + params).then((view) => {
      const held = queue.held(idsOf, inFlight);
      const fresh = unitsOf(view).filter((unit) => unit.items.every((i) => !held.has(i.face_id)));
      fresh.forEach(preloadUnit);
      if (!fresh.length) emptyInfo = view;
      pending = view.pending - inFlight.size;
      return fresh.length ? fresh : null;
    });
  },
  loaded: () => {
    if (!queue.current) showNext();
    else showPending();
  },
});

const history = new History(el.history, {
  cover: (entry) => entry.unit.items[0].face_id,
  describe,
  onUndo: undoEntry,
});

function showPending() {
  el.pending.textContent = Math.max(0, pending).toLocaleString();
}

function showNext() {
  queue.advance(render);
}

function render() {
  showPending();
  const current = queue.current;
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
  if (el.person && current.items[0]?.person_note) el.person.textContent += ` (${current.items[0].person_note})`;
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
    const kinds = new Set(unit.items.map((item) => sourceOf(unit, item)));
    return Object.keys(MIXED_NOTES).filter((kind) => kinds.has(kind)).map((kind) => MIXED_NOTES[kind]).join(', then ');
  }
  if (unit.source === 'account') return unit.title || `a selfie from ${unit.person_name}'s account`;
  return unit.source === 'nearest' ? `like labelled faces of ${unit.person_name}` : 'from the model';
}

function renderEmpty() {
  if (queue.loading) {
    el.empty.hidden = true;
    queue.fetching.then(() => { if (!queue.current) renderEmpty(); });
    return;
  }
  el.empty.hidden = false;
  el.emptyTitle.textContent = TITLES[emptyInfo.empty_reason] || 'Nothing to confirm';
  el.emptyText.textContent = emptyInfo.message || '';
  el.emptyTraining.hidden = !emptyInfo.training_job_id;
  el.emptyTraining.textContent = emptyInfo.training_job_id
    ? `A model is training now (job #${emptyInfo.training_job_id}): its guesses appear here when it is done.`
    : '';
  queue.retryIn(emptyInfo.training_job_id ? 3000 : 10000, { whileEmpty: true });
}

function renderReferences(container, unit) {
  container.replaceChildren();
  const ids = unit.items[0].reference_face_ids;
  for (const faceId of ids) {
    container.append(
      chipImage(faceId, 96, { className: 'chip reference', alt: `a labelled face of ${unit.person_name}` }),
    );
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
  const chance = chanceText(item);
  const why = {
    nearest: `distance ${distance(item.score)} to a labelled face of ${unit.person_name}`,
    account: item.origin || 'a selfie from a linked account',
  }[unit.source] || `model score ${percent(item.score)}`;
  el.score.textContent = (chance ? `${chance} · ` : '') + `${why} · face ${item.face_id}`;
  el.photo.src = photoUrl(item.image_id, PHOTO_SIZE);
  el.photoLink.href = `/photos/${item.image_id}#face-${item.face_id}`;
  drawBox(item);
  renderReferences(el.references, unit);
  autocomplete.clear();
  focusName(autocomplete);
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
  const unit = queue.current;
  if (!unit || MODE !== 'one') return;
  const item = unit.items[0];
  submit(unit, [{ face_id: item.face_id, answer, ...extra }], shownName);
}

// Enter says yes only to a guess the page would pre-check; an unsure one needs an explicit y,
// so one keystroke never stores a guess nobody looked at twice.
function enterOne() {
  const item = queue.current?.items[0];
  if (!item || MODE !== 'one') return;
  if (item.checked !== false) answerOne('yes');
  else toast(`Unsure guess: Esc, then y if it is ${queue.current.person_name}, n if not`);
}

async function correct(typed) {
  const option = await settleOption(typed);
  if (!option) return;
  if (option.kind === 'person') {
    answerOne('correct', { person_id: option.match.person_id }, option.match.name);
  } else {
    answerOne('correct', { name: option.name, ...(option.newPerson ? { new_person: true } : {}) }, option.name);
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
  grid.show(unit);
}

function pageTile(unit, item) {
  const li = document.createElement('li');
  li.className = MODE === 'mixed' ? 'face-tile confirm-tile mixed' : 'face-tile confirm-tile';
  li.id = `tile-${item.face_id}`;
  li.dataset.face = item.face_id;
  li.setAttribute('role', 'option');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'tile-select';
  button.tabIndex = -1;
  const alt = MODE === 'mixed' ? `face ${item.face_id}, suggested as ${item.person_name}` : `face ${item.face_id}`;
  button.append(chipImage(item.face_id, 150, { alt }));
  const score = document.createElement('span');
  score.className = 'dist';
  score.textContent = chanceText(item) || scoreText(unit, item);
  score.title = `estimated chance it is ${item.person_name}; `
    + `${SCORE_TITLES[sourceOf(unit, item)] || SCORE_TITLES.model}: ${scoreText(unit, item)}`;
  const link = document.createElement('a');
  link.className = 'tile-photo';
  link.href = `/photos/${item.image_id}#face-${item.face_id}`;
  link.target = '_blank';
  link.textContent = 'photo';
  link.tabIndex = -1;
  const parts = [button, score, MODE === 'mixed' ? caption(item, link) : link];
  if (item.origin) {
    // a selfie of a linked account: who posted it
    const origin = document.createElement('small');
    origin.className = 'tile-origin';
    origin.textContent = item.origin;
    origin.title = item.origin;
    if (MODE === 'mixed') parts[2].append(origin);
    else parts.push(origin);
  }
  li.append(...parts);
  return li;
}

// Under a mixed page's face: a labelled face of the person suggested, and their name.
function caption(item, link) {
  const row = document.createElement('div');
  row.className = 'tile-caption';
  const reference = item.reference_face_ids[0];
  if (reference !== undefined) {
    row.append(
      chipImage(reference, 40, { className: 'chip tiny reference', alt: `a labelled face of ${item.person_name}` }),
    );
  }
  const name = document.createElement('span');
  name.className = 'tile-name';
  name.textContent = item.person_name;
  name.title = item.person_note ? `${item.person_name} (${item.person_note})` : item.person_name;
  if (item.person_note) {
    // another person's name looks the same: say which one this is
    const note = document.createElement('small');
    note.className = 'tile-note-name';
    note.textContent = item.person_note;
    name.append(note);
  }
  row.append(name, link);
  return row;
}

// The faces the server pre-checks start chosen (a yes); the labeller refuses those that are not
// the person suggested. The others start unsure (no answer: skipped, so they come back later):
// a toggle makes one a yes, the next a no, the next unsure again. The choice and the cursor are
// kept on the unit, so a page shown again (undone, or its answer failed) comes back as it was
// left.
class PageGrid extends TileGrid {
  unit = null;

  show(unit) {
    this.unit = unit;
    this.list.replaceChildren(...unit.items.map((item) => pageTile(unit, item)));
    this.paint();
  }

  get faces() {
    return this.unit ? this.unit.items : [];
  }

  get cursor() {
    return this.unit ? this.unit.cursor : 0;
  }

  set cursor(index) {
    this.unit.cursor = index;
  }

  flip(faceId) {
    const { selected, refused } = this.unit;
    const item = this.unit.items.find((i) => i.face_id === faceId);
    if (selected.has(faceId)) {
      selected.delete(faceId);
      refused.add(faceId);
    } else if (refused.has(faceId)) {
      refused.delete(faceId);
      if (item?.checked !== false) selected.add(faceId);
    } else {
      selected.add(faceId);
    }
  }

  paint() {
    const { unit } = this;
    this.tiles().forEach((li, index) => {
      const item = unit.items[index];
      const on = unit.selected.has(item.face_id);
      const off = !on && (unit.refused.has(item.face_id) || item.checked !== false);
      li.classList.toggle('selected', on);
      li.classList.toggle('refused', off);
      li.classList.toggle('unsure', !on && !off);
      li.classList.toggle('cursor', index === unit.cursor);
      li.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    const cursor = unit.items[unit.cursor];
    if (cursor) this.list.setAttribute('aria-activedescendant', `tile-${cursor.face_id}`);
  }
}

const grid = new PageGrid(el.grid);

// On a mixed page each answer says whom its face was suggested as, and where from.
function ownPerson(unit, item, answer) {
  if (MODE !== 'mixed') return answer;
  return { ...answer, suggested_person_id: item.person_id, source: sourceOf(unit, item) };
}

function acceptPage() {
  const unit = queue.current;
  if (!unit || !GRID) return;
  const answers = unit.items.map((item) => ownPerson(unit, item, {
    face_id: item.face_id,
    answer: answerFor(unit, item),
  }));
  submit(unit, answers, unit.person_name);
}

function answerFor(unit, item) {
  if (unit.selected.has(item.face_id)) return 'yes';
  if (unit.refused.has(item.face_id) || item.checked !== false) return 'no';
  return 'skip';
}

function skipPage() {
  const unit = queue.current;
  if (!unit) return;
  submit(unit, unit.items.map((item) => ownPerson(unit, item, { face_id: item.face_id, answer: 'skip' })), '');
}

// ------------------------------------------------------------------ answering

function submit(unit, answers, shownName, confirmed = false) {
  const body = unit.person_id ? { person_id: unit.person_id, answers } : { answers };
  if (unit.source in SCORE_TITLES) body.source = unit.source;
  if (confirmed) body.confirm = true;
  for (const a of answers) inFlight.add(a.face_id);
  history.record({ unit, body, shownName }, () => api('POST', '/confirm', body), {
    saved: (result) => {
      for (const a of answers) inFlight.delete(a.face_id);
      if (result.retrain_job_id) toast(`Enough new answers: a model is training (job #${result.retrain_job_id}).`);
    },
    failed: (error) => {
      for (const a of answers) inFlight.delete(a.face_id);
      pending += answers.length - skipsIn(answers);
      bringBack(unit);
      if (error.status === 409 && !confirmed) {
        const yes = window.confirm(`${error.message}\n\nA person appears once in a photo, unless it is a mirror, a poster or twins. Save anyway?`);
        if (yes && queue.current === unit) submit(unit, answers, shownName, true);
      } else {
        showError(error);
      }
    },
  });
  pending -= answers.length - skipsIn(answers);
  showNext();
}

const skipsIn = (answers) => answers.filter((a) => a.answer === 'skip').length;

function bringBack(unit) {
  queue.bringBack(unit);
  render();
}

function undoEntry(entry, reshow) {
  const { unit, body } = entry;
  if (reshow) bringBack(unit);
  pending += body.answers.length - skipsIn(body.answers);
  showPending();
  for (const a of body.answers) inFlight.add(a.face_id);
  const settle = () => {
    for (const a of body.answers) inFlight.delete(a.face_id);
  };
  history.undo(entry, { undone: settle, kept: settle });
}

function describe(entry) {
  const answers = entry.body.answers;
  if (GRID) {
    if (answers.every((a) => a.answer === 'skip')) return `skipped ${answers.length} faces`;
    const yes = answers.filter((a) => a.answer === 'yes').length;
    const no = answers.filter((a) => a.answer === 'no').length;
    const unsure = answers.length - yes - no;
    const rest = (no ? `, ${no} not` : '') + (unsure ? `, ${unsure} left unsure` : '');
    if (MODE === 'mixed') return `${yes} named as suggested` + rest;
    return `${yes} × ${entry.shownName}` + rest;
  }
  const a = answers[0];
  if (a.answer === 'yes') return `yes, ${entry.unit.person_name}`;
  if (a.answer === 'no') return `not ${entry.unit.person_name}`;
  if (a.answer === 'skip') return 'skipped';
  return `${entry.shownName}, not ${entry.unit.person_name}`;
}

// ------------------------------------------------------------------ keyboard

const autocomplete = new Autocomplete(el.name, el.list, { onPick: correct });
nameMode(autocomplete);

const undoLast = () => history.undoLast();
const ONE_KEYS = {
  y: () => answerOne('yes'),
  Enter: enterOne,
  n: () => answerOne('no'),
  s: () => answerOne('skip'),
  z: undoLast,
};
// besides the grid's own keys: arrows or hjkl move, Space or x refuses a face or takes it back
const PAGE_KEYS = { Enter: acceptPage, s: skipPage, z: undoLast };

document.addEventListener('keydown', (event) => {
  if (!pageKey(event, { autocomplete, onName: () => autocomplete.resolve().then(correct) })) return;
  if (!queue.current && event.key !== 'z') return;
  if (GRID) answerKey(event, { grid, commands: PAGE_KEYS });
  else answerKey(event, { commands: ONE_KEYS, typeTo: el.name });
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

queue.ahead = unitsOf(initial);
queue.ahead.forEach(preloadUnit);
queue.exhausted = queue.ahead.length === 0;
showNext();
window.faceloopConfirm = {
  get current() { return queue.current; },
  get buffer() { return queue.ahead; },
  settled: () => history.chain,
};
