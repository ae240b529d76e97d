// A name field that completes over people's names and aliases in any script. The server ranks
// (prefix, then word prefix, then substring, then recent use); this keeps the list, the
// keyboard and ARIA in order, and lets a caller wait for the answer to what was typed.

import { api } from './common.js';

let counter = 0;

function optionKey(option) {
  return option.kind === 'person' ? `person:${option.match.person_id}` : 'create';
}

export class Autocomplete {
  constructor(input, list, { allowCreate = true, exclude = () => [], onPick = () => {} } = {}) {
    this.input = input;
    this.list = list;
    this.allowCreate = allowCreate;
    this.exclude = exclude;
    this.onPick = onPick;
    this.options = [];
    this.active = 0;
    this.pending = null;
    this.query = null;
    this.controller = null;
    // the option the arrow keys chose, kept when the answer to what was typed arrives after
    // the keystroke, so Enter takes what the user saw selected, not the first option
    this.chosen = null;
    this.id = `ac${++counter}`;
    input.addEventListener('input', () => {
      this.chosen = null;
      this.update();
    });
    input.addEventListener('keydown', (event) => this.keydown(event));
    // closed a little after the field loses the focus (a click on an option lands first),
    // unless the focus came back meanwhile (a dialog closed, the next face shown)
    input.addEventListener('blur', () => setTimeout(() => {
      if (document.activeElement !== input) this.close();
    }, 150));
    list.addEventListener('mousedown', (event) => event.preventDefault());
    list.addEventListener('click', (event) => {
      const item = event.target.closest('[role="option"]');
      if (item) this.pick(Number(item.dataset.index));
    });
  }

  update() {
    const text = this.input.value;
    if (!text.trim()) {
      this.options = [];
      this.render();
      return Promise.resolve();
    }
    if (this.query === text && this.pending) return this.pending;
    this.controller?.abort();
    this.controller = new AbortController();
    this.query = text;
    const params = new URLSearchParams({ q: text, limit: 8 });
    const request = fetch('/api/v1/names?' + params, {
      signal: this.controller.signal,
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    })
      .then((response) => (response.ok ? response.json() : []))
      .then((matches) => {
        if (this.input.value !== text) return;
        const skip = new Set(this.exclude());
        const found = matches.filter((m) => !skip.has(m.person_id));
        this.options = found.map((m) => ({ kind: 'person', match: m }));
        const typed = text.trim().normalize('NFKC').toLowerCase();
        const exact = found.some((m) => m.name.normalize('NFKC').toLowerCase() === typed
          || (m.matched || '').normalize('NFKC').toLowerCase() === typed);
        // the name in another spelling (same_name): the person comes first, and creating a
        // second one asks (namesake.js)
        const namesake = found.find((m) => m.same_name) || null;
        if (this.allowCreate && !exact) this.options.push({ kind: 'create', name: text.trim(), namesake });
        const kept = this.chosen ? this.options.findIndex((o) => optionKey(o) === this.chosen) : -1;
        this.active = Math.max(kept, 0);
        this.render();
      })
      .catch(() => null);
    this.pending = request;
    return request;
  }

  render() {
    this.list.replaceChildren();
    this.options.forEach((option, index) => {
      const item = document.createElement('li');
      item.id = `${this.id}-${index}`;
      item.setAttribute('role', 'option');
      item.dataset.index = index;
      item.setAttribute('aria-selected', index === this.active ? 'true' : 'false');
      if (option.kind === 'person') {
        const m = option.match;
        const name = document.createElement('span');
        name.className = 'opt-name';
        name.textContent = m.name;
        item.append(name);
        const meta = document.createElement('span');
        meta.className = 'opt-meta';
        meta.textContent = [m.matched ? `“${m.matched}”` : '', `${m.faces} faces`, m.hidden ? 'hidden' : '']
          .filter(Boolean).join(' · ');
        item.append(meta);
      } else {
        item.className = 'create';
        item.textContent = `+ New person “${option.name}”`
          + (option.namesake ? ` (a second one beside ${option.namesake.name})` : '');
      }
      this.list.append(item);
    });
    const open = this.options.length > 0;
    this.list.hidden = !open;
    this.input.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) this.input.setAttribute('aria-activedescendant', `${this.id}-${this.active}`);
    else this.input.removeAttribute('aria-activedescendant');
  }

  keydown(event) {
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!this.options.length) return;
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      this.active = (this.active + step + this.options.length) % this.options.length;
      this.chosen = optionKey(this.options[this.active]);
      this.render();
    }
  }

  // The option Enter would take for what is typed now, waiting for the server if needed.
  async resolve() {
    const text = this.input.value;
    if (!text.trim()) return null;
    if (this.query !== text || this.pending) await this.update();
    return this.options[this.active] || (this.allowCreate ? { kind: 'create', name: text.trim() } : null);
  }

  pick(index) {
    const option = this.options[index];
    if (option) this.onPick(option);
  }

  clear() {
    this.controller?.abort();
    this.input.value = '';
    this.query = null;
    this.pending = null;
    this.options = [];
    this.chosen = null;
    this.render();
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
  }
}
