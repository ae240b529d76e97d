// The identify page: a photo in, boxes and names out. The photo is shown from the file itself
// (never stored) when the browser can show its format, else from a JPEG the server makes of it
// (PGM, HEIC, TIFF); the boxes come back in its upright pixels, as the browser shows it. Name
// tags are kept inside the photo: a small photo is scaled up, a tag is moved in from the edges
// and made smaller when it is wider than the photo.

import { ApiError, api, csrfToken, showError } from './common.js';

const $ = (id) => document.getElementById(id);
const zone = $('dropzone');
const input = $('identify-file');
const options = $('identify-options');
const status = $('identify-status');
const result = $('identify-result');
const wrap = $('identify-wrap');
const boxes = $('identify-boxes');
const faces = $('identify-faces');
const SVG = 'http://www.w3.org/2000/svg';
// formats every browser shows itself; the rest are shown through the server's JPEG
const WEB_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/bmp']);
// CSS pixels: a small photo's longest side is scaled up to this (room allowing)
const MIN_SHOWN = 360;
// CSS pixels: a tag's font size and its distance from the photo's edges
const TAG_PX = 14;
const EDGE_PX = 3;
let shownUrl = null;
let lastFile = null;
let shown = null;

const percent = (score) => `${Math.round(score * 100)}%`;

async function previewUrl(file) {
  const form = new FormData();
  form.append('file', file, file.name);
  const response = await fetch('/api/v1/identify/preview', {
    method: 'POST',
    body: form,
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrfToken(), Accept: 'image/jpeg' },
  });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return URL.createObjectURL(await response.blob());
}

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
    const [found, url] = await Promise.all([
      api('POST', '/identify', form),
      WEB_TYPES.has(file.type) ? URL.createObjectURL(file) : previewUrl(file),
    ]);
    if (file !== lastFile) return;
    show(file, found, url);
  } catch (error) {
    status.textContent = '';
    result.hidden = true;
    showError(error);
  }
}

function photoElement() {
  let photo = $('identify-photo');
  if (!photo) {
    photo = document.createElement('img');
    photo.id = 'identify-photo';
    photo.alt = 'the photo';
    // a type that claims to be a web format but does not decode: the server's JPEG instead
    photo.addEventListener('error', async () => {
      if (!lastFile || photo.dataset.fallback === 'yes') return;
      photo.dataset.fallback = 'yes';
      try {
        const url = await previewUrl(lastFile);
        if (shownUrl) URL.revokeObjectURL(shownUrl);
        shownUrl = url;
        photo.src = url;
      } catch (error) {
        showError(error);
      }
    });
    wrap.prepend(photo);
  }
  return photo;
}

function show(file, found, url) {
  if (shownUrl) URL.revokeObjectURL(shownUrl);
  shownUrl = url;
  const photo = photoElement();
  photo.dataset.fallback = 'no';
  photo.src = url;
  const named = found.faces.filter((f) => f.person_id !== null).length;
  status.textContent = `${found.faces.length} face${found.faces.length === 1 ? '' : 's'} found, `
    + `${named} named (model ${found.model_id}, threshold ${found.threshold.toFixed(3)}).`;
  result.hidden = false;
  shown = found;
  layout();
  listFaces(found);
}

// The photo at a size that fits the column and the window, keeping its shape (so the boxes,
// drawn in its pixels, stay on the faces), small photos scaled up; then the boxes and tags.
function layout() {
  if (!shown) return;
  const { width, height } = shown;
  const room = wrap.parentElement.clientWidth || width;
  const scale = Math.min(
    room / width,
    (window.innerHeight * 0.78) / height,
    Math.max(1, MIN_SHOWN / Math.max(width, height)),
  );
  const photo = photoElement();
  photo.style.width = `${Math.floor(width * scale)}px`;
  photo.style.height = `${Math.floor(height * scale)}px`;
  drawBoxes(shown, scale);
}

function drawBoxes(found, scale) {
  const { width, height } = found;
  boxes.setAttribute('viewBox', `0 0 ${width} ${height}`);
  boxes.setAttribute('preserveAspectRatio', 'none');
  boxes.replaceChildren();
  // sizes in the photo's pixels that come out the same on screen at any scale
  const unit = 1 / scale;
  const placed = [];
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
    label.style.strokeWidth = `${3 * unit}px`;
    label.textContent = `${face.name} ${percent(face.score)}`;
    group.append(rect, label);
    boxes.append(group);
    placeTag(label, face.box, width, height, TAG_PX * unit, EDGE_PX * unit, placed);
  });
}

// A tag goes above its box, else below it, else just inside its top, whichever first fits in
// the photo without covering another tag; it is moved in from the photo's edges, and made
// smaller when it is wider (or taller) than the photo.
function placeTag(label, box, width, height, size, edge, placed) {
  label.setAttribute('font-size', size);
  label.setAttribute('x', 0);
  label.setAttribute('y', 0);
  let measured = label.getBBox();
  const shrink = Math.min(1, (width - 2 * edge) / measured.width, (height - 2 * edge) / measured.height);
  if (shrink < 1) {
    label.setAttribute('font-size', size * shrink);
    measured = label.getBBox();
  }
  const w = measured.width;
  const h = measured.height;
  const left = Math.min(Math.max(box.left, edge), width - edge - w);
  const inside = (top) => top >= edge && top + h <= height - edge;
  const free = (top) => placed.every((o) => left + w <= o.left || o.left + o.w <= left
    || top + h <= o.top || o.top + o.h <= top);
  const tops = [box.top - h - edge, box.bottom + edge, box.top + edge];
  let top = tops.find((t) => inside(t) && free(t));
  if (top === undefined) top = Math.min(Math.max(tops.find(inside) ?? tops[0], edge), height - edge - h);
  placed.push({ left, top, w, h });
  label.setAttribute('x', left - measured.x);
  label.setAttribute('y', top - measured.y);
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
window.addEventListener('resize', () => requestAnimationFrame(layout));
