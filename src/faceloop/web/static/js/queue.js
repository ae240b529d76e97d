// What a keyboard-first page shows next: the question shown now (`current`) and a few fetched
// ahead of it, so that after an answer the next one shows at once, without a request awaited.
//
// The page says how to fetch more (`load`, which resolves to the new units, leaving out those
// the page holds already, or to null when the server has none left) and what to do after each
// fetch (`loaded`). One fetch runs at a time; once the server has nothing left the queue stops
// asking until it is told to try again, so an empty page does not poll in a tight loop.

import { showError } from './common.js';

export class Queue {
  // low: fetch more while fewer than this many are ahead; retryAfterError: after a failed fetch,
  // stop asking for that long (ms) rather than at once, so a server that is down is not asked in
  // a tight loop (0: ask again at the next chance)
  constructor({ low, load, loaded = () => {}, retryAfterError = 5000 }) {
    this.low = low;
    this.load = load;
    this.loaded = loaded;
    this.retryAfterError = retryAfterError;
    this.current = null;
    this.ahead = [];
    this.fetching = null;
    this.exhausted = false;
    this.timer = null;
  }

  // Whether more may be coming: the empty state waits for the fetch under way.
  get loading() {
    return this.fetching !== null && !this.exhausted;
  }

  refill() {
    if (this.fetching || this.exhausted || this.ahead.length >= this.low) return this.fetching;
    this.fetching = this.load()
      .then((fresh) => {
        if (fresh === null) this.exhausted = true;
        else this.ahead.push(...fresh);
      })
      .catch((error) => {
        showError(error);
        if (this.retryAfterError) {
          this.exhausted = true;
          this.retryIn(this.retryAfterError);
        }
      })
      .finally(() => {
        this.fetching = null;
        this.loaded();
      });
    return this.fetching;
  }

  // Asks the server again after a pause: what it had no more of may have come meanwhile (a model
  // trained, an answer undone elsewhere). whileEmpty: only if nothing is shown by then.
  retryIn(ms, { whileEmpty = false } = {}) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.exhausted = false;
      if (!whileEmpty || !this.current) this.refill();
    }, ms);
  }

  // The ids the page holds, shown or ahead (idsOf: a unit's ids), with `also`: the server is
  // asked to leave them out, and what it sends anyway is dropped.
  held(idsOf, also = []) {
    const ids = new Set(also);
    for (const unit of [this.current, ...this.ahead]) {
      if (unit) for (const id of idsOf(unit)) ids.add(id);
    }
    return ids;
  }

  next() {
    this.current = this.ahead.shift() || null;
    return this.current;
  }

  // Shows the next unit (show(null): the empty state), then fetches to stay ahead.
  advance(show) {
    show(this.next());
    this.refill();
  }

  // A unit shown again (its answer failed or was undone) goes first; the one it replaces is next.
  bringBack(unit) {
    if (this.current && this.current !== unit) this.ahead.unshift(this.current);
    this.current = unit;
  }

  // The empty state shows once nothing more is coming: now, or when the fetch under way is done
  // and has brought nothing to show.
  showEmpty(empty) {
    empty.hidden = this.loading;
    this.fetching?.then(() => {
      if (!this.current) empty.hidden = false;
    });
  }
}
