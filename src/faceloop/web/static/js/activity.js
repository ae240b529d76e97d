// Undo buttons on the activity list (and the person page's history): each takes back one
// decision or one change to a person, as a new event.
//
// The activity page does not reload after an undo, and rows never move under the pointer: the
// row undone is marked where it is, and new rows (the undo itself, answers given on other pages)
// are held behind a "N new — show" bar while the pointer is on the list or the page is scrolled;
// otherwise they are put at the top at once. The bar's place is kept even while it is empty, so
// it showing up moves nothing.

import { flash, showError, toast, undoThing } from './common.js';

const POLL = 5000;
const app = document.getElementById('activity-app');
const list = app?.querySelector('.activity-list');
const bar = document.getElementById('show-new');
const held = [];

const key = (li) => `${li.dataset.kind}:${li.dataset.id}`;
// what may change in a row that stays: undone or not, with an Undo button or not
const state = (li) => `${li.className}|${Boolean(li.querySelector('.undo-entry'))}`;

function localTimes(root) {
  for (const node of root.querySelectorAll('time[datetime]')) {
    const when = new Date(node.getAttribute('datetime'));
    if (!Number.isNaN(when.getTime())) node.textContent = when.toLocaleString();
  }
}

// The newest rows as the server has them now (with the page's filters).
async function newest() {
  const params = new URLSearchParams(location.search);
  params.delete('before');
  params.set('rows', 'true');
  const response = await fetch(`/activity?${params}`, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`the activity could not be read (${response.status})`);
  const template = document.createElement('template');
  template.innerHTML = await response.text();
  return [...template.content.querySelectorAll('.activity-entry')];
}

async function refresh() {
  const rows = await newest();
  const shown = new Map([...list.querySelectorAll('.activity-entry')].map((li) => [key(li), li]));
  const waiting = new Map(held.map((li, index) => [key(li), index]));
  const fresh = [];
  for (const row of rows) {
    localTimes(row);
    const old = shown.get(key(row));
    if (old) {
      if (state(old) !== state(row)) old.replaceWith(row);
    } else if (waiting.has(key(row))) {
      held[waiting.get(key(row))] = row;
    } else {
      fresh.push(row);
    }
  }
  held.unshift(...fresh);
  if (held.length && !list.matches(':hover') && window.scrollY === 0) showHeld();
  else renderBar();
}

function renderBar() {
  bar.hidden = held.length === 0;
  bar.textContent = `${held.length} new — show`;
}

function showHeld() {
  list.querySelector('.empty')?.remove();
  list.prepend(...held.splice(0));
  renderBar();
}

// A row undone off the live page (an older page) is marked where it is.
function markUndone(button) {
  const row = button.closest('.activity-entry');
  row?.classList.add('undone');
  button.remove();
}

async function undo(button) {
  button.disabled = true;
  try {
    await undoThing({ kind: button.dataset.kind === 'person' ? 'person' : 'decision', id: button.dataset.id });
  } catch (error) {
    showError(error);
    button.disabled = false;
    return;
  }
  if (!app) {
    flash('Undone.');
    if (button.dataset.next) location.replace(button.dataset.next);
    else location.reload();
    return;
  }
  toast('Undone.', { timeout: 3000 });
  if (app.dataset.live !== 'true') {
    markUndone(button);
    return;
  }
  try {
    await refresh();
  } catch (error) {
    markUndone(button);
    showError(error);
  }
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('.undo-entry');
  if (button && !button.disabled) undo(button);
});

if (app && list && app.dataset.live === 'true') {
  bar.addEventListener('click', showHeld);
  const poll = () => refresh().catch(() => null).finally(() => setTimeout(poll, POLL));
  setTimeout(poll, POLL);
}

window.faceloopActivity = { held, refresh };
