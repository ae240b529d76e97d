// A grid of face tiles worked from the keyboard: a cursor moves with the arrows or hjkl, Space
// or x toggles the face under it, a click toggles the face clicked (and moves the cursor there).
// What a tile looks like and what toggling means is the subclass's: it gives `faces` (each with
// a face_id, in the tiles' order), `cursor`, `flip(faceId)` and `paint()`.

const MOVES = {
  ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
  h: [-1, 0], l: [1, 0], k: [0, -1], j: [0, 1],
};

export class TileGrid {
  constructor(list, { onToggle = () => {} } = {}) {
    this.list = list;
    this.onToggle = onToggle;
    list.addEventListener('click', (event) => {
      const button = event.target.closest('.tile-select');
      if (!button) return;
      const index = this.tiles().indexOf(button.closest('.face-tile'));
      this.cursor = index;
      this.toggle(index);
    });
  }

  tiles() {
    return [...this.list.children];
  }

  toggle(index = this.cursor) {
    const face = this.faces[index];
    if (!face) return;
    this.flip(face.face_id);
    this.paint();
    this.onToggle();
  }

  // The grid wraps to the page's width, so a row's length is read from the layout: up and down
  // move by that many tiles.
  columns() {
    const tiles = this.tiles();
    if (tiles.length < 2) return 1;
    const top = tiles[0].offsetTop;
    const n = tiles.findIndex((li) => li.offsetTop !== top);
    return n === -1 ? tiles.length : n;
  }

  move(dx, dy) {
    if (!this.faces.length) return;
    const next = this.cursor + dx + dy * this.columns();
    if (next < 0 || next >= this.faces.length) return;
    this.cursor = next;
    this.paint();
    this.tiles()[next]?.scrollIntoView({ block: 'nearest' });
  }

  // Answers the grid's own keys; false for any other, which the page answers.
  key(event) {
    const move = MOVES[event.key];
    if (move) {
      this.move(...move);
      return true;
    }
    if (event.key === ' ' || event.key === 'x') {
      this.toggle();
      return true;
    }
    return false;
  }
}
