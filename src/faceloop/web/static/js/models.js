// The models page: "Train now" queues a run; the jobs list (home.js, shared with the home
// page) follows it and reloads the page when it is done, showing the new model.

import { api, showError, toast } from './common.js';

const form = document.getElementById('train-form');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const button = document.getElementById('train-now');
  button.disabled = true;
  try {
    const job = await api('POST', '/train', {
      kind: data.get('kind'),
      min_per_class: Number(data.get('min_per_class')),
      other_ratio: Number(data.get('other_ratio')),
    });
    document.dispatchEvent(new CustomEvent('faceloop:job-started', { detail: job }));
    toast(job.status === 'running'
      ? `A training run is already going (job #${job.id}); the page refreshes when it is done.`
      : `Training queued (job #${job.id}); the page refreshes when it is done.`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
});
