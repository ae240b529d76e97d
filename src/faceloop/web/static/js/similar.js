// "More like this": the unlabelled faces nearest to one face, in the groups page's grid. Take
// out the ones that are someone else, then Enter names the rest as the face's person (offered
// when the face has one) or as the name typed. The next nearest faces follow.

import { api, labelFaces, plural, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';
import { FaceGrid } from './facegrid.js';
import { History, undoBatch } from './history.js';
import { answerKey, focusName, nameMode, pageKey } from './keys.js';
import { settleOption } from './namesake.js';

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

const grid = new FaceGrid($('group-grid'), { onToggle: () => focusName(autocomplete) });
// answers here are sent one at a time, the page waiting (busy) for each: an entry is added once
// it is saved
const history = new History(el.history, {
  cover: (entry) => entry.cover,
  describe: (entry) => entry.text,
  onUndo: undoEntry,
});

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
  focusName(autocomplete);
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
    const result = await labelFaces({ face_ids: chosen, origin: 'bulk', ...body },
      (error) => `${error.message.replace(/ Send confirm=true.*$/, '')}.\n\nName them anyway?`);
    if (!result) return;
    for (const id of excluded) dismissed.add(id);
    history.add({ result, text: describe(result, chosen.length), cover: chosen[0], state: 'saved' });
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
    : { verdict: 'person', name: option.name, new_person: Boolean(option.new_person) };
  act(body, (result, n) => `${plural(n, 'face')} → ${result.person_name || option.name}`);
}

async function pick(typed) {
  const option = await settleOption(typed);
  if (!option) return;
  if (option.kind === 'person') nameAs({ person_id: option.match.person_id, name: option.match.name });
  else nameAs({ name: option.name, new_person: option.newPerson });
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

async function undoEntry(entry) {
  if (busy) return;
  busy = true;
  entry.state = 'undoing';
  history.render();
  try {
    await undoBatch(entry.result);
    entry.state = 'undone';
    await refresh();
  } catch (error) {
    entry.state = 'saved';
    showError(error);
  } finally {
    busy = false;
    history.render();
  }
}

const autocomplete = new Autocomplete(el.name, el.list, { onPick: pick });
nameMode(autocomplete);
const undo = () => history.undoLast();
const COMMANDS = { Enter: accept, y: accept, u: unknown, z: undo };

document.addEventListener('keydown', (event) => {
  if (!pageKey(event, { autocomplete, onName: accept })) return;
  if (busy) {
    event.preventDefault();
    return;
  }
  answerKey(event, { grid, commands: COMMANDS, typeTo: el.name });
});

const ACTIONS = { accept, unknown, undo };
for (const button of document.querySelectorAll('.group-answer [data-action]')) {
  button.addEventListener('click', () => ACTIONS[button.dataset.action]());
}

render();
window.faceloopSimilar = { get grid() { return grid; }, get data() { return data; } };
