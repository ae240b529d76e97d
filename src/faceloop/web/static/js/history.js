// The answers given on a page, newest first, and the list that shows the last few with an Undo
// button each. An answer is sent only once those before it are done (`chain`), so the server sees
// them in the order given while the page has long moved on; undoing one waits for it to be saved
// first, since only a saved answer has a batch to withdraw.

import { api, chipImage, showError, toast } from './common.js';

const SHOWN = 8;
const KEPT = 50;
const STATES = { pending: 'saving…', saved: '', undoing: 'undoing…', undone: 'undone', failed: 'not saved' };

export const undoBatch = (result) => api('POST', `/batches/${result.batch}/undo`);

export class History {
  // cover(entry): the face whose chip stands for the entry; describe(entry): its words;
  // onUndo(entry, reshow): how the page undoes it, reshow saying whether to show it again
  constructor(list, { cover, describe, onUndo }) {
    this.list = list;
    this.cover = cover;
    this.describe = describe;
    this.onUndo = onUndo;
    this.entries = [];
    this.chain = Promise.resolve();
  }

  // Sends an answer once those before it are done. saved(result) and failed(error) are the
  // page's part; a failed answer resolves to null, so an undo after it has nothing to do.
  record(entry, send, { saved = () => {}, failed = () => {} } = {}) {
    entry.state = 'pending';
    entry.result = null;
    entry.promise = this.chain.then(send).then(
      (result) => {
        entry.result = result;
        entry.state = 'saved';
        saved(result);
        this.render();
        return result;
      },
      (error) => {
        entry.state = 'failed';
        this.render();
        failed(error);
        return null;
      },
    );
    this.chain = entry.promise.catch(() => null);
    this.add(entry);
    return entry;
  }

  add(entry) {
    this.entries.unshift(entry);
    if (this.entries.length > KEPT) this.entries.pop();
    this.render();
  }

  undoLast() {
    const entry = this.entries.find((e) => e.state === 'pending' || e.state === 'saved');
    if (entry) return this.onUndo(entry, true);
    toast('Nothing to undo on this page. Older answers can be undone from Activity.');
    return null;
  }

  // Withdraws an answer after the writes before it, undos included: two undos in a row finish
  // in the order given, so the page ends on the face or group undone last. withdraw(result)
  // asks the server (result is null if the answer failed); undone(value) and kept() are the
  // page's part when it is done.
  undo(entry, { withdraw = (result) => result && undoBatch(result), undone = () => {}, kept = () => {} } = {}) {
    entry.state = 'undoing';
    this.render();
    const work = this.chain.then(() => entry.promise).then(withdraw).then(
      (value) => {
        entry.state = 'undone';
        undone(value);
        this.render();
      },
      (error) => {
        entry.state = 'saved';
        kept();
        this.render();
        showError(error);
      },
    );
    this.chain = work.catch(() => null);
  }

  render() {
    this.list.replaceChildren(...this.entries.slice(0, SHOWN).map((entry) => this.row(entry)));
  }

  row(entry) {
    const li = document.createElement('li');
    li.className = `history-entry ${entry.state}`;
    const image = chipImage(this.cover(entry), 40, { className: 'chip tiny' });
    const text = document.createElement('span');
    text.textContent = this.describe(entry);
    const state = document.createElement('span');
    state.className = 'muted';
    state.textContent = STATES[entry.state];
    li.append(image, text, state);
    if (entry.state === 'saved' || entry.state === 'pending') {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'small';
      button.textContent = 'Undo';
      button.addEventListener('click', () => this.onUndo(entry, entry === this.entries[0]));
      li.append(button);
    }
    return li;
  }
}
