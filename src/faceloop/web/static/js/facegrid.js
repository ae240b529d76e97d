// A grid of face chips for naming many faces at once (the groups page, "more like this").
// Every face starts chosen; the labeller takes out the ones that do not belong. A cursor moves
// with the arrows or hjkl, Space or x takes the face under it out (or back), a click does the
// same for the face clicked. The grid knows nothing of the server: pages ask it which faces are
// chosen.

const chipUrl = (faceId) => `/api/v1/faces/${faceId}/chip.jpg`;
const preloaded = new Map();

export function preloadChips(faceIds) {
  for (const id of faceIds) {
    const url = chipUrl(id);
    if (preloaded.has(url)) continue;
    const image = new Image();
    image.decoding = 'async';
    image.src = url;
    preloaded.set(url, image);
    if (preloaded.size > 600) preloaded.delete(preloaded.keys().next().value);
  }
}

export class FaceGrid {
  constructor(list, { onToggle = () => {}, similarLinks = true } = {}) {
    this.list = list;
    this.onToggle = onToggle;
    this.similarLinks = similarLinks;
    this.faces = [];
    this.out = new Set();
    this.cursor = 0;
    list.addEventListener('click', (event) => {
      const button = event.target.closest('.tile-select');
      if (!button) return;
      const index = Number(button.closest('.face-tile').dataset.index);
      this.cursor = index;
      this.toggle(index);
    });
  }

  // faces: [{face_id, image_id, distance, note?}], most central first; `out`: the ids of
  // faces that start taken out
  show(faces, out = []) {
    this.faces = faces;
    this.out = new Set(out);
    this.cursor = 0;
    this.list.replaceChildren(...faces.map((face, index) => this.tile(face, index)));
    this.paint();
  }

  tile(face, index) {
    const li = document.createElement('li');
    li.className = 'face-tile';
    li.dataset.face = face.face_id;
    li.dataset.index = index;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'tile-select';
    button.tabIndex = -1;
    button.setAttribute('aria-pressed', 'true');
    const distance = face.distance === undefined || face.distance === null ? '' : face.distance.toFixed(2);
    button.title = face.note || (distance ? `distance ${distance} from the centre` : '');
    const image = document.createElement('img');
    image.className = 'chip';
    image.src = chipUrl(face.face_id);
    image.alt = `face ${face.face_id}`;
    image.width = 110;
    image.height = 110;
    button.append(image);
    li.append(button);
    if (face.note) {
      const note = document.createElement('span');
      note.className = 'tile-note';
      note.textContent = face.note;
      li.append(note);
    } else if (distance) {
      const shown = document.createElement('span');
      shown.className = 'dist';
      shown.textContent = distance;
      li.append(shown);
    }
    const photo = document.createElement('a');
    photo.className = 'tile-photo';
    photo.href = `/photos/${face.image_id}#face-${face.face_id}`;
    photo.textContent = 'photo';
    photo.title = 'Open the photo';
    li.append(photo);
    if (this.similarLinks) {
      const similar = document.createElement('a');
      similar.className = 'tile-similar';
      similar.href = `/similar/${face.face_id}`;
      similar.textContent = 'more like this';
      similar.title = 'The unlabelled faces nearest to this one';
      li.append(similar);
    }
    return li;
  }

  tiles() {
    return [...this.list.children];
  }

  paint() {
    this.tiles().forEach((li, index) => {
      const out = this.out.has(this.faces[index].face_id);
      li.classList.toggle('deselected', out);
      li.classList.toggle('cursor', index === this.cursor);
      li.querySelector('.tile-select').setAttribute('aria-pressed', out ? 'false' : 'true');
    });
  }

  toggle(index = this.cursor) {
    const face = this.faces[index];
    if (!face) return;
    if (this.out.has(face.face_id)) this.out.delete(face.face_id);
    else this.out.add(face.face_id);
    this.paint();
    this.onToggle();
  }

  columns() {
    const tiles = this.tiles();
    if (tiles.length < 2) return 1;
    const top = tiles[0].offsetTop;
    const n = tiles.findIndex((li) => li.offsetTop !== top);
    return n === -1 ? tiles.length : n;
  }

  move(dx, dy) {
    if (!this.faces.length) return;
    const step = dx + dy * this.columns();
    const next = this.cursor + step;
    if (next < 0 || next >= this.faces.length) return;
    this.cursor = next;
    this.paint();
    this.tiles()[next]?.scrollIntoView({ block: 'nearest' });
  }

  // the faces still chosen, and those taken out
  chosen() {
    return this.faces.map((f) => f.face_id).filter((id) => !this.out.has(id));
  }

  excluded() {
    return this.faces.map((f) => f.face_id).filter((id) => this.out.has(id));
  }
}

// Keys the grid answers: arrows and hjkl move, Space and x take a face out or back.
const MOVES = {
  ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
  h: [-1, 0], l: [1, 0], k: [0, -1], j: [0, 1],
};

export function gridKey(grid, event) {
  const move = MOVES[event.key];
  if (move) {
    grid.move(...move);
    return true;
  }
  if (event.key === ' ' || event.key === 'x') {
    grid.toggle();
    return true;
  }
  return false;
}
