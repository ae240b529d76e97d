// The upload page: drop photos or whole folders; they are sent in small batches (so progress
// is real and one bad file refuses only itself), then imported in the background while the
// page follows the job.

import { api, csrfToken, followJob, showError } from './common.js';
import { mountGrouping } from './grouping.js';

const $ = (id) => document.getElementById(id);
const zone = $('dropzone');
const BATCH_FILES = 10;
const BATCH_BYTES = 24 * 1024 * 1024;
let busy = false;

async function entriesOf(dataTransfer) {
  const found = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      found.push({ file, path: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  const roots = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!roots.length) return [...dataTransfer.files].map((file) => ({ file, path: file.name }));
  for (const root of roots) await walk(root, '');
  return found;
}

function send(uploadId, batch, onProgress) {
  const form = new FormData();
  for (const { file, path } of batch) {
    form.append('files', file, file.name);
    form.append('paths', path);
  }
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', `/api/v1/uploads/${uploadId}/files`);
    request.setRequestHeader('X-CSRF-Token', csrfToken());
    request.setRequestHeader('Accept', 'application/json');
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch { body = {}; }
      if (request.status === 200) resolve(body);
      else if (request.status === 415) resolve({ accepted: [], rejected: batch.map((b) => ({ name: b.path, reason: body.message })) });
      else reject(new Error(body.message || `upload failed (${request.status})`));
    };
    request.onerror = () => reject(new Error('the server cannot be reached'));
    request.send(form);
  });
}

function batches(files) {
  const out = [];
  let current = [];
  let bytes = 0;
  for (const item of files) {
    if (current.length && (current.length >= BATCH_FILES || bytes + item.file.size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.file.size;
  }
  if (current.length) out.push(current);
  return out;
}

function listRejected(list, rejected) {
  for (const r of rejected) {
    const li = document.createElement('li');
    li.textContent = r.reason || `${r.name}: not a photo`;
    list.append(li);
  }
}

async function upload(files) {
  if (busy || !files.length) return;
  busy = true;
  const progress = $('upload-progress');
  const message = $('upload-message');
  $('upload-status').hidden = false;
  $('upload-result').hidden = true;
  $('rejected').replaceChildren();
  $('upload-title').textContent = `Uploading ${files.length} file${files.length === 1 ? '' : 's'}`;
  const totalBytes = files.reduce((sum, f) => sum + f.file.size, 0) || 1;
  progress.max = totalBytes;
  progress.value = 0;
  let sentBytes = 0;
  let accepted = 0;
  try {
    const { upload_id: uploadId } = await api('POST', '/uploads');
    for (const batch of batches(files)) {
      const size = batch.reduce((sum, f) => sum + f.file.size, 0);
      const result = await send(uploadId, batch, (loaded) => { progress.value = sentBytes + loaded; });
      sentBytes += size;
      progress.value = sentBytes;
      accepted += result.accepted.length;
      listRejected($('rejected'), result.rejected);
      message.textContent = `${accepted} photo${accepted === 1 ? '' : 's'} sent`;
    }
    if (!accepted) {
      await api('POST', `/uploads/${uploadId}/discard`).catch(() => null);
      $('upload-title').textContent = 'Nothing to import';
      message.textContent = 'None of these files is a photo faceloop can read.';
      return;
    }
    const job = await api('POST', `/uploads/${uploadId}/import`, { by_folder: $('by-folder').checked });
    $('upload-title').textContent = `Importing ${accepted} photo${accepted === 1 ? '' : 's'}`;
    await follow(job.id);
  } catch (error) {
    showError(error);
    message.textContent = error.message;
  } finally {
    busy = false;
  }
}

async function follow(jobId) {
  const progress = $('upload-progress');
  const message = $('upload-message');
  const show = (job) => {
    progress.max = job.total || 1;
    progress.value = job.total ? job.done : 0;
    message.textContent = job.message;
  };
  const job = await followJob(jobId, { every: 400, update: show });
  show(job);
  if (job.status === 'done') return finished(job);
  $('upload-title').textContent = 'The import failed';
  message.textContent = job.message;
  return null;
}

function finished(job) {
  const r = job.result || {};
  $('upload-title').textContent = 'Imported';
  $('upload-message').textContent = '';  // the result below says it in full
  const parts = [`${r.imported} photo${r.imported === 1 ? '' : 's'} imported with ${r.faces} face${r.faces === 1 ? '' : 's'}`];
  if (r.exact_duplicates || r.near_copies) parts.push(`${r.exact_duplicates + r.near_copies} already here`);
  if (r.without_faces) parts.push(`${r.without_faces} without a face`);
  if (r.labelled) parts.push(`${r.labelled} labelled from folder names`);
  if (r.failed) parts.push(`${r.failed} could not be read`);
  $('result-text').textContent = parts.join(' · ') + '.';
  const failures = $('failures');
  failures.replaceChildren();
  for (const f of r.failures || []) {
    const li = document.createElement('li');
    li.textContent = `${f.file}: ${f.reason}`;
    failures.append(li);
  }
  const thumbs = $('new-photos');
  thumbs.replaceChildren();
  for (const id of (r.image_ids || []).slice(0, 60)) {
    const li = document.createElement('li');
    const link = document.createElement('a');
    link.href = `/photos/${id}`;
    const image = document.createElement('img');
    image.src = `/api/v1/photos/${id}/image.jpg?size=256`;
    image.alt = `photo ${id}`;
    image.loading = 'lazy';
    link.append(image);
    li.append(link);
    thumbs.append(li);
  }
  // the new faces are grouped by a job the import started (or can be, when grouping is only on
  // request), so the groups page has them by the time the user gets there
  mountGrouping($('upload-grouping'), { ungrouped: r.ungrouped || 0, jobId: r.grouping_job || null });
  $('upload-result').hidden = false;
  return job;
}

zone.addEventListener('dragover', (event) => {
  event.preventDefault();
  zone.classList.add('over');
});
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', async (event) => {
  event.preventDefault();
  zone.classList.remove('over');
  upload(await entriesOf(event.dataTransfer));
});
zone.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    $('file-input').click();
  }
});
for (const id of ['file-input', 'folder-input']) {
  $(id).addEventListener('change', (event) => {
    const files = [...event.target.files].map((file) => ({ file, path: file.webkitRelativePath || file.name }));
    event.target.value = '';
    upload(files);
  });
}
