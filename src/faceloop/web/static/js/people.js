// The people list: add a person by name.

import { api, flash, showError } from './common.js';

document.getElementById('new-person')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = document.getElementById('new-name').value;
  try {
    const person = await api('POST', '/people', { name });
    flash(`${person.name} added.`);
    location.href = `/people/${person.id}`;
  } catch (error) {
    showError(error);
  }
});
