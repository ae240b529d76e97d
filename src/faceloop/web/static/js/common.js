// Shared by every page: the API client (with the CSRF token), its image addresses and labelling
// many faces at once, toasts, flash messages that survive a reload, counted words, local times,
// and logging out.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `request failed (${status})`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body) {
  const options = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') options.headers['X-CSRF-Token'] = csrf;
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch('/api/v1' + path, options);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { message: 'the server cannot be reached: is faceloop serve still running?' });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && data.error === 'login_required') {
      location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search);
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

// A background job that has not ended yet.
export const JOB_ACTIVE = new Set(['queued', 'running']);

// Starts a grouping run, the job the Re-cluster button starts, and tells the page's jobs card.
export async function startGrouping() {
  const job = await api('POST', '/cluster', {});
  document.dispatchEvent(new CustomEvent('faceloop:job-started', { detail: job }));
  return job;
}

// Asks for a job every `every` ms while it is queued or running, showing each such state
// (update); resolves to the job once it has ended, or to null once `wanted()` says the page
// has stopped following it.
export async function followJob(id, { every = 500, update = () => {}, wanted = () => true } = {}) {
  for (;;) {
    const job = await api('GET', `/jobs/${id}`);
    if (!wanted()) return null;
    if (!JOB_ACTIVE.has(job.status)) return job;
    update(job);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

export function csrfToken() {
  return csrf;
}

export const chipUrl = (faceId) => `/api/v1/faces/${faceId}/chip.jpg`;
export const photoUrl = (imageId, size) => `/api/v1/photos/${imageId}/image.jpg?size=${size}`;

// A face's chip as an <img> of `size` px square (faceId undefined: an empty one, filled later).
export function chipImage(faceId, size, { className = 'chip', alt = '', lazy = false } = {}) {
  const image = document.createElement('img');
  image.className = className;
  if (faceId !== undefined) image.src = chipUrl(faceId);
  image.alt = alt;
  image.width = size;
  image.height = size;
  if (lazy) image.loading = 'lazy';
  return image;
}

// A calibrated chance as a percentage; never certain: 0.999 reads ">99%", not "100%".
export function chancePercent(p) {
  if (p > 0.99) return '>99%';
  if (p < 0.01) return '<1%';
  return `${Math.round(p * 100)}%`;
}

export function plural(n, word) {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
}

export function toast(message, { kind = 'info', action = null, onAction = null, timeout = 7000 } = {}) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = document.createElement('div');
  item.className = `toast ${kind}`;
  const text = document.createElement('span');
  text.textContent = message;
  item.append(text);
  if (action && onAction) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'small';
    button.textContent = action;
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await onAction();
        item.remove();
      } catch (error) {
        text.textContent = error.message;
        item.classList.add('error');
      }
    });
    item.append(button);
  }
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'x';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.addEventListener('click', () => item.remove());
  item.append(close);
  box.append(item);
  if (timeout) setTimeout(() => item.remove(), timeout);
  return item;
}

export function showError(error) {
  if (error?.name === 'AbortError') return;
  toast(error?.message || String(error), { kind: 'error', timeout: 10000 });
}

// A message for the next page: most actions reload the page to show the new state.
export function flash(message, undo = null) {
  sessionStorage.setItem('faceloop-flash', JSON.stringify({ message, undo }));
}

// Labels faces in one batch. The server refuses (409) to name someone already labelled in the
// same photo unless told it is meant: `question(error)` asks the labeller; null if they say no.
export async function labelFaces(body, question) {
  try {
    return await api('POST', '/labels', body);
  } catch (error) {
    if (error.status !== 409) throw error;
    if (!window.confirm(question(error))) return null;
    return api('POST', '/labels', { ...body, confirm: true });
  }
}

export async function undoThing(undo) {
  if (undo.kind === 'person') return api('POST', `/person-events/${undo.id}/undo`);
  if (undo.kind === 'decision') return api('POST', `/decisions/${undo.id}/undo`);
  return api('POST', `/batches/${undo.id}/undo`);
}

function showFlash() {
  const raw = sessionStorage.getItem('faceloop-flash');
  if (!raw) return;
  sessionStorage.removeItem('faceloop-flash');
  const { message, undo } = JSON.parse(raw);
  toast(message, undo ? {
    action: 'Undo',
    onAction: async () => {
      await undoThing(undo);
      flash('Undone.');
      if (undo.next) location.replace(undo.next);
      else location.reload();
    },
  } : {});
}

function localTimes() {
  for (const node of document.querySelectorAll('time[datetime]')) {
    const when = new Date(node.getAttribute('datetime'));
    if (!Number.isNaN(when.getTime())) node.textContent = when.toLocaleString();
  }
}

document.getElementById('logout')?.addEventListener('click', async () => {
  await api('POST', '/logout').catch(() => null);
  location.href = '/login';
});

// On a phone the navigation is a strip that scrolls sideways: bring this page's tab into it
// (with the tab before it, so the strip is seen to go on both ways), unless it is in view.
function showCurrentTab() {
  const nav = document.querySelector('.topbar nav');
  const tab = nav?.querySelector('[aria-current="page"]');
  if (!tab || nav.scrollWidth <= nav.clientWidth) return;
  const start = (link) => link.offsetLeft - nav.offsetLeft;
  if (start(tab) + tab.offsetWidth <= nav.clientWidth * 0.85) return;
  const from = tab.previousElementSibling || tab;
  nav.scrollLeft = start(from) - parseFloat(getComputedStyle(nav).paddingLeft);
}

showFlash();
localTimes();
showCurrentTab();
