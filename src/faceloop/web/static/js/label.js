// The label page: one face at a time, keyboard first, never waiting.
//
// Several faces are fetched ahead (with their chips and photos preloaded), so after a keypress
// the next face shows at once; answers go to the server in order in the background, and a
// failed one brings its face back. Undo (z) shows the last face again at once and withdraws its
// answer as soon as that answer has been saved.

import { api, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';

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

let buffer = [];
let current = null;
let remaining = initial.remaining;
let fetching = null;
let exhausted = false;
let chain = Promise.resolve();
let dialogOpen = false;
let retry = null;
let namedCount = 0; // answers naming a person so far: suggestions fetched before one are stale
const pending = new Set();
const history = [];
const labelsHere = new Map(); // image id -> Map(face id -> person id), answers made on this page
const preloaded = new Map();

const chipUrl = (item) => `/api/v1/faces/${item.face_id}/chip.jpg`;
const photoUrl = (item) => `/api/v1/photos/${item.image_id}/image.jpg?size=${PHOTO_SIZE}`;

function preload(item) {
  for (const url of [chipUrl(item), photoUrl(item)]) {
    if (preloaded.has(url)) continue;
    const image = new Image();
    image.decoding = 'async';
    image.src = url;
    preloaded.set(url, image);
    if (preloaded.size > 200) preloaded.delete(preloaded.keys().next().value);
  }
}

function known(faceId) {
  return pending.has(faceId) || buffer.some((i) => i.face_id === faceId)
    || current?.face_id === faceId;
}

function refill() {
  if (fetching || exhausted || buffer.length >= LOW_WATER) return fetching;
  const params = new URLSearchParams({ limit: BATCH });
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  for (const id of pending) params.append('exclude', id);
  for (const item of buffer) params.append('exclude', item.face_id);
  if (current) params.append('exclude', current.face_id);
  fetching = api('GET', '/queue?' + params)
    .then((page) => {
      remaining = page.remaining;
      const fresh = page.items.filter((item) => !known(item.face_id));
      for (const item of fresh) item.fetchedAt = namedCount;
      fresh.forEach(preload);
      buffer.push(...fresh);
      exhausted = fresh.length === 0;
    })
    .catch(showError)
    .finally(() => {
      fetching = null;
      if (!current) showNext();
      else showRemaining();
    });
  return fetching;
}

function showRemaining() {
  el.remaining.textContent = Math.max(0, remaining).toLocaleString();
}

function showNext() {
  current = buffer.shift() || null;
  render();
  refill();
}

function render() {
  showRemaining();
  if (!current) {
    el.question.hidden = true;
    el.empty.hidden = fetching !== null && !exhausted;
    if (fetching) fetching.then(() => { if (!current) el.empty.hidden = false; });
    clearTimeout(retry);
    retry = setTimeout(() => {
      exhausted = false;
      if (!current) refill();
    }, 5000);
    return;
  }
  el.empty.hidden = true;
  el.question.hidden = false;
  const item = current;
  el.chip.src = chipUrl(item);
  el.chip.alt = `face ${item.face_id}`;
  el.caption.textContent = `face ${item.face_id}` + (item.skipped ? ' · skipped before' : '');
  el.photo.src = photoUrl(item);
  el.photoLink.href = `/photos/${item.image_id}#face-${item.face_id}`;
  $('more-like-this').href = `/similar/${item.face_id}`;
  el.folder.textContent = item.folder || '';
  drawBoxes(item);
  renderOthers(item);
  renderSuggestions(item);
  autocomplete.clear();
  el.name.focus({ preventScroll: true });
  if ((item.fetchedAt ?? 0) < namedCount) refreshSuggestions(item);
}

// Suggestions come from the people labelled so far: a face fetched ahead, before the last
// names were given, gets fresh ones once the answers before it are saved.
function refreshSuggestions(item) {
  item.fetchedAt = namedCount;
  chain.then(() => api('GET', `/faces/${item.face_id}`)).then((fresh) => {
    item.suggestions = fresh.suggestions;
    item.others = fresh.others;
    if (current === item) {
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
    const image = document.createElement('img');
    image.className = 'chip small';
    image.src = `/api/v1/faces/${face.face_id}/chip.jpg`;
    image.alt = `another face in the photo`;
    image.width = 64;
    image.height = 64;
    image.loading = 'lazy';
    const caption = document.createElement('figcaption');
    caption.textContent = face.name || (face.verdict ? face.verdict.replace('_', ' ') : 'not labelled');
    figure.append(image, caption);
    el.others.append(figure);
  }
}

function renderSuggestions(item) {
  el.suggestions.replaceChildren();
  item.suggestions.forEach((s, index) => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'suggestion' + (s.in_photo ? ' in-photo' : '');
    button.dataset.index = index;
    const key = document.createElement('kbd');
    key.textContent = index + 1;
    const name = document.createElement('span');
    name.className = 'sname';
    name.textContent = s.name;
    const why = document.createElement('small');
    why.textContent = s.reason === 'hint' ? 'folder hint'
      : s.reason === 'model' ? `model ${Math.round((s.score || 0) * 100)}%`
        : `distance ${s.distance?.toFixed(2)}`;
    if (s.in_photo) why.textContent += ' · already in this photo';
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
      el.name.focus({ preventScroll: true });
      resolve(answer);
    };
    $('confirm-yes').onclick = () => finish(true);
    $('confirm-no').onclick = () => finish(false);
    el.dialog.oncancel = (event) => { event.preventDefault(); finish(false); };
  });
}

async function answer(verdict, extra = {}, shownName = '') {
  const item = current;
  if (!item) return;
  if (verdict === 'person' && extra.person_id && !extra.confirm && conflict(item, extra.person_id)) {
    if (!(await confirmSamePerson(shownName))) return;
    extra = { ...extra, confirm: true };
  }
  const body = { verdict, ...extra };
  const entry = { item, body, shownName, state: 'pending', result: null };
  pending.add(item.face_id);
  entry.promise = chain.then(() => api('POST', `/faces/${item.face_id}/label`, body)).then(
    (result) => {
      entry.result = result;
      entry.state = 'saved';
      if (result.verdict === 'person') {
        if (!labelsHere.has(item.image_id)) labelsHere.set(item.image_id, new Map());
        labelsHere.get(item.image_id).set(item.face_id, result.person_id);
        entry.shownName = result.person_name;
      }
      pending.delete(item.face_id);
      renderHistory();
      return result;
    },
    (error) => {
      entry.state = 'failed';
      pending.delete(item.face_id);
      renderHistory();
      bringBack(item);
      if (error.status === 409 && verdict === 'person') {
        // someone (or another tab) named this person on another face of the photo meanwhile
        confirmSamePerson(shownName).then((yes) => {
          if (yes && current === item) answer(verdict, { ...extra, confirm: true }, shownName);
        });
      } else {
        showError(error);
      }
      return null;
    },
  );
  chain = entry.promise.catch(() => null);
  history.unshift(entry);
  if (history.length > 50) history.pop();
  if (verdict === 'person') namedCount += 1;
  if (verdict !== 'skip') remaining -= 1;
  renderHistory();
  showNext();
}

function bringBack(item) {
  if (current) buffer.unshift(current);
  current = item;
  render();
}

function pickSuggestion(index) {
  const suggestion = current?.suggestions[index];
  if (!suggestion) return;
  answer('person', { person_id: suggestion.person_id, origin: 'suggestion' }, suggestion.name);
}

async function acceptTyped() {
  const option = await autocomplete.resolve();
  if (!option) return;
  if (option.kind === 'person') {
    answer('person', { person_id: option.match.person_id, origin: 'manual' }, option.match.name);
  } else {
    answer('person', { name: option.name, origin: 'manual' }, option.name);
  }
}

function accept() {
  if (el.name.value.trim()) acceptTyped();
  else if (current?.suggestions.length) pickSuggestion(0);
  else toast('Type a name, or press n, u or s.');
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
  if (reshow) {
    if (current) buffer.unshift(current);
    current = entry.item;
    render();
  }
  if (entry.body.verdict !== 'skip') remaining += 1;
  showRemaining();
  pending.add(entry.item.face_id);
  const work = entry.promise.then((result) => {
    if (!result) return null;
    return api('POST', `/batches/${result.batch}/undo`);
  }).then(
    () => {
      entry.state = 'undone';
      labelsHere.get(entry.item.image_id)?.delete(entry.item.face_id);
      pending.delete(entry.item.face_id);
      renderHistory();
    },
    (error) => {
      entry.state = 'saved';
      pending.delete(entry.item.face_id);
      renderHistory();
      showError(error);
    },
  );
  chain = chain.then(() => work).catch(() => null);
  renderHistory();
}

function describe(entry) {
  const verdict = entry.body.verdict;
  if (verdict === 'person') return entry.shownName || entry.body.name || 'a person';
  return { not_face: 'not a face', unknown: 'unknown person', skip: 'skipped' }[verdict] || verdict;
}

function renderHistory() {
  el.history.replaceChildren();
  for (const entry of history.slice(0, 8)) {
    const li = document.createElement('li');
    li.className = `history-entry ${entry.state}`;
    const image = document.createElement('img');
    image.className = 'chip tiny';
    image.src = chipUrl(entry.item);
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

const autocomplete = new Autocomplete(el.name, el.list, {
  onPick: (option) => {
    if (option.kind === 'person') {
      answer('person', { person_id: option.match.person_id, origin: 'manual' }, option.match.name);
    } else {
      answer('person', { name: option.name, origin: 'manual' }, option.name);
    }
  },
});

const COMMANDS = { n: () => answer('not_face'), u: () => answer('unknown'), s: () => answer('skip'), z: undoLast };

document.addEventListener('keydown', (event) => {
  if (dialogOpen) {
    if (event.key === 'Enter') {
      event.preventDefault();
      $('confirm-yes').click();
    }
    return;
  }
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
  if (!current && event.key !== 'z') return;
  if (event.key === 'Enter') {
    event.preventDefault();
    accept();
  } else if (COMMANDS[event.key]) {
    event.preventDefault();
    COMMANDS[event.key]();
  } else if (/^[1-9]$/.test(event.key)) {
    event.preventDefault();
    pickSuggestion(Number(event.key) - 1);
  } else if (!inName && event.key.length === 1 && !event.repeat) {
    el.name.focus({ preventScroll: true });
  }
});

for (const button of document.querySelectorAll('.actions [data-action]')) {
  button.addEventListener('click', () => {
    const action = button.dataset.action;
    if (action === 'accept') accept();
    else if (action === 'undo') undoLast();
    else answer(action);
  });
}

buffer = initial.items.slice();
for (const item of buffer) item.fetchedAt = 0;
buffer.forEach(preload);
exhausted = buffer.length === 0;
showNext();
window.faceloopLabel = { get current() { return current; }, get buffer() { return buffer; }, settled: () => chain };
