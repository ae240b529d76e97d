// The export page: the preview follows the options; Download checks them first, so a mistake
// shows here instead of as a JSON page, then lets the browser fetch the ZIP and says when it
// arrived.
import { api, showError } from './common.js';

const form = document.getElementById('export-form');
const status = document.getElementById('export-status');
const problem = document.getElementById('export-problem');
const preview = document.getElementById('export-preview');
let pending = null;

function query() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) {
    if (key === 'people') {
      for (const line of value.split('\n')) if (line.trim()) params.append('people', line.trim());
    } else if (value !== '') {
      params.append(key, value);
    }
  }
  return params.toString();
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.append(td);
}

function show(plan) {
  problem.hidden = true;
  preview.hidden = false;
  const s = plan.per_split;
  document.getElementById('export-totals').textContent =
    `${plan.faces.toLocaleString()} faces of ${plan.people} people (${s.train} train, ` +
    `${s.validation} validation, ${s.test} test), from ${plan.labelled.toLocaleString()} labelled faces.`;
  const notes = document.getElementById('export-notes');
  notes.replaceChildren(...plan.notes.map((note) => {
    const li = document.createElement('li');
    li.textContent = note;
    return li;
  }));
  const body = document.getElementById('export-labels');
  body.replaceChildren(...plan.labels.map((label) => {
    const row = document.createElement('tr');
    cell(row, label.label);
    cell(row, label.label ? label.name : 'other (not a target)');
    cell(row, label.train);
    cell(row, label.validation);
    cell(row, label.test);
    return row;
  }));
}

async function check() {
  try {
    const plan = await api('GET', '/export/preview?' + query());
    show(plan);
    return true;
  } catch (error) {
    if (error.status === 422) {
      preview.hidden = true;
      problem.hidden = false;
      problem.textContent = error.message;
    } else {
      showError(error);
    }
    return false;
  }
}

form.addEventListener('input', () => {
  clearTimeout(pending);
  pending = setTimeout(check, 300);
});

// The ZIP is fetched by a hidden frame, so an error answer stays on this page; the server
// marks the start of the download with a cookie named by this download's token, which is how
// the page knows to replace "Preparing…" with the file's name.
const COOKIE = 'faceloop_download_';
const WATCH_MS = 250;
let frame = null;
let watching = null;

function token() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function cookie(name) {
  const found = document.cookie.split('; ').find((part) => part.startsWith(name + '='));
  return found === undefined ? null : decodeURIComponent(found.slice(name.length + 1));
}

function stopWatching() {
  clearInterval(watching);
  watching = null;
}

function download(url, id) {
  stopWatching();
  frame?.remove();
  frame = document.createElement('iframe');
  frame.hidden = true;
  frame.title = 'download';
  // a frame only loads a page when the answer is not a download: an error
  frame.addEventListener('load', () => {
    stopWatching();
    let message = 'the download failed';
    try {
      message = JSON.parse(frame.contentDocument.body.innerText).message || message;
    } catch { /* not JSON: keep the general message */ }
    status.textContent = '';
    problem.hidden = false;
    problem.textContent = message;
  });
  watching = setInterval(() => {
    const name = cookie(COOKIE + id);
    if (name === null) return;
    stopWatching();
    document.cookie = `${COOKIE}${id}=; max-age=0; path=/; samesite=strict`;
    status.textContent = `Downloaded ${name}.`;
  }, WATCH_MS);
  frame.src = url;
  document.body.append(frame);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  status.textContent = 'Checking the options…';
  if (!(await check())) {
    status.textContent = '';
    return;
  }
  status.textContent = 'Preparing the download: a large dataset takes a while before it starts.';
  const id = token();
  download(`/api/v1/export?${query()}&download=${id}`, id);
});
