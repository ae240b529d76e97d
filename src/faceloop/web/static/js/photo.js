// The photo page: every face with its label; name, reject or undo each; draw a box around a
// face the detector missed (it is embedded like the others and can be named at once).

import { api, flash, showError } from './common.js';
import { Autocomplete } from './autocomplete.js';

const app = document.getElementById('photo-app');
const imageId = Number(app.dataset.image);
const width = Number(app.dataset.width);
const height = Number(app.dataset.height);
const $ = (id) => document.getElementById(id);
const svg = $('boxes');
const drawing = $('drawing');
const drawButton = $('draw');
let drawMode = false;
let start = null;

function reloadWith(message, undo, anchor = '') {
  flash(message, undo);
  if (anchor) {
    location.hash = anchor;
  }
  location.reload();
}

async function labelFace(faceId, body, message) {
  try {
    let result;
    try {
      result = await api('POST', `/faces/${faceId}/label`, body);
    } catch (error) {
      if (error.status !== 409) throw error;
      if (!window.confirm(`${error.message}\n\nLabel anyway?`)) return;
      result = await api('POST', `/faces/${faceId}/label`, { ...body, confirm: true });
    }
    reloadWith(message(result), { kind: 'batch', id: result.batch });
  } catch (error) {
    showError(error);
  }
}

for (const item of document.querySelectorAll('.photo-face')) {
  const faceId = Number(item.dataset.face);
  const input = item.querySelector('.face-name');
  const list = item.querySelector('.name-list');
  const complete = new Autocomplete(input, list, {
    onPick: (option) => {
      const body = option.kind === 'person'
        ? { verdict: 'person', person_id: option.match.person_id }
        : { verdict: 'person', name: option.name };
      labelFace(faceId, body, (r) => `Face named ${r.person_name}.`);
    },
  });
  input.addEventListener('keydown', async (event) => {
    if (event.key !== 'Enter' || event.isComposing) return;
    event.preventDefault();
    const option = await complete.resolve();
    if (option) complete.onPick(option);
  });
  item.querySelector('.not-face')?.addEventListener('click', () => labelFace(faceId, { verdict: 'not_face' }, () => 'Marked as not a face.'));
  item.querySelector('.unknown')?.addEventListener('click', () => labelFace(faceId, { verdict: 'unknown' }, () => 'Marked as an unknown person.'));
  item.querySelector('.undo-label')?.addEventListener('click', async () => {
    try {
      await api('POST', `/decisions/${item.dataset.decision}/undo`);
      reloadWith('The label was taken back.');
    } catch (error) {
      showError(error);
    }
  });
  const box = svg.querySelector(`g[data-face="${faceId}"]`);
  for (const [a, b] of [[item, box], [box, item]]) {
    a?.addEventListener('mouseenter', () => { b?.classList.add('hover'); a.classList.add('hover'); });
    a?.addEventListener('mouseleave', () => { b?.classList.remove('hover'); a.classList.remove('hover'); });
  }
  box?.addEventListener('click', () => {
    if (drawMode) return;
    item.scrollIntoView({ block: 'nearest' });
    input.focus();
  });
}

// ------------------------------------------------------------------ drawing a missed face

function setDrawMode(on) {
  drawMode = on;
  drawButton?.setAttribute('aria-pressed', on ? 'true' : 'false');
  if (drawButton) drawButton.textContent = on ? 'Cancel drawing' : 'Add a missed face';
  $('draw-help').hidden = !on;
  svg.classList.toggle('drawing-mode', on);
  if (!on) {
    start = null;
    drawing.setAttribute('visibility', 'hidden');
  }
}

function toImage(event) {
  const rect = svg.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * width;
  const y = ((event.clientY - rect.top) / rect.height) * height;
  return [Math.max(0, Math.min(width, x)), Math.max(0, Math.min(height, y))];
}

function boxFrom(a, b) {
  const left = Math.round(Math.min(a[0], b[0]));
  const top = Math.round(Math.min(a[1], b[1]));
  const right = Math.round(Math.max(a[0], b[0]));
  const bottom = Math.round(Math.max(a[1], b[1]));
  return { left, top, right, bottom };
}

drawButton?.addEventListener('click', () => setDrawMode(!drawMode));
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && drawMode) setDrawMode(false);
});

svg.addEventListener('pointerdown', (event) => {
  if (!drawMode) return;
  event.preventDefault();
  svg.setPointerCapture(event.pointerId);
  start = toImage(event);
  drawing.setAttribute('visibility', 'visible');
  drawing.setAttribute('x', start[0]);
  drawing.setAttribute('y', start[1]);
  drawing.setAttribute('width', 0);
  drawing.setAttribute('height', 0);
});

svg.addEventListener('pointermove', (event) => {
  if (!drawMode || !start) return;
  const box = boxFrom(start, toImage(event));
  drawing.setAttribute('x', box.left);
  drawing.setAttribute('y', box.top);
  drawing.setAttribute('width', box.right - box.left);
  drawing.setAttribute('height', box.bottom - box.top);
});

svg.addEventListener('pointerup', async (event) => {
  if (!drawMode || !start) return;
  const box = boxFrom(start, toImage(event));
  start = null;
  if (box.right - box.left < 8 || box.bottom - box.top < 8) {
    drawing.setAttribute('visibility', 'hidden');
    return;
  }
  svg.classList.add('busy');
  try {
    const result = await api('POST', `/photos/${imageId}/faces`, box);
    setDrawMode(false);
    flash('Face added: name it below, or leave it for the label queue.');
    location.hash = `face-${result.face_id}`;
    location.reload();
  } catch (error) {
    showError(error);
    drawing.setAttribute('visibility', 'hidden');
  } finally {
    svg.classList.remove('busy');
  }
});

const target = location.hash.match(/^#face-(\d+)$/);
if (target) {
  const item = document.getElementById(`face-${target[1]}`);
  item?.classList.add('hover');
  item?.querySelector('.face-name')?.focus();
}
