// The keyboard of the keyboard-first pages (label, confirm, groups, more like this, passers-by).
//
// A page with a name box has two modes, shown under the box's label. Typing (the box has the
// focus): every printable key is text, so "serena" or "nancy" is a name and never "s" skip or
// "n" not a face; only Enter, the digits 1-9 and the arrows act while the box is empty.
// Commands (Escape in the empty box leaves it): single keys are the page's commands, and a
// letter that is not one starts a name in the box. The mode holds from one face or group to
// the next: a page puts the focus back in the box (focusName) only while typing.

const modes = new WeakMap(); // name box -> {typing, hint}

// Makes an autocomplete's box a name box with the two modes and the line that tells which.
export function nameMode(autocomplete) {
  const input = autocomplete.input;
  const hint = document.createElement('small');
  hint.className = 'name-mode';
  hint.id = `${input.id}-mode`;
  hint.setAttribute('aria-live', 'polite');
  input.before(hint);
  input.setAttribute('aria-describedby', hint.id);
  const state = { typing: true, hint };
  modes.set(input, state);
  const show = () => {
    const focused = document.activeElement === input;
    hint.textContent = focused
      ? 'Typing a name: every letter is text. Esc (in the empty field) makes keys commands.'
      : 'Keys are commands. Any other letter, or a click in the field, starts a name.';
    input.closest('.combo')?.setAttribute('data-mode', focused ? 'typing' : 'commands');
  };
  input.addEventListener('focus', () => {
    state.typing = true;
    show();
  });
  input.addEventListener('blur', show);
  show();
}

// Puts the focus in the name box for the next face or group, unless the labeller left it for
// the commands (Escape).
export function focusName(autocomplete) {
  if (modes.get(autocomplete.input)?.typing !== false) autocomplete.input.focus({ preventScroll: true });
}

function leaveName(autocomplete) {
  const state = modes.get(autocomplete.input);
  if (state) state.typing = false;
  autocomplete.close();
  autocomplete.input.blur();
}

// Which keys the page may take as its own commands. Keys with a modifier or in the middle of an
// input method's composition are the browser's; so are keys typed in another field or in an
// open dialog, and Enter or Space on a focused button, or Enter on a link, which answer those
// themselves (a grid's tile buttons are only clicked, so the grid's keys still go to the grid).
// In the name box with a name typed, Enter takes the name (onName) and Escape clears it; in the
// empty box Escape leaves it for the commands, and only Enter, 1-9 and keys that type nothing
// (the arrows) reach the page: every other key is text.
export function pageKey(event, { autocomplete = null, onName = () => {} } = {}) {
  if (event.isComposing || event.keyCode === 229 || event.ctrlKey || event.metaKey || event.altKey) return false;
  const target = event.target;
  if (target.closest?.('dialog[open]')) return false;
  const inName = autocomplete !== null && target === autocomplete.input;
  if (!inName && target.closest?.('input, select, textarea, [contenteditable]')) return false;
  if (inName && autocomplete.input.value !== '') {
    if (event.key === 'Enter') {
      event.preventDefault();
      onName();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      autocomplete.clear();
    }
    return false;
  }
  if (inName) {
    if (event.key === 'Escape') {
      event.preventDefault();
      leaveName(autocomplete);
      return false;
    }
    if ([...event.key].length === 1 && !/^[1-9]$/.test(event.key)) return false;
  }
  const ownButton = target.tagName === 'BUTTON' && !target.classList.contains('tile-select');
  if (ownButton && (event.key === 'Enter' || event.key === ' ')) return false;
  if (target.tagName === 'A' && event.key === 'Enter') return false;
  return true;
}

// Answers a key pageKey let through: the grid's keys first (while a grid is shown), then the
// page's commands. Any other letter starts typing a name: it goes to the name box (typeTo).
export function answerKey(event, { grid = null, commands, typeTo = null }) {
  if (grid && grid.key(event)) {
    event.preventDefault();
  } else if (commands[event.key]) {
    event.preventDefault();
    commands[event.key]();
  } else if (typeTo && event.target !== typeTo && event.key.length === 1 && !event.repeat) {
    typeTo.focus({ preventScroll: true });
  }
}
