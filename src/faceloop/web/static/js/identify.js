// The identify page: a photo in, boxes and names out. The photo is shown from the file itself
// (never stored); the boxes come back in its upright pixels, as the browser shows it.

import { api, showError } from './common.js';

const $ = (id) => document.getElementById(id);
const zone = $('dropzone');
const input = $('identify-file');
const options = $('identify-options');
const status = $('identify-status');
const result = $('identify-result');
const photo = $('identify-photo');
const boxes = $('identify-boxes');
const faces = $('identify-faces');
const SVG = 'http://www.w3.org/2000/svg';
let shownUrl = null;
let lastFile = null;

const percent = (score) => `${Math.round(score * 100)}%`;

async function run(file) {
  if (!file) return;
  lastFile = file;
  const form = new FormData();
  form.append('file', file, file.name);
  const data = new FormData(options);
  if (data.get('model_id')) form.append('model_id', data.get('model_id'));
  if (data.get('threshold') !== '') form.append('threshold', data.get('threshold'));
  status.textContent = `Looking for faces in ${file.name}…`;
  try {
    const found = await api('POST', '/identify', form);
    show(file, found);
  } catch (error) {
    status.textContent = '';
    result.hidden = true;
    showError(error);
  }
}

function show(file, found) {
  if (shownUrl) URL.revokeObjectURL(shownUrl);
  shownUrl = URL.createObjectURL(file);
  photo.src = shownUrl;
  const named = found.faces.filter((f) => f.person_id !== null).length;
  status.textContent = `${found.faces.length} face${found.faces.length === 1 ? '' : 's'} found, `
    + `${named} named (model ${found.model_id}, threshold ${found.threshold.toFixed(3)}).`;
  drawBoxes(found);
  listFaces(found);
  result.hidden = false;
}

function drawBoxes(found) {
  boxes.setAttribute('viewBox', `0 0 ${found.width} ${found.height}`);
  boxes.setAttribute('preserveAspectRatio', 'none');
  boxes.replaceChildren();
  const size = Math.max(12, Math.round(Math.max(found.width, found.height) / 45));
  found.faces.forEach((face, index) => {
    const { left, top, right, bottom } = face.box;
    const group = document.createElementNS(SVG, 'g');
    group.setAttribute('class', face.person_id === null ? 'unknown' : 'person');
    group.dataset.index = index;
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', left);
    rect.setAttribute('y', top);
    rect.setAttribute('width', right - left);
    rect.setAttribute('height', bottom - top);
    const label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', left);
    label.setAttribute('y', Math.max(size, top - size * 0.3));
    label.setAttribute('font-size', size);
    label.textContent = `${face.name} ${percent(face.score)}`;
    group.append(rect, label);
    boxes.append(group);
  });
}

function listFaces(found) {
  faces.replaceChildren();
  found.faces.forEach((face) => {
    const li = document.createElement('li');
    li.className = 'photo-face identify-face';
    const head = document.createElement('strong');
    head.textContent = face.person_id === null ? 'unknown' : face.name;
    const top = document.createElement('ol');
    top.className = 'candidates';
    for (const c of face.candidates) {
      const item = document.createElement('li');
      const who = c.person_id ? document.createElement('a') : document.createElement('span');
      if (c.person_id) who.href = `/people/${c.person_id}`;
      who.textContent = c.person_id ? c.name : 'other';
      const meter = document.createElement('meter');
      meter.min = 0;
      meter.max = 1;
      meter.value = c.score;
      const score = document.createElement('span');
      score.className = 'muted';
      score.textContent = percent(c.score);
      item.append(who, ' ', meter, ' ', score);
      top.append(item);
    }
    const body = document.createElement('div');
    body.className = 'face-body';
    body.append(head, top);
    li.append(body);
    faces.append(li);
  });
  if (!found.faces.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No face found in this photo.';
    faces.append(li);
  }
}

input.addEventListener('change', () => run(input.files[0]));
zone.addEventListener('click', (event) => {
  if (event.target === zone || event.target.tagName === 'P') input.click();
});
zone.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    input.click();
  }
});
zone.addEventListener('dragover', (event) => {
  event.preventDefault();
  zone.classList.add('over');
});
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (event) => {
  event.preventDefault();
  zone.classList.remove('over');
  run(event.dataTransfer.files[0]);
});
options.addEventListener('change', () => run(lastFile));
options.addEventListener('submit', (event) => event.preventDefault());
