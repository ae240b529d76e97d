// "Find faces again": re-run detection on every stored photo in the background and follow the
// job here (its progress, then what changed); the jobs card shows it too.

import { api, followJob, showError } from './common.js';

const button = document.getElementById('redetect');
const progress = document.getElementById('redetect-progress');
const message = document.getElementById('redetect-message');

function show(job) {
  progress.hidden = false;
  progress.max = job.total || 1;
  progress.value = job.total ? job.done : 0;
  message.textContent = job.message;
}

function finished(job) {
  const r = job.result || {};
  if (job.status !== 'done') {
    message.textContent = `Finding faces again failed: ${job.message}`;
    return;
  }
  progress.value = progress.max;
  const parts = [
    `${r.photos} photo${r.photos === 1 ? '' : 's'} analysed again`,
    `${r.added} face${r.added === 1 ? '' : 's'} added`,
    `${r.removed} removed`,
    `${r.matched + r.kept_unmatched} kept`,
  ];
  if (r.failed) parts.push(`${r.failed} could not be read`);
  message.textContent = `${parts.join(' · ')}.`;
  message.dataset.done = 'true';
}

button?.addEventListener('click', async () => {
  button.disabled = true;
  delete message.dataset.done;
  message.textContent = 'Starting…';
  try {
    const job = await api('POST', '/photos/redetect', {});
    document.dispatchEvent(new CustomEvent('faceloop:job-started', { detail: job }));
    show(job);
    finished(await followJob(job.id, { every: 500, update: show }));
  } catch (error) {
    showError(error);
    message.textContent = error.message;
  } finally {
    button.disabled = false;
  }
});
