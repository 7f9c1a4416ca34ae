(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('sgs-data').textContent);
  var V = D.verdicts, H = D.hosts, PAGE = 50;
  var F = {verdict: '', host: '', path: ''};
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function readHash() {
    F = {verdict: '', host: '', path: ''};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var i = kv.indexOf('='), v;
      if (i < 0) return;
      try { v = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' ')); } catch (e) { v = ''; }
      if (Object.prototype.hasOwnProperty.call(F, kv.slice(0, i))) F[kv.slice(0, i)] = v;
    });
  }
  function writeHash() {
    var p = [];
    Object.keys(F).forEach(function (k) { if (F[k]) p.push(k + '=' + encodeURIComponent(F[k])); });
    history.replaceState(null, '', p.length ? '#' + p.join('&') : location.pathname + location.search);
  }
  function has(s, q) { return !q || String(s).toLowerCase().indexOf(q.toLowerCase()) >= 0; }
  function hostOk(h) {
    if (!F.host) return true;
    var n = H[h][0];
    return F.host.charAt(0) === '=' ? n === F.host.slice(1) : has(n, F.host);
  }
  function verdictOk(v) { return !F.verdict || V[v] === F.verdict; }
  function vcell(v) {
    var td = el('td'), s = el('span', V[v], 'v');
    s.style.borderLeftColor = D.colors[v];
    td.appendChild(s);
    return td;
  }
  function hostLink(h) {
    var td = el('td'), a = el('a', H[h][0]);
    a.href = '#host=' + encodeURIComponent('=' + H[h][0]);
    td.appendChild(a);
    return td;
  }
  /* A paged table: cols are [heading, cell(row) -> td or text, class]. */
  function Table(id, cols, rows, ok, note) {
    var box = document.getElementById(id), page = 0;
    if (!box) return null;
    function render() {
      var match = [];
      for (var i = 0; i < rows.length; i++) if (ok(rows[i])) match.push(rows[i]);
      var pages = Math.max(1, Math.ceil(match.length / PAGE));
      if (page >= pages) page = pages - 1;
      while (box.firstChild) box.removeChild(box.firstChild);
      var st = el('p', null, 'status'), n = el('span', match.length);
      n.id = id + '-matching';
      n.setAttribute('data-n', match.length);
      st.appendChild(n);
      st.appendChild(document.createTextNode(' of ' + rows.length + ' rows match' +
        (match.length ? '; showing ' + (page * PAGE + 1) + '\u2013' +
        Math.min(match.length, (page + 1) * PAGE) : '') + (note ? '. ' + note : '')));
      box.appendChild(st);
      var t = el('table'), th = el('thead'), tr = el('tr'), tb = el('tbody');
      cols.forEach(function (c) { tr.appendChild(el('th', c[0], c[2])); });
      th.appendChild(tr);
      t.appendChild(th);
      match.slice(page * PAGE, (page + 1) * PAGE).forEach(function (r) {
        var row = el('tr');
        cols.forEach(function (c) {
          var x = c[1](r);
          row.appendChild(x instanceof Node ? x : el('td', x, c[2]));
        });
        tb.appendChild(row);
      });
      t.appendChild(tb);
      box.appendChild(t);
      if (pages > 1) {
        var pg = el('p', null, 'pager'), prev = el('button', 'previous'), next = el('button', 'next');
        prev.type = next.type = 'button';
        prev.disabled = page === 0;
        next.disabled = page >= pages - 1;
        prev.onclick = function () { page--; render(); };
        next.onclick = function () { page++; render(); };
        pg.appendChild(prev);
        pg.appendChild(document.createTextNode('page ' + (page + 1) + ' of ' + pages));
        pg.appendChild(next);
        box.appendChild(pg);
      }
    }
    return {render: render, reset: function () { page = 0; }};
  }
  function summary(counts) {
    var s = [];
    for (var v = 2; v < counts.length; v++) if (counts[v]) s.push(counts[v] + ' ' + V[v]);
    return s.join(', ') || 'all VALID';
  }
  var left = function (n, what) { return n ? n + ' ' + what + ' not embedded: the full detail is in the JSON Lines reports' : ''; };
  var tables = [
    Table('t-agents', [['host', function (r) { return hostLink(r[0]); }], ['verdict', function (r) { return vcell(r[1]); }],
      ['agent', function (r) { return r[2]; }, 'wrap'], ['reason', function (r) { return r[3]; }, 'wrap']],
      D.agents.slice().sort(function (a, b) { return a[1] - b[1]; }),
      function (r) { return verdictOk(r[1]) && hostOk(r[0]) && (has(r[2], F.path) || has(r[4], F.path) || has(r[3], F.path)); },
      left(D.agentsLeftOut, 'more agents not VALID')),
    Table('t-cas', [['missing CA', function (r) { return r[0]; }, 'wrap'], ['hosts', function (r) { return r[1]; }, 'num'],
      ['files', function (r) { return r[2]; }, 'num'], ['would be VALID after importing', function (r) { return r[4] || '(not found: run verify --search DIR)'; }, 'wrap']],
      D.cas, function (r) { return has(r[0], F.path) || has(r[4], F.path); }, ''),
    Table('t-findings', [['verdict', function (r) { return vcell(r[0]); }], ['hosts', function (r) { return r[4]; }, 'num'],
      ['files', function (r) { return r[5]; }, 'num'], ['path (first seen)', function (r) { return r[7] ? r[7] + ': ' + r[1] : r[1]; }, 'wrap'],
      ['reason', function (r) { return r[2]; }, 'wrap'], ['first host', function (r) { return hostLink(r[6]); }],
      ['digest', function (r) { return r[3].slice(0, 16); }]],
      D.findings, function (r) { return verdictOk(r[0]) && (has(r[1], F.path) || has(r[2], F.path)); },
      (D.findingsTotal > D.findings.length ? 'The worst ' + D.findings.length + ' of ' + D.findingsTotal + ' distinct findings' : '') +
      (D.untracked ? '; ' + D.untracked + ' records past the limit of distinct findings are counted above but not grouped' : '')),
    Table('t-hosts', [['host', function (r) { return hostLink(r.i); }], ['group', function (r) { return D.groups[r[1]]; }],
      ['files', function (r) { return r[2]; }, 'num'], ['not VALID', function (r) { return r[3]; }, 'num'],
      ['summary', function (r) { return summary(r[7]) + (r[5] ? ' (a run was interrupted)' : ''); }],
      ['runs', function (r) { return r[4]; }, 'num']],
      H.map(function (h, i) { var c = h.slice(); c.i = i; return c; }).sort(function (a, b) { return b[3] - a[3]; }),
      function (r) {
        return hostOk(r.i) && (!F.verdict || r[7][V.indexOf(F.verdict)] > 0);
      }, ''),
    Table('t-records', [['host', function (r) { return hostLink(r[0]); }], ['verdict', function (r) { return vcell(r[1]); }],
      ['path', function (r) { return r[2]; }, 'wrap'], ['reason', function (r) { return r[3]; }, 'wrap'],
      ['digest', function (r) { return r[4].slice(0, 16); }]],
      D.rows, function (r) { return verdictOk(r[1]) && hostOk(r[0]) && (has(r[2], F.path) || has(r[3], F.path)); },
      left(D.rowsLeftOut, 'more records not VALID'))
  ].filter(Boolean);
  var notes = document.getElementById('notes');
  D.notes.forEach(function (n) { notes.appendChild(el('p', n[1], 'note ' + (n[0] === 'warning' || n[0] === 'error' ? n[0] : 'notice'))); });
  var sel = document.getElementById('f-verdict'), fh = document.getElementById('f-host'), fp = document.getElementById('f-path');
  V.forEach(function (v, i) { if (i > 0) { var o = el('option', v); o.value = v; sel.appendChild(o); } });
  function show() {
    sel.value = F.verdict; fh.value = F.host; fp.value = F.path;
    tables.forEach(function (t) { t.reset(); t.render(); });
  }
  function fromForm() { F.verdict = sel.value; F.host = fh.value; F.path = fp.value; writeHash(); tables.forEach(function (t) { t.reset(); t.render(); }); }
  sel.onchange = fromForm;
  fh.oninput = fromForm;
  fp.oninput = fromForm;
  document.getElementById('f-clear').onclick = function () { sel.value = fh.value = fp.value = ''; fromForm(); };
  window.addEventListener('hashchange', function () { readHash(); show(); });
  readHash();
  show();
}());
