// "N faces not grouped yet — Group them now": after an import the groups page knows nothing of
// the new faces until a grouping run has seen them. This panel starts that run (the same job as
// the groups page's Re-cluster), follows it with a progress bar, and points to the groups page
// when it is done. The home page mounts it on #grouping; the upload page when its import ends.

import { followJob, plural, showError, startGrouping } from './common.js';

function element(tag, { className, text, href } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (href) node.href = href;
  return node;
}

export function mountGrouping(panel, { ungrouped = 0, jobId = null } = {}) {
  let following = null;

  function offer() {
    panel.dataset.state = 'offer';
    const text = element('p', { className: 'grouping-text' });
    text.append(element('strong', { text: `${plural(ungrouped, 'face')} not grouped yet` }),
      ' — grouping puts look-alike faces together, so a whole group is named at once.');
    const button = element('button', { className: 'primary', text: 'Group them now' });
    button.type = 'button';
    button.id = 'group-now';
    button.addEventListener('click', () => start(button));
    panel.replaceChildren(text, element('p', { className: 'grouping-actions' }));
    panel.lastChild.append(button);
    panel.hidden = false;
  }

  async function start(button) {
    button.disabled = true;
    try {
      follow((await startGrouping()).id);
    } catch (error) {
      showError(error);
      button.disabled = false;
    }
  }

  function running(job) {
    panel.dataset.state = 'running';
    panel.dataset.job = job.id;
    const text = element('p', { className: 'grouping-text' });
    text.append(element('strong', {
      text: ungrouped ? `Grouping ${plural(ungrouped, 'new face')}…` : 'Grouping the unlabelled faces…',
    }));
    const bar = element('progress');
    bar.max = job.total || 1;
    bar.value = job.total ? job.done : 0;
    const line = element('p', { className: 'grouping-progress' });
    line.append(bar, ' ', element('span', { className: 'grouping-message', text: job.message }));
    panel.replaceChildren(text, line);
    panel.hidden = false;
  }

  function finished(job) {
    panel.dataset.state = job.status;
    const text = element('p', { className: 'grouping-text' });
    const actions = element('p', { className: 'grouping-actions' });
    if (job.status === 'failed') {
      text.append(element('strong', { text: 'Grouping failed: ' }), job.message);
      const again = element('button', { text: 'Try again' });
      again.type = 'button';
      again.addEventListener('click', () => start(again));
      actions.append(again);
    } else {
      const groups = job.result?.groups ?? 0;
      if (groups) {
        text.append(element('strong', { text: `${plural(groups, 'group')} of look-alike faces to name.` }));
        actions.append(element('a', { className: 'button primary', text: 'Name them on the Groups page →', href: '/groups' }));
      } else {
        text.append(element('strong', { text: 'Grouped: ' }), 'none of the faces look alike enough to group; label them one by one.');
        actions.append(element('a', { className: 'button primary', text: 'Label them →', href: '/label' }));
      }
    }
    panel.replaceChildren(text, actions);
    panel.hidden = false;
  }

  async function follow(id) {
    following = id;
    let job;
    try {
      job = await followJob(id, { update: running, wanted: () => following === id });
    } catch (error) {
      showError(error);
      return;
    }
    if (!job) return;
    finished(job);
    panel.dispatchEvent(new CustomEvent('faceloop:grouped', { bubbles: true, detail: job }));
  }

  if (jobId) follow(jobId);
  else if (ungrouped > 0) offer();
  else panel.hidden = true;
}

const home = document.getElementById('grouping');
if (home) {
  mountGrouping(home, {
    ungrouped: Number(home.dataset.ungrouped || 0),
    jobId: home.dataset.job ? Number(home.dataset.job) : null,
  });
}
