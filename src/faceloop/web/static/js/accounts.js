// The accounts page: take a suggested link in one click, link an account to a person by name
// (the people autocomplete), unlink, and mark an account do-not-collect. Links are person
// events: the toast after the reload undoes them.

import { api, flash, showError, toast } from './common.js';
import { Autocomplete } from './autocomplete.js';

async function link(accountId, personId, handle, name) {
  try {
    const change = await api('POST', `/accounts/${accountId}/link`, { person_id: personId });
    flash(`${handle} is linked to ${name}.`, { kind: 'person', id: change.event_id });
    location.reload();
  } catch (error) {
    showError(error);
  }
}

document.getElementById('suggestions')?.addEventListener('click', (event) => {
  const button = event.target.closest('button.link-suggested');
  if (!button) return;
  const item = button.closest('li');
  button.disabled = true;
  link(Number(item.dataset.account), Number(item.dataset.person), item.dataset.handle, item.dataset.name);
});

const table = document.getElementById('accounts');

table?.addEventListener('click', async (event) => {
  const button = event.target.closest('button.unlink');
  if (!button) return;
  const row = button.closest('tr');
  button.disabled = true;
  try {
    const change = await api('POST', `/accounts/${row.dataset.account}/unlink`);
    flash(`${row.dataset.handle} is no longer linked to anyone.`, { kind: 'person', id: change.event_id });
    location.reload();
  } catch (error) {
    button.disabled = false;
    showError(error);
  }
});

table?.addEventListener('change', async (event) => {
  const box = event.target.closest('input.do-not-collect');
  if (!box) return;
  const row = box.closest('tr');
  box.disabled = true;
  try {
    const account = await api('POST', `/accounts/${row.dataset.account}/do-not-collect`, { value: box.checked });
    box.checked = account.do_not_collect;
    toast(account.do_not_collect
      ? `${account.handle}'s posts are skipped from now on, before any photo is fetched.`
      : `${account.handle}'s posts are collected again.`);
  } catch (error) {
    box.checked = !box.checked;
    showError(error);
  } finally {
    box.disabled = false;
  }
});

// each row's name field gets its autocomplete when first focused: a page of two hundred
// accounts need not set up two hundred
table?.addEventListener('focusin', (event) => {
  const input = event.target.closest('input.link-name');
  if (!input || input.dataset.ready) return;
  input.dataset.ready = '1';
  const row = input.closest('tr');
  const complete = new Autocomplete(input, document.getElementById(input.getAttribute('aria-controls')), {
    allowCreate: false,
    onPick: (option) => {
      complete.clear();
      link(Number(row.dataset.account), option.match.person_id, row.dataset.handle, option.match.name);
    },
  });
  input.addEventListener('keydown', async (keyEvent) => {
    if (keyEvent.key !== 'Enter' || keyEvent.isComposing) return;
    keyEvent.preventDefault();
    const option = await complete.resolve();
    if (option) complete.onPick(option);
  });
});
