// The home page follows running jobs until they finish, then refreshes its counts. Other pages
// with the same jobs card use it too: they announce a job they started with a
// `faceloop:job-started` event, and may take over the refresh by cancelling
// `faceloop:jobs-finished`.

import { JOB_ACTIVE as ACTIVE, api, plural } from './common.js';

const list = document.getElementById('jobs');
const card = document.getElementById('jobs-card');

// running jobs and the last few finished ones stay in view; older ones fold into "N earlier
// jobs", so a day of finished jobs does not push the work area down
const RECENT_FINISHED = 3;

function jobItem(job) {
  const li = document.createElement('li');
  li.dataset.job = job.id;
  li.dataset.status = job.status;
  const kind = document.createElement('span');
  kind.className = 'job-kind';
  kind.textContent = `${job.kind} #${job.id}`;
  const bar = document.createElement('progress');
  bar.max = job.total || 1;
  bar.value = job.total ? job.done : (ACTIVE.has(job.status) ? 0 : 1);
  const status = document.createElement('span');
  status.className = 'job-status';
  status.textContent = job.status;
  const message = document.createElement('span');
  message.className = 'job-message';
  message.textContent = job.message;
  li.append(kind, bar, status, ' ', message);
  return li;
}

function render(jobs) {
  const shown = [];
  const earlier = [];
  let finished = 0;
  for (const job of jobs) {
    const active = ACTIVE.has(job.status);
    (active || finished < RECENT_FINISHED ? shown : earlier).push(job);
    if (!active) finished += 1;
  }
  list.replaceChildren(...shown.map(jobItem));
  let folded = card.querySelector('details.jobs-earlier');
  if (earlier.length && !folded) {
    folded = document.createElement('details');
    folded.className = 'jobs-earlier';
    const ul = document.createElement('ul');
    ul.className = 'jobs';
    folded.append(document.createElement('summary'), ul);
    list.after(folded);
  }
  if (folded) {
    // the same element stays, open or closed as the user left it
    folded.hidden = earlier.length === 0;
    folded.querySelector('summary').textContent = plural(earlier.length, 'earlier job');
    folded.querySelector('ul').replaceChildren(...earlier.map(jobItem));
  }
  card.hidden = jobs.length === 0;
  showCollection(jobs);
}

// the home page's collection card says what the running collection is doing
function showCollection(jobs) {
  const line = document.getElementById('collection-job');
  if (!line) return;
  const running = jobs.find((j) => j.kind === 'collect' && ACTIVE.has(j.status));
  line.hidden = !running;
  if (running) line.querySelector('.collection-message').textContent = running.message || running.status;
}

async function poll() {
  const before = new Set([...card.querySelectorAll('li[data-job]')]
    .filter((li) => ACTIVE.has(li.dataset.status)).map((li) => li.dataset.job));
  try {
    const jobs = await api('GET', '/jobs?limit=8');
    render(jobs);
    const finished = jobs.filter((j) => before.has(String(j.id)) && !ACTIVE.has(j.status));
    if (finished.length) {
      const event = new CustomEvent('faceloop:jobs-finished', { cancelable: true, detail: finished });
      if (document.dispatchEvent(event)) {
        location.reload();
        return;
      }
    }
    timer = setTimeout(poll, jobs.some((j) => ACTIVE.has(j.status)) ? 1000 : 5000);
  } catch {
    timer = setTimeout(poll, 5000);
  }
}

let timer = null;
if (list) {
  timer = setTimeout(poll, 1000);
  document.addEventListener('faceloop:job-started', (event) => {
    const job = event.detail;
    const li = document.createElement('li');
    li.dataset.job = job.id;
    li.dataset.status = job.status;
    li.textContent = `${job.kind} #${job.id} ${job.status}`;
    list.prepend(li);
    card.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(poll, 300);
  });
}
