// Live calls: the server pushes a snapshot of the calls in progress every second
// (server-sent events, /calls/live/events); the table is redrawn from it.  A talking call
// has a "Hang up" form (POST with the page's CSRF token, confirmed first).
(function () {
  const table = document.getElementById('live-calls');
  const body = table.querySelector('tbody');
  const count = document.getElementById('live-count');
  const status = document.getElementById('live-status');
  const meta = document.querySelector('meta[name="csrf-token"]');
  const billing = table.dataset.billing === '1';
  const columns = billing ? 10 : 8;
  // every time on a page: YYYY-MM-DD HH:MM:SS in the PBX time zone (the API: ISO 8601)
  const local = new Intl.DateTimeFormat('sv-SE', {timeZone: table.dataset.timezone,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hour12: false});
  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? iso : local.format(d).replace('T', ' ');
  }
  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : text;
    if (cls) td.className = cls;
    return td;
  }
  function hangup(call) {
    const td = document.createElement('td');
    if (!call.hangup) return td;
    const form = document.createElement('form');
    form.method = 'post';
    form.action = '/calls/live/' + encodeURIComponent(call.id) + '/hangup';
    form.className = 'inline hangup';
    const token = document.createElement('input');
    token.type = 'hidden'; token.name = 'csrf_token'; token.value = meta ? meta.content : '';
    const button = document.createElement('button');
    button.type = 'submit'; button.className = 'danger'; button.textContent = table.dataset.hangup;
    form.append(token, button);
    form.addEventListener('submit', function (event) {
      if (!window.confirm(table.dataset.confirm)) event.preventDefault();
    });
    td.appendChild(form);
    return td;
  }
  function render(items) {
    body.replaceChildren();
    count.textContent = items.length;
    if (!items.length) {
      const tr = document.createElement('tr'); tr.className = 'empty';
      const td = cell(table.dataset.empty); td.colSpan = columns; tr.appendChild(td);
      body.appendChild(tr); return;
    }
    for (const c of items) {
      const tr = document.createElement('tr');
      tr.dataset.call = c.id;
      const who = c.extension + (c.extension_name ? ' (' + c.extension_name + ')' : '');
      const cells = [cell(when(c.started_at)), cell(who), cell(c.dialed), cell(c.trunk),
        cell(c.state_text), cell(c.duration_text), cell(c.talk_text, 'talk')];
      if (billing) cells.push(cell(c.cost_text, 'num cost'), cell(c.balance_text, 'num balance'));
      cells.push(hangup(c));
      cells.forEach(td => tr.appendChild(td));
      body.appendChild(tr);
    }
  }
  // forms drawn by the server: confirm too
  body.querySelectorAll('form.hangup').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(table.dataset.confirm)) event.preventDefault();
    });
  });
  const source = new EventSource(table.dataset.events);
  source.addEventListener('calls', function (event) {
    render(JSON.parse(event.data).items);
    status.textContent = '';
    table.dataset.updated = String(Date.now());
  });
  source.addEventListener('problem', function (event) {
    status.textContent = JSON.parse(event.data).message;
  });
  let ending = false;  // the server ends each stream after a while: not a lost connection
  source.addEventListener('reconnect', function () { ending = true; });
  source.addEventListener('open', function () { ending = false; });
  source.onerror = function () { if (!ending) status.textContent = table.dataset.lost; };
  window.addEventListener('pagehide', function () { source.close(); });
})();
