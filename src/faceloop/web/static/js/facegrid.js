// A grid of face chips for naming many faces at once (the groups page, "more like this", the
// passers-by). Every face starts chosen; the labeller takes out the ones that do not belong (the
// keys and clicks are TileGrid's). The grid knows nothing of the server: pages ask it which faces
// are chosen.

import { chipImage, chipUrl } from './common.js';
import { TileGrid } from './grid.js';
import { preloader } from './preload.js';

const preload = preloader(600);

export function preloadChips(faceIds) {
  preload(faceIds.map(chipUrl));
}

export class FaceGrid extends TileGrid {
  constructor(list, { onToggle = () => {}, similarLinks = true } = {}) {
    super(list, { onToggle });
    this.similarLinks = similarLinks;
    this.faces = [];
    this.out = new Set();
    this.cursor = 0;
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
    button.append(chipImage(face.face_id, 110, { alt: `face ${face.face_id}` }));
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

  paint() {
    this.tiles().forEach((li, index) => {
      const out = this.out.has(this.faces[index].face_id);
      li.classList.toggle('deselected', out);
      li.classList.toggle('cursor', index === this.cursor);
      li.querySelector('.tile-select').setAttribute('aria-pressed', out ? 'false' : 'true');
    });
  }

  flip(faceId) {
    if (this.out.has(faceId)) this.out.delete(faceId);
    else this.out.add(faceId);
  }

  // the faces still chosen, and those taken out
  chosen() {
    return this.faces.map((f) => f.face_id).filter((id) => !this.out.has(id));
  }

  excluded() {
    return this.faces.map((f) => f.face_id).filter((id) => this.out.has(id));
  }
}
