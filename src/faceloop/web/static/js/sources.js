// The sources page: add a source with the fields its kind needs (the kind's refusal shown in
// its own words), pause or resume, run now (a collect job, followed by the jobs card), remove.

import { api, flash, showError, toast } from './common.js';

const $ = (id) => document.getElementById(id);
const form = $('add-source');
const kindSelect = $('source-kind');
const problem = $('add-error');

function showKind() {
  for (const set of form.querySelectorAll('fieldset.kind-fields')) {
    const on = set.dataset.kind === kindSelect.value;
    set.hidden = !on;
    set.disabled = !on;
  }
  problem.hidden = true;
}

kindSelect.addEventListener('change', showKind);
showKind();

function fieldsOf(kind) {
  const body = { kind };
  const set = form.querySelector(`fieldset.kind-fields[data-kind="${CSS.escape(kind)}"]`);
  for (const input of set.querySelectorAll('input[name]')) {
    const value = input.value.trim();
    if (!value) continue;
    body[input.name] = input.type === 'number' ? Number(value) : value;
  }
  if (body.target === undefined) body.target = '';
  return body;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('add-button');
  button.disabled = true;
  problem.hidden = true;
  try {
    const source = await api('POST', '/sources', fieldsOf(kindSelect.value));
    flash(`Added ${source.kind} source ${source.name}: collected ${source.state}.`);
    location.reload();
  } catch (error) {
    problem.textContent = error.message;
    problem.hidden = false;
  } finally {
    button.disabled = false;
  }
});

async function act(row, action) {
  const id = row.dataset.source;
  const name = row.dataset.name;
  try {
    if (action === 'remove') {
      if (!window.confirm(`Remove the source ${name}? Collection from it stops for good; the photos, faces and labels it brought stay.`)) return;
      await api('POST', `/sources/${id}/remove`);
      flash(`Removed ${name}; what it brought stays.`);
      location.reload();
    } else if (action === 'run') {
      const job = await api('POST', `/sources/${id}/run`);
      toast(`Collecting ${name} now (job #${job.id}).`);
      document.dispatchEvent(new CustomEvent('faceloop:job-started', { detail: job }));
    } else {
      const paused = row.dataset.paused === 'true';
      await api('POST', `/sources/${id}/${paused ? 'resume' : 'pause'}`);
      flash(paused ? `${name} is collected on its schedule again.` : `${name} is paused; it keeps its place.`);
      location.reload();
    }
  } catch (error) {
    showError(error);
  }
}

$('sources')?.addEventListener('click', (event) => {
  const button = event.target.closest('button');
  const row = button?.closest('tr[data-source]');
  if (!row) return;
  if (button.classList.contains('remove')) act(row, 'remove');
  else if (button.classList.contains('run-now')) act(row, 'run');
  else if (button.classList.contains('toggle-pause')) act(row, 'pause');
});
