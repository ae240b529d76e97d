// The keyboard of the keyboard-first pages (label, confirm, groups, more like this, passers-by).

// Which keys the page may take as its own commands. Keys with a modifier or in the middle of an
// input method's composition are the browser's; so are keys typed in another field, and Enter or
// Space on a focused button, or Enter on a link, which answer those themselves (a grid's tile
// buttons are only clicked, so the grid's keys still go to the grid). In the name box with a name
// typed, Enter takes the name (onName) and Escape clears it; other keys there are typing.
export function pageKey(event, { autocomplete = null, onName = () => {} } = {}) {
  if (event.isComposing || event.keyCode === 229 || event.ctrlKey || event.metaKey || event.altKey) return false;
  const target = event.target;
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
