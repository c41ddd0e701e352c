/**
 * The demo page served at the mount point: plain HTML and one script, no build step and no external URL, so it works
 * offline and under a strict Content-Security-Policy. The script uses fetch (not EventSource) to read the job's
 * events, because EventSource cannot send the API key header.
 */

export const WEB_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const WEB_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>diffusekit</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1b1f24; background: #f6f7f9; }
  main { max-width: 56rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
  h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
  form { display: grid; gap: .75rem; background: #fff; padding: 1rem; border-radius: .5rem; border: 1px solid #d8dde3; }
  label { display: grid; gap: .25rem; font-weight: 600; font-size: .9rem; }
  label small, #task-description { font-weight: 400; color: #56606b; }
  fieldset { border: 1px solid #d8dde3; border-radius: .4rem; display: grid; gap: .5rem; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); }
  input, select, button { font: inherit; padding: .35rem .5rem; }
  .buttons { display: flex; gap: .5rem; }
  button { cursor: pointer; border-radius: .3rem; border: 1px solid #8b96a3; background: #eef1f4; }
  button[type=submit] { background: #1f6feb; border-color: #1f6feb; color: #fff; }
  button:disabled { opacity: .5; cursor: default; }
  .progress { display: flex; align-items: center; gap: .75rem; margin: 1rem 0; }
  progress { flex: 1; height: 1rem; }
  .error { color: #b42318; }
  .compare { position: relative; width: 100%; line-height: 0; background: #222; user-select: none; }
  .compare img { width: 100%; height: auto; image-rendering: auto; }
  .compare .after { position: absolute; inset: 0; }
  .compare .after img { height: 100%; object-fit: fill; }
  .compare .divider { position: absolute; top: 0; bottom: 0; width: 2px; background: #fff; pointer-events: none; }
  .captions { display: flex; justify-content: space-between; font-size: .85rem; color: #56606b; }
</style>
</head>
<body data-state="loading">
<main>
  <h1>diffusekit</h1>
  <form id="run-form">
    <label>Task <select id="task" required></select> <small id="task-description"></small></label>
    <label>Model <select id="model"></select></label>
    <fieldset id="options"><legend>Options (empty = the task's default)</legend></fieldset>
    <label>Image <input id="image" type="file" accept="image/png,image/jpeg,image/webp,image/tiff,.tif,.tiff,.dcm,.nii,.gz,application/dicom" required></label>
    <label>Result format
      <select id="format">
        <option value="">same as the input</option><option>png</option><option>jpeg</option><option>webp</option><option>tiff</option>
      </select>
    </label>
    <label>API key <small>only if this server asks for one</small><input id="api-key" type="password" autocomplete="off"></label>
    <div class="buttons"><button id="run" type="submit">Run</button><button id="cancel" type="button" disabled>Cancel</button></div>
  </form>
  <div class="progress">
    <progress id="progress" max="1" value="0"></progress>
    <span id="status" role="status" aria-live="polite">Loading tasks…</span>
  </div>
  <section id="compare-section" hidden>
    <div class="compare" id="compare">
      <img id="before" alt="input image">
      <div class="after" id="after-layer"><img id="after" alt="result image"></div>
      <div class="divider" id="divider"></div>
    </div>
    <div class="captions"><span>before</span><span>after</span></div>
    <label>Before / after <input id="slider" type="range" min="0" max="100" value="50"></label>
    <p id="preview-note" hidden>This browser cannot show TIFF; choose PNG as the result format to compare, or download it.</p>
    <p><a id="download" download="result">Download the result</a></p>
  </section>
</main>
<script src="app.js"></script>
</body>
</html>
`;

export const WEB_PAGE_SCRIPT = String.raw`'use strict';
(function () {
  var byId = function (id) { return document.getElementById(id); };
  var tasks = [];
  var current = null; // { jobId, controller }
  var urls = [];

  function setState(state, text, isError) {
    document.body.dataset.state = state;
    var status = byId('status');
    status.textContent = text;
    status.className = isError ? 'error' : '';
  }

  function headers() {
    var key = byId('api-key').value.trim();
    return key ? { 'X-API-Key': key } : {};
  }

  async function api(path, init) {
    init = init || {};
    init.headers = Object.assign({}, headers(), init.headers || {});
    var response = await fetch(path, init);
    if (!response.ok) {
      var body = null;
      try { body = await response.json(); } catch (e) { body = null; }
      var error = new Error(body && body.message ? body.message : 'HTTP ' + response.status);
      error.code = body && body.code ? body.code : 'HTTP_' + response.status;
      throw error;
    }
    return response;
  }

  function option(value, label) {
    var element = document.createElement('option');
    element.value = value;
    element.textContent = label;
    return element;
  }

  function optionInput(spec) {
    var label = document.createElement('label');
    label.textContent = spec.name + ' ';
    var input;
    if (spec.type === 'enum' || spec.type === 'boolean') {
      input = document.createElement('select');
      input.appendChild(option('', 'default' + (spec.default !== undefined ? ' (' + spec.default + ')' : '')));
      (spec.type === 'enum' ? spec.values || [] : ['true', 'false']).forEach(function (v) { input.appendChild(option(v, v)); });
    } else {
      input = document.createElement('input');
      if (spec.type === 'integer' || spec.type === 'number') {
        input.type = 'number';
        input.step = spec.type === 'integer' ? '1' : 'any';
        if (spec.min !== undefined) input.min = String(spec.min);
        if (spec.max !== undefined) input.max = String(spec.max);
      }
      if (spec.default !== undefined) input.placeholder = String(spec.default);
    }
    input.name = spec.name;
    input.dataset.option = spec.name;
    input.title = spec.description || '';
    var hint = document.createElement('small');
    hint.textContent = spec.description || '';
    label.appendChild(input);
    label.appendChild(hint);
    return label;
  }

  function showTask() {
    var task = tasks.find(function (t) { return t.id === byId('task').value; });
    var fieldset = byId('options');
    fieldset.querySelectorAll('label').forEach(function (l) { l.remove(); });
    byId('model').replaceChildren();
    if (!task) return;
    byId('task-description').textContent = task.description || '';
    task.models.forEach(function (id) {
      byId('model').appendChild(option(id, id + (id === task.defaultModel ? ' (default)' : '')));
    });
    if (task.models.indexOf(task.defaultModel) >= 0) byId('model').value = task.defaultModel;
    task.options.forEach(function (spec) { fieldset.appendChild(optionInput(spec)); });
  }

  async function loadTasks() {
    setState('loading', 'Loading tasks…');
    try {
      var body = await (await api('v1/tasks')).json();
      tasks = body.tasks;
      var select = byId('task');
      select.replaceChildren();
      tasks.forEach(function (t) { select.appendChild(option(t.id, t.id)); });
      showTask();
      setState('ready', tasks.length ? 'Choose an image and press Run.' : 'This server has no image tasks.');
    } catch (error) {
      setState('error', error.code === 'UNAUTHORIZED' ? 'This server needs an API key: enter it above.' : error.code + ': ' + error.message, true);
    }
  }

  function parseEvent(block) {
    var event = 'message';
    var data = [];
    block.split('\n').forEach(function (line) {
      if (line === '' || line.charAt(0) === ':') return;
      var colon = line.indexOf(':');
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      if (field === 'data') data.push(value);
    });
    return data.length ? { event: event, data: JSON.parse(data.join('\n')) } : null;
  }

  function showProgress(progress) {
    var bar = byId('progress');
    if (progress.kind === 'stage') {
      setState('running', progress.stage + '…');
      return;
    }
    var at = progress.kind === 'step' ? progress.step : progress.kind === 'tile' ? progress.tile : progress.item;
    bar.value = progress.of ? at / progress.of : 0;
    setState('running', progress.kind + ' ' + at + ' of ' + progress.of);
  }

  /** Reads the job's Server-Sent Events until "done" and returns its data. */
  async function follow(jobId, signal) {
    var response = await api('v1/jobs/' + encodeURIComponent(jobId) + '/events', { signal: signal });
    var reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    var buffer = '';
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += chunk.value.replace(/\r\n?/g, '\n');
      var end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        var message = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (!message) continue;
        if (message.event === 'progress') showProgress(message.data);
        if (message.event === 'status' && message.data.status === 'queued') setState('running', 'Waiting in the queue…');
        if (message.event === 'done') {
          reader.cancel().catch(function () {});
          return message.data;
        }
      }
    }
    throw Object.assign(new Error('The event stream ended before the job finished'), { code: 'STREAM_ENDED' });
  }

  function objectUrl(blob) {
    var url = URL.createObjectURL(blob);
    urls.push(url);
    return url;
  }

  function setSlider() {
    var at = byId('slider').value;
    byId('after-layer').style.clipPath = 'inset(0 0 0 ' + at + '%)';
    byId('divider').style.left = at + '%';
  }

  async function run(event) {
    event.preventDefault();
    var file = byId('image').files[0];
    if (!file || !byId('task').value) return;
    urls.splice(0).forEach(function (u) { URL.revokeObjectURL(u); });
    byId('compare-section').hidden = true;
    byId('progress').value = 0;
    var form = new FormData();
    form.append('task', byId('task').value);
    if (byId('model').value) form.append('model', byId('model').value);
    if (byId('format').value) form.append('format', byId('format').value);
    byId('options').querySelectorAll('[data-option]').forEach(function (input) {
      if (input.value !== '') form.append(input.dataset.option, input.value);
    });
    form.append('image', file, file.name);
    var controller = new AbortController();
    current = { jobId: null, controller: controller };
    byId('run').disabled = true;
    byId('cancel').disabled = false;
    setState('running', 'Uploading…');
    try {
      var job = await (await api('v1/jobs', { method: 'POST', body: form, signal: controller.signal })).json();
      current.jobId = job.id;
      var done = await follow(job.id, controller.signal);
      if (done.status !== 'succeeded') {
        setState(done.status, done.status === 'cancelled' ? 'Cancelled.' : done.error.code + ': ' + done.error.message, done.status !== 'cancelled');
        return;
      }
      var result = await (await api(done.result.url, { signal: controller.signal })).blob();
      byId('before').src = objectUrl(file);
      byId('after').src = objectUrl(result);
      byId('download').href = byId('after').src;
      byId('download').download = 'result.' + (done.result.format === 'jpeg' ? 'jpg' : done.result.format === 'geotiff' ? 'tif' : done.result.format);
      byId('preview-note').hidden = !/tiff/.test(done.result.contentType + file.type);
      byId('compare-section').hidden = false;
      byId('progress').value = 1;
      setSlider();
      setState('done', 'Done: ' + done.result.width + '×' + done.result.height + ', ' + done.result.format + '. Drag the slider to compare.');
    } catch (error) {
      if (error.name === 'AbortError') setState('cancelled', 'Cancelled.');
      else setState('failed', (error.code || 'ERROR') + ': ' + error.message, true);
    } finally {
      byId('run').disabled = false;
      byId('cancel').disabled = true;
      current = null;
    }
  }

  async function cancel() {
    var job = current;
    if (!job) return;
    byId('cancel').disabled = true;
    if (job.jobId) await api('v1/jobs/' + encodeURIComponent(job.jobId), { method: 'DELETE' }).catch(function () {});
    else job.controller.abort();
  }

  byId('task').addEventListener('change', showTask);
  byId('run-form').addEventListener('submit', run);
  byId('cancel').addEventListener('click', cancel);
  byId('slider').addEventListener('input', setSlider);
  byId('api-key').addEventListener('change', loadTasks);
  loadTasks();
})();
`;
