// The "Re-cluster" button: group the unlabelled faces again in the background. The jobs card
// (home.js) shows the run's progress and refreshes the page when it is done.

import { showError, startGrouping, toast } from './common.js';

const button = document.getElementById('recluster');

button?.addEventListener('click', async () => {
  button.disabled = true;
  try {
    await startGrouping();
    toast('Grouping the unlabelled faces again; the page refreshes when it is done.');
  } catch (error) {
    showError(error);
    button.disabled = false;
  }
});
