// Live calls: the table refreshed every second from the JSON API.
(function () {
  const table = document.getElementById('live-calls');
  const body = table.querySelector('tbody');
  const count = document.getElementById('live-count');
  const status = document.getElementById('live-status');
  function clock(s) {
    if (s === null || s === undefined) return '';
    s = Math.floor(s);
    const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    const mm = String(m).padStart(2, '0'), ss = String(r).padStart(2, '0');
    return h ? h + ':' + mm + ':' + ss : mm + ':' + ss;
  }
  // every time on a page: YYYY-MM-DD HH:MM:SS in the PBX time zone (the API: ISO 8601)
  const local = new Intl.DateTimeFormat('sv-SE', {timeZone: table.dataset.timezone,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hour12: false});
  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? iso : local.format(d).replace('T', ' ');
  }
  function money(v) {
    if (v === null || v === undefined) return '';
    const places = table.dataset.decimals;
    return places === '' || isNaN(Number(v)) ? v : Number(v).toFixed(Number(places));
  }
  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : text;
    if (cls) td.className = cls;
    return td;
  }
  function render(items) {
    body.replaceChildren();
    count.textContent = items.length;
    if (!items.length) {
      const tr = document.createElement('tr'); tr.className = 'empty';
      const td = cell(table.dataset.empty); td.colSpan = 8; tr.appendChild(td);
      body.appendChild(tr); return;
    }
    for (const c of items) {
      const tr = document.createElement('tr');
      tr.dataset.call = c.id;
      const who = c.extension + (c.extension_name ? ' (' + c.extension_name + ')' : '');
      const state = c.state === 'talking' ? table.dataset.talking : table.dataset.dialling;
      [cell(when(c.started_at)), cell(who), cell(c.dialed),
       cell(c.trunk), cell(state), cell(clock(c.duration)), cell(clock(c.talk_time), 'talk'),
       cell(c.cost === undefined ? '' : money(c.cost), 'num')].forEach(td => tr.appendChild(td));
      body.appendChild(tr);
    }
  }
  async function poll() {
    try {
      const resp = await fetch(table.dataset.api, {credentials: 'same-origin',
                                                   headers: {'Accept': 'application/json'}});
      if (resp.ok) { render((await resp.json()).items); status.textContent = ''; }
      else status.textContent = 'HTTP ' + resp.status;
    } catch (e) { status.textContent = String(e); }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
