// The person page: select faces (likely mistakes are at the top), take them away or give them
// to someone else; rename, aliases, groups, hide, merge and un-merge. Every change is undoable
// from the toast that confirms it, and from the history below.

import { api, chipImage, flash, labelFaces, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';

const app = document.getElementById('person-app');
const personId = Number(app.dataset.person);
const personName = app.dataset.name;
const total = Number(app.dataset.total);
const $ = (id) => document.getElementById(id);
const grid = $('face-grid');
const selected = new Set();
let lastClicked = null;

// The address names the person shown, whatever led here.
if (location.pathname !== `/people/${personId}`) {
  history.replaceState(null, '', `/people/${personId}${location.search}${location.hash}`);
}

function reloadWith(message, undo) {
  flash(message, undo);
  location.reload();
}

async function change(path, body, message) {
  try {
    const result = await api('POST', `/people/${personId}${path}`, body);
    reloadWith(message, { kind: 'person', id: result.event_id });
  } catch (error) {
    showError(error);
  }
}

// ------------------------------------------------------------------ selection

function tiles() {
  return [...(grid?.querySelectorAll('.face-tile') || [])];
}

function setSelected(tile, on) {
  const id = Number(tile.dataset.face);
  if (on) selected.add(id);
  else selected.delete(id);
  tile.classList.toggle('selected', on);
  tile.querySelector('.tile-select').setAttribute('aria-pressed', on ? 'true' : 'false');
}

function selectionChanged() {
  const n = selected.size;
  $('selection-count').textContent = n ? `${n} selected` : 'Nothing selected';
  $('remove-selected').disabled = n === 0;
  $('cover-selected').disabled = n !== 1;
  $('reassign-name').disabled = n === 0;
}

grid?.addEventListener('click', (event) => {
  const button = event.target.closest('.tile-select');
  if (!button) return;
  const tile = button.closest('.face-tile');
  const all = tiles();
  if (event.shiftKey && lastClicked) {
    const [a, b] = [all.indexOf(lastClicked), all.indexOf(tile)].sort((x, y) => x - y);
    for (const t of all.slice(a, b + 1)) setSelected(t, true);
  } else {
    setSelected(tile, !selected.has(Number(tile.dataset.face)));
  }
  lastClicked = tile;
  selectionChanged();
});

$('select-all')?.addEventListener('click', () => {
  for (const tile of tiles()) setSelected(tile, true);
  selectionChanged();
});
$('clear-selection')?.addEventListener('click', () => {
  for (const tile of tiles()) setSelected(tile, false);
  selectionChanged();
});

function removeTiles(ids) {
  for (const tile of tiles()) {
    if (ids.includes(Number(tile.dataset.face))) tile.remove();
  }
  selected.clear();
  selectionChanged();
}

async function label(body, message) {
  const ids = [...selected];
  try {
    const result = await labelFaces({ face_ids: ids, origin: 'bulk', ...body },
      (error) => `${error.message}\n\nLabel anyway?`);
    if (!result) return;
    removeTiles(ids);
    toast(message(result, ids.length), {
      action: 'Undo',
      onAction: async () => {
        await api('POST', `/batches/${result.batch}/undo`);
        flash('Undone.');
        location.reload();
      },
    });
  } catch (error) {
    showError(error);
  }
}

function removeSelected() {
  if (!selected.size) return;
  label({ verdict: 'reject', person_id: personId },
    (_r, n) => `${n} face${n === 1 ? '' : 's'} taken away from ${personName}; they are back in the label queue.`);
}

$('remove-selected')?.addEventListener('click', removeSelected);
document.addEventListener('keydown', (event) => {
  if (event.target.closest('input, textarea, select')) return;
  if ((event.key === 'Delete' || event.key === 'Backspace') && selected.size) {
    event.preventDefault();
    removeSelected();
  } else if (event.key === 'Escape' && selected.size) {
    $('clear-selection').click();
  }
});

$('cover-selected')?.addEventListener('click', () => {
  const [faceId] = selected;
  change('/cover', { face_id: faceId }, 'Cover face chosen.');
});

const reassignInput = $('reassign-name');
if (reassignInput) {
  const reassign = new Autocomplete(reassignInput, $('reassign-list'), {
    exclude: () => [personId],
    onPick: (option) => {
      const body = option.kind === 'person'
        ? { verdict: 'person', person_id: option.match.person_id }
        : { verdict: 'person', name: option.name };
      const who = option.kind === 'person' ? option.match.name : option.name;
      reassign.clear();
      label(body, (_r, n) => `${n} face${n === 1 ? '' : 's'} given to ${who}.`);
    },
  });
  reassignInput.addEventListener('keydown', async (event) => {
    if (event.key !== 'Enter' || event.isComposing) return;
    event.preventDefault();
    const option = await reassign.resolve();
    if (option) reassign.onPick(option);
  });
}

$('more-faces')?.addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const page = await api('GET', `/people/${personId}/faces?offset=${tiles().length}&limit=200`);
    for (const face of page.faces) grid.append(tile(face));
    const left = total - tiles().length;
    if (left <= 0) button.remove();
    else button.textContent = `Show more faces (${left} left)`;
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
});

function tile(face) {
  const li = document.createElement('li');
  li.className = 'face-tile';
  li.dataset.face = face.face_id;
  li.dataset.image = face.image_id;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'tile-select';
  button.setAttribute('aria-pressed', 'false');
  button.title = `distance ${face.distance.toFixed(2)} · ${face.origin}`;
  button.append(chipImage(face.face_id, 110, { alt: `face ${face.face_id}`, lazy: true }));
  const link = document.createElement('a');
  link.className = 'tile-photo';
  link.href = `/photos/${face.image_id}#face-${face.face_id}`;
  link.textContent = 'photo';
  const similar = document.createElement('a');
  similar.className = 'tile-similar';
  similar.href = `/similar/${face.face_id}`;
  similar.title = 'The unlabelled faces nearest to this one';
  similar.textContent = 'more like this';
  const distance = document.createElement('span');
  distance.className = 'dist';
  distance.textContent = face.distance.toFixed(2);
  li.append(button, link, similar, distance);
  return li;
}

// ------------------------------------------------------------------ the person

$('rename')?.addEventListener('click', () => {
  const heading = $('person-name');
  const form = document.createElement('form');
  form.className = 'inline-form';
  const input = document.createElement('input');
  input.value = personName;
  input.maxLength = 200;
  input.setAttribute('aria-label', 'New name');
  const save = document.createElement('button');
  save.textContent = 'Save';
  save.className = 'small primary';
  form.append(input, save);
  heading.replaceWith(form);
  input.focus();
  input.select();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    change('/rename', { name: input.value }, `Renamed to ${input.value.trim()}.`);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') location.reload();
  });
});

$('alias-form')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const alias = $('alias-input').value;
  change('/aliases', { alias }, `Alias ${alias.trim()} added.`);
});
for (const button of document.querySelectorAll('.remove-alias')) {
  button.addEventListener('click', () => change('/aliases/remove', { alias: button.dataset.alias }, `Alias ${button.dataset.alias} removed.`));
}
$('tag-form')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const tag = $('tag-input').value;
  change('/tags', { tag }, `Added to ${tag.trim()}.`);
});
for (const button of document.querySelectorAll('.remove-tag')) {
  button.addEventListener('click', () => change('/tags/remove', { tag: button.dataset.tag }, `Removed from ${button.dataset.tag}.`));
}
$('tag-input')?.addEventListener('focus', async () => {
  const list = $('tag-options');
  if (list.childElementCount) return;
  const tags = await api('GET', '/tags').catch(() => []);
  for (const tag of tags) {
    const option = document.createElement('option');
    option.value = tag;
    list.append(option);
  }
}, { once: true });

$('hide')?.addEventListener('click', (event) => {
  const hidden = event.currentTarget.dataset.hidden === 'true';
  change('/hide', { hidden: !hidden }, hidden ? `${personName} is shown again.` : `${personName} is hidden from lists and suggestions.`);
});

async function unmerge(id, name) {
  try {
    const result = await api('POST', `/people/${id}/unmerge`);
    flash(`${name} is separate again, with exactly the faces they had.`, { kind: 'person', id: result.event_id });
    location.href = `/people/${id}`;
  } catch (error) {
    showError(error);
  }
}

$('unmerge-self')?.addEventListener('click', () => unmerge(personId, personName));
for (const button of document.querySelectorAll('.unmerge')) {
  button.addEventListener('click', () => unmerge(Number(button.dataset.id), button.dataset.name));
}

const mergeInput = $('merge-name');
if (mergeInput) {
  const merge = new Autocomplete(mergeInput, $('merge-list'), {
    allowCreate: false,
    exclude: () => [personId],
    onPick: async (option) => {
      const target = option.match;
      merge.clear();
      if (!window.confirm(`Merge ${personName} into ${target.name}? ${personName}'s faces, names and aliases will count as ${target.name}'s. You can un-merge at any time.`)) return;
      try {
        const result = await api('POST', `/people/${personId}/merge`, { into_id: target.person_id });
        // undoing the merge from the toast comes back here, to the person split off again
        flash(`${personName} merged into ${result.person.name}.`,
          { kind: 'person', id: result.event_id, next: `/people/${personId}` });
        location.href = `/people/${result.person.id}`;
      } catch (error) {
        showError(error);
      }
    },
  });
  mergeInput.addEventListener('keydown', async (event) => {
    if (event.key !== 'Enter' || event.isComposing) return;
    event.preventDefault();
    const option = await merge.resolve();
    if (option) merge.onPick(option);
  });
}

for (const button of document.querySelectorAll('.unlink-account')) {
  button.addEventListener('click', async () => {
    const item = button.closest('li');
    button.disabled = true;
    try {
      const change = await api('POST', `/accounts/${item.dataset.account}/unlink`);
      reloadWith(`${item.dataset.handle} is no longer linked to ${personName}.`, { kind: 'person', id: change.event_id });
    } catch (error) {
      button.disabled = false;
      showError(error);
    }
  });
}
