// The label page: one face at a time, keyboard first, never waiting.
//
// Several faces are fetched ahead (with their chips and photos preloaded), so after a keypress
// the next face shows at once; answers go to the server in order in the background, and a
// failed one brings its face back. Undo (z) shows the last face again at once and withdraws its
// answer as soon as that answer has been saved.

import { api, chancePercent, chipImage, chipUrl, photoUrl, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';
import { History } from './history.js';
import { answerKey, focusName, nameMode, pageKey } from './keys.js';
import { settleOption, settleRefusal } from './namesake.js';
import { preloader } from './preload.js';
import { Queue } from './queue.js';

const app = document.getElementById('label-app');
const filters = JSON.parse(app.dataset.filters);
const initial = JSON.parse(document.getElementById('initial').textContent);

const $ = (id) => document.getElementById(id);
const el = {
  question: $('question'),
  empty: $('empty'),
  chip: $('chip'),
  caption: $('face-caption'),
  photo: $('photo'),
  boxes: $('boxes'),
  photoLink: $('photo-link'),
  folder: $('folder'),
  others: $('others'),
  name: $('name'),
  list: $('name-list'),
  suggestions: $('suggestions'),
  remaining: $('remaining'),
  history: $('history'),
  dialog: $('confirm'),
  dialogText: $('confirm-text'),
};

const LOW_WATER = 4;
const BATCH = 8;
const PHOTO_SIZE = 1024;
const SVG = 'http://www.w3.org/2000/svg';

let remaining = initial.remaining;
let dialogOpen = false;
let namedCount = 0; // answers naming a person so far: suggestions fetched before one are stale
const pending = new Set();
const labelsHere = new Map(); // image id -> Map(face id -> person id), answers made on this page
const preloadImages = preloader(200);

const chip = (item) => chipUrl(item.face_id);
const photo = (item) => photoUrl(item.image_id, PHOTO_SIZE);
const preload = (item) => preloadImages([chip(item), photo(item)]);
const faceOf = (item) => [item.face_id];

const queue = new Queue({
  low: LOW_WATER,
  load: () => {
    const params = new URLSearchParams({ limit: BATCH });
    for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
    for (const id of queue.held(faceOf, pending)) params.append('exclude', id);
    return api('GET', '/queue?' + params).then((page) => {
      remaining = page.remaining;
      const known = queue.held(faceOf, pending);
      const fresh = page.items.filter((item) => !known.has(item.face_id));
      for (const item of fresh) item.fetchedAt = namedCount;
      fresh.forEach(preload);
      return fresh.length ? fresh : null;
    });
  },
  loaded: () => {
    if (!queue.current) showNext();
    else showRemaining();
  },
});

const history = new History(el.history, {
  cover: (entry) => entry.item.face_id,
  describe,
  onUndo: undoEntry,
});

function showRemaining() {
  el.remaining.textContent = Math.max(0, remaining).toLocaleString();
}

function showNext() {
  queue.advance(render);
}

function render() {
  showRemaining();
  const item = queue.current;
  if (!item) {
    el.question.hidden = true;
    queue.showEmpty(el.empty);
    queue.retryIn(5000, { whileEmpty: true });
    return;
  }
  el.empty.hidden = true;
  el.question.hidden = false;
  el.chip.src = chip(item);
  el.chip.alt = `face ${item.face_id}`;
  el.caption.textContent = `face ${item.face_id}` + (item.skipped ? ' · skipped before' : '');
  el.photo.src = photo(item);
  el.photoLink.href = `/photos/${item.image_id}#face-${item.face_id}`;
  $('more-like-this').href = `/similar/${item.face_id}`;
  el.folder.textContent = item.folder || '';
  drawBoxes(item);
  renderOthers(item);
  renderSuggestions(item);
  autocomplete.clear();
  focusName(autocomplete);
  if ((item.fetchedAt ?? 0) < namedCount) refreshSuggestions(item);
}

// Suggestions come from the people labelled so far: a face fetched ahead, before the last
// names were given, gets fresh ones once the answers before it are saved.
function refreshSuggestions(item) {
  item.fetchedAt = namedCount;
  history.chain.then(() => api('GET', `/faces/${item.face_id}`)).then((fresh) => {
    item.suggestions = fresh.suggestions;
    item.others = fresh.others;
    if (queue.current === item) {
      renderSuggestions(item);
      renderOthers(item);
    }
  }).catch(() => null);
}

function drawBoxes(item) {
  el.boxes.setAttribute('viewBox', `0 0 ${item.width} ${item.height}`);
  el.boxes.setAttribute('preserveAspectRatio', 'none');
  el.boxes.replaceChildren();
  const stroke = Math.max(2, Math.round(Math.max(item.width, item.height) / 250));
  const faces = [...item.others.map((f) => ({ ...f, main: false })), { box: item.box, main: true }];
  for (const face of faces) {
    const [left, top, right, bottom] = face.box;
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', left);
    rect.setAttribute('y', top);
    rect.setAttribute('width', right - left);
    rect.setAttribute('height', bottom - top);
    rect.setAttribute('stroke-width', face.main ? stroke * 1.5 : stroke);
    rect.setAttribute('class', face.main ? 'main' : 'other');
    el.boxes.append(rect);
  }
}

function personOf(item, face) {
  const local = labelsHere.get(item.image_id)?.get(face.face_id);
  if (local !== undefined) return local;
  return face.verdict === 'person' ? face.person_id : null;
}

function renderOthers(item) {
  el.others.replaceChildren();
  for (const face of item.others) {
    const figure = document.createElement('figure');
    const image = chipImage(face.face_id, 64, { className: 'chip small', alt: 'another face in the photo', lazy: true });
    const caption = document.createElement('figcaption');
    caption.textContent = face.name || (face.verdict ? face.verdict.replace('_', ' ') : 'not labelled');
    figure.append(image, caption);
    el.others.append(figure);
  }
}

// Each suggestion says how likely it is (the server's calibrated probability, one scale for a
// model's guess and a look-alike); only a confident one reads "likely", and only it is what
// Enter on an empty field takes.
function renderSuggestions(item) {
  el.suggestions.replaceChildren();
  item.suggestions.forEach((s, index) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'suggestion' + (s.in_photo ? ' in-photo' : '') + (s.confident ? ' likely' : '');
    button.dataset.index = index;
    const key = document.createElement('kbd');
    key.textContent = index + 1;
    const name = document.createElement('span');
    name.className = 'sname';
    name.textContent = s.name;
    const why = document.createElement('small');
    why.textContent = suggestionNote(s);
    button.append(key, name, why);
    button.addEventListener('click', () => pickSuggestion(index));
    li.append(button);
    el.suggestions.append(li);
  });
  if (!item.suggestions.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No suggestions yet: type a name.';
    el.suggestions.append(li);
  }
}

function suggestionNote(s) {
  const chance = s.probability == null ? '' : ` ${chancePercent(s.probability)}`;
  const words = [];
  if (s.reason === 'hint') words.push('folder');
  words.push(s.confident ? `likely${chance}` : `guess${chance}`);
  if (s.in_photo) words.push('already in this photo');
  return words.join(' · ');
}

// ------------------------------------------------------------------ answering

function conflict(item, personId) {
  for (const face of item.others) {
    if (personOf(item, face) === personId) return true;
  }
  return false;
}

function confirmSamePerson(name) {
  el.dialogText.textContent = `${name} is already labelled on another face of this photo. `
    + 'A person appears once in a photo, unless it is a mirror, a poster or twins.';
  dialogOpen = true;
  el.dialog.showModal();
  $('confirm-yes').focus();
  return new Promise((resolve) => {
    const finish = (answer) => {
      dialogOpen = false;
      el.dialog.close();
      $('confirm-yes').onclick = null;
      $('confirm-no').onclick = null;
      el.dialog.oncancel = null;
      focusName(autocomplete);
      resolve(answer);
    };
    $('confirm-yes').onclick = () => finish(true);
    $('confirm-no').onclick = () => finish(false);
    el.dialog.oncancel = (event) => { event.preventDefault(); finish(false); };
  });
}

async function answer(verdict, extra = {}, shownName = '') {
  const item = queue.current;
  if (!item) return;
  if (verdict === 'person' && extra.person_id && !extra.confirm && conflict(item, extra.person_id)) {
    if (!(await confirmSamePerson(shownName))) return;
    extra = { ...extra, confirm: true };
  }
  const body = { verdict, ...extra };
  const entry = { item, body, shownName };
  pending.add(item.face_id);
  history.record(entry, () => api('POST', `/faces/${item.face_id}/label`, body), {
    saved: (result) => {
      if (result.verdict === 'person') {
        if (!labelsHere.has(item.image_id)) labelsHere.set(item.image_id, new Map());
        labelsHere.get(item.image_id).set(item.face_id, result.person_id);
        entry.shownName = result.person_name;
      }
      pending.delete(item.face_id);
    },
    failed: (error) => {
      pending.delete(item.face_id);
      bringBack(item);
      if (error.body?.existing_person_id && verdict === 'person') {
        // the name typed is someone's in another spelling: ask, then answer again
        settleRefusal(error, shownName).then((choice) => {
          if (!choice || queue.current !== item) return;
          if (choice.person_id) answer(verdict, { person_id: choice.person_id, origin: extra.origin }, choice.name);
          else answer(verdict, { ...extra, ...choice }, shownName);
        });
      } else if (error.status === 409 && verdict === 'person') {
        // someone (or another tab) named this person on another face of the photo meanwhile
        confirmSamePerson(shownName).then((yes) => {
          if (yes && queue.current === item) answer(verdict, { ...extra, confirm: true }, shownName);
        });
      } else {
        showError(error);
      }
    },
  });
  if (verdict === 'person') namedCount += 1;
  if (verdict !== 'skip') remaining -= 1;
  showNext();
}

function bringBack(item) {
  queue.bringBack(item);
  render();
}

function pickSuggestion(index) {
  const suggestion = queue.current?.suggestions[index];
  if (!suggestion) return;
  answer('person', { person_id: suggestion.person_id, origin: 'suggestion' }, suggestion.name);
}

async function pick(typed) {
  const option = await settleOption(typed);
  if (!option) return;
  if (option.kind === 'person') {
    answer('person', { person_id: option.match.person_id, origin: 'manual' }, option.match.name);
  } else {
    const extra = option.newPerson ? { new_person: true } : {};
    answer('person', { name: option.name, origin: 'manual', ...extra }, option.name);
  }
}

async function acceptTyped() {
  const option = await autocomplete.resolve();
  if (option) pick(option);
}

// Enter on an empty field takes suggestion 1 only when it is likely: one keystroke must not
// store a guess. The digits still take any suggestion.
function accept() {
  if (el.name.value.trim()) acceptTyped();
  else if (queue.current?.suggestions[0]?.confident) pickSuggestion(0);
  else if (queue.current?.suggestions.length) toast('No sure suggestion: type a name or press 1–9');
  else toast('Type a name, or press n, u or s.');
}

function undoEntry(entry, reshow) {
  if (reshow) bringBack(entry.item);
  if (entry.body.verdict !== 'skip') remaining += 1;
  showRemaining();
  pending.add(entry.item.face_id);
  history.undo(entry, {
    undone: () => {
      labelsHere.get(entry.item.image_id)?.delete(entry.item.face_id);
      pending.delete(entry.item.face_id);
    },
    kept: () => pending.delete(entry.item.face_id),
  });
}

function describe(entry) {
  const verdict = entry.body.verdict;
  if (verdict === 'person') return entry.shownName || entry.body.name || 'a person';
  return { not_face: 'not a face', unknown: 'unknown person', skip: 'skipped' }[verdict] || verdict;
}

// ------------------------------------------------------------------ keyboard

const autocomplete = new Autocomplete(el.name, el.list, { onPick: pick });
nameMode(autocomplete);

const undoLast = () => history.undoLast();
const COMMANDS = {
  Enter: accept, n: () => answer('not_face'), u: () => answer('unknown'), s: () => answer('skip'), z: undoLast,
};
// 1 to 9 take that suggestion
for (let n = 1; n <= 9; n++) COMMANDS[n] = () => pickSuggestion(n - 1);

document.addEventListener('keydown', (event) => {
  if (dialogOpen) {
    if (event.key === 'Enter') {
      event.preventDefault();
      $('confirm-yes').click();
    }
    return;
  }
  // Enter answers the face even on a focused link, as this page always has (the other pages
  // leave Enter to the link)
  if (!pageKey(event, { autocomplete, onName: acceptTyped })) return;
  if (!queue.current && event.key !== 'z') return;
  answerKey(event, { commands: COMMANDS, typeTo: el.name });
});

for (const button of document.querySelectorAll('.actions [data-action]')) {
  button.addEventListener('click', () => {
    const action = button.dataset.action;
    if (action === 'accept') accept();
    else if (action === 'undo') undoLast();
    else answer(action);
  });
}

queue.ahead = initial.items.slice();
for (const item of queue.ahead) item.fetchedAt = 0;
queue.ahead.forEach(preload);
queue.exhausted = queue.ahead.length === 0;
showNext();
window.faceloopLabel = {
  get current() { return queue.current; },
  get buffer() { return queue.ahead; },
  settled: () => history.chain,
};
