// Undo buttons on the activity list (and the person page's history): each takes back one
// decision or one change to a person, as a new event.

import { flash, showError, undoThing } from './common.js';

for (const button of document.querySelectorAll('.undo-entry')) {
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await undoThing({ kind: button.dataset.kind === 'person' ? 'person' : 'decision', id: button.dataset.id });
      flash('Undone.');
      location.reload();
    } catch (error) {
      showError(error);
      button.disabled = false;
    }
  });
}
