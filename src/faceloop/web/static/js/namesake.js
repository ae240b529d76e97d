// Two spellings of one name are one person: before a name typed creates a person that someone
// already has in another spelling ("Hugo Chavez" beside "Hugo_Chávez"), the page asks, the
// existing person first (Enter takes them, Escape goes back to the name).

let dialog = null;

function build() {
  dialog = document.createElement('dialog');
  dialog.className = 'namesake';
  dialog.setAttribute('aria-labelledby', 'namesake-title');
  const title = document.createElement('h2');
  title.id = 'namesake-title';
  const text = document.createElement('p');
  const actions = document.createElement('div');
  actions.className = 'actions';
  const existing = document.createElement('button');
  existing.type = 'button';
  existing.className = 'primary';
  existing.value = 'existing';
  const second = document.createElement('button');
  second.type = 'button';
  second.value = 'new';
  actions.append(existing, second);
  dialog.append(title, text, actions);
  document.body.append(dialog);
}

// 'existing', 'new' (a second person of that name) or null (Escape: not answered)
export function askNamesake(existingName, typed) {
  if (!dialog) build();
  const [existing, second] = dialog.querySelectorAll('button');
  dialog.querySelector('h2').textContent = `${existingName} already exists`;
  dialog.querySelector('p').textContent = `“${typed}” is how ${existingName} is written in another `
    + 'spelling (case, accents, spaces or underscores aside). Label the face as them, or is this '
    + 'someone else of the same name?';
  existing.textContent = `Label as ${existingName}`;
  second.textContent = `Create a second person “${typed}”`;
  const back = document.activeElement;
  dialog.showModal();
  existing.focus();
  return new Promise((resolve) => {
    const finish = (answer) => {
      existing.onclick = null;
      second.onclick = null;
      dialog.oncancel = null;
      dialog.close();
      back?.focus?.({ preventScroll: true });
      resolve(answer);
    };
    existing.onclick = () => finish('existing');
    second.onclick = () => finish('new');
    dialog.oncancel = (event) => {
      event.preventDefault();
      finish(null);
    };
  });
}

// An autocomplete option, asked about first when it would create a namesake: the option to
// take (a person, or a name to create with new_person), or null when the question was not
// answered.
export async function settleOption(option) {
  if (option?.kind !== 'create' || !option.namesake) return option;
  const answer = await askNamesake(option.namesake.name, option.name);
  if (answer === 'existing') return { kind: 'person', match: option.namesake };
  if (answer === 'new') return { ...option, newPerson: true };
  return null;
}

// The same question when the server refused to create a namesake (409 with existing_person_id):
// {person_id, name} of the existing person, {new_person: true}, or null.
export async function settleRefusal(error, typed) {
  const existing = error?.body?.existing_person_id;
  if (error?.status !== 409 || !existing) return undefined;
  const answer = await askNamesake(error.body.existing_name, typed);
  if (answer === 'existing') return { person_id: existing, name: error.body.existing_name };
  if (answer === 'new') return { new_person: true };
  return null;
}
