/**
 * The status page's script (plain ES2017, no framework, no external resource): polls
 * /status.json every second and redraws the ring (SVG), the nodes table, the repair and the
 * transfers. Data is only ever put into the page as text (textContent), never as HTML.
 * Kept as a string so the build (tsc) ships it; test/unit/http.test.ts compiles it.
 */
export const APP_JS = String.raw`(function () {
  'use strict';
  var PALETTE = ['#2f81f7', '#e16f24', '#1a7f37', '#8250df', '#bf3989', '#0a7ea4', '#9a6700', '#cf222e', '#57606a', '#116329'];
  var SVG = 'http://www.w3.org/2000/svg';
  var POLL_MS = 1000;
  var colors = {};

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    setAttrs(e, attrs);
    return e;
  }
  function setAttrs(e, attrs) {
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function pct(x) { return (x * 100).toFixed(1) + '%'; }
  function bytes(n) {
    var units = ['B', 'KB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }
  function ms(n) {
    if (n === null || n === undefined || n < 0) return '-';
    if (n < 1000) return n + ' ms';
    if (n < 120000) return (n / 1000).toFixed(1) + ' s';
    return Math.round(n / 60000) + ' min';
  }
  function colorOf(id) { return colors[id] || '#999'; }

  function assignColors(nodes) {
    var ids = nodes.map(function (n) { return n.id; }).sort();
    colors = {};
    ids.forEach(function (id, i) { colors[id] = PALETTE[i % PALETTE.length]; });
  }

  // An annulus sector from fraction a to b (0 at the top, clockwise).
  function sector(cx, cy, r0, r1, a, b) {
    if (b - a >= 0.99999) b = a + 0.99999;
    function pt(r, f) {
      var t = f * 2 * Math.PI - Math.PI / 2;
      return (cx + r * Math.cos(t)).toFixed(2) + ' ' + (cy + r * Math.sin(t)).toFixed(2);
    }
    var large = b - a > 0.5 ? 1 : 0;
    return 'M ' + pt(r1, a) + ' A ' + r1 + ' ' + r1 + ' 0 ' + large + ' 1 ' + pt(r1, b) +
      ' L ' + pt(r0, b) + ' A ' + r0 + ' ' + r0 + ' 0 ' + large + ' 0 ' + pt(r0, a) + ' Z';
  }

  function drawRing(st) {
    var root = document.getElementById('ring');
    clear(root);
    var down = {};
    st.nodes.forEach(function (n) { if (n.state !== 'up') down[n.id] = true; });
    st.ring.forEach(function (seg) {
      root.appendChild(svg('path', { d: sector(160, 160, 118, 150, seg[0], seg[1]), fill: colorOf(seg[2]), 'fill-opacity': down[seg[2]] ? 0.3 : 1, 'data-owner': seg[2] }));
    });
    var at = 0;
    st.nodes.filter(function (n) { return n.primaryShare > 0; }).forEach(function (n) {
      var b = at + n.primaryShare;
      var p = svg('path', { d: sector(160, 160, 78, 110, at, b), fill: colorOf(n.id), 'fill-opacity': n.state === 'up' ? 0.85 : 0.3, stroke: '#fff', 'stroke-width': 1, 'data-node': n.id });
      var title = svg('title', {});
      title.textContent = n.id + ' (' + n.state + '): ' + pct(n.primaryShare) + ' primary';
      p.appendChild(title);
      root.appendChild(p);
      var mid = (at + b) / 2 * 2 * Math.PI - Math.PI / 2;
      var label = svg('text', { x: (160 + 94 * Math.cos(mid)).toFixed(1), y: (160 + 94 * Math.sin(mid) + 4).toFixed(1), 'text-anchor': 'middle', 'font-size': 11, fill: '#fff' });
      if (n.primaryShare > 0.04) label.textContent = n.id;
      root.appendChild(label);
      at = b;
    });
    var up = st.nodes.filter(function (n) { return n.state === 'up'; }).length;
    var t1 = svg('text', { x: 160, y: 156, 'text-anchor': 'middle', 'font-size': 20, 'font-weight': 600 });
    t1.textContent = up + ' / ' + st.nodes.length + ' up';
    var t2 = svg('text', { x: 160, y: 178, 'text-anchor': 'middle', 'font-size': 12, fill: '#667085' });
    t2.textContent = 'N=' + st.replicas + ' W=' + st.writeQuorum + ' R=' + st.readQuorum;
    root.appendChild(t1);
    root.appendChild(t2);
  }

  function drawNodes(st) {
    var body = document.querySelector('#nodes tbody');
    clear(body);
    st.nodes.forEach(function (n) {
      var badge = el('span', { 'class': 'badge ' + n.state, 'data-field': 'state' }, [n.state]);
      var load = n.load === null
        ? el('span', { 'class': 'muted', title: 'this node has not heard its load' }, ['unknown'])
        : (n.load.keys + ' keys, ' + bytes(n.load.engineBytes) + (n.load.ageMs > 2500 ? ' (' + ms(n.load.ageMs) + ' ago)' : ''));
      var held = n.load === null ? '-' : (n.load.hintsPending === 0 ? '0' : n.load.hintsPending + ' (' + bytes(n.load.hintsBytes) + ')');
      var hints = n.self ? '-' : (n.hints.count === 0 ? '0' : n.hints.count + ' (' + bytes(n.hints.bytes) + ', oldest ' + ms(n.hints.oldestAgeMs) + ')');
      var row = el('tr', { 'data-node': n.id, 'class': n.state }, [
        el('td', {}, [el('span', { 'class': 'swatch' }, [])]),
        el('td', { 'data-field': 'id' }, [n.id + (n.self ? ' (this node)' : '')]),
        el('td', {}, [n.address]),
        el('td', {}, [n.dc + ' / ' + n.rack]),
        el('td', {}, [badge]),
        el('td', { 'data-field': 'status' }, [n.status]),
        el('td', { 'data-field': 'primary' }, [pct(n.primaryShare)]),
        el('td', { 'data-field': 'replica' }, [pct(n.replicaShare)]),
        el('td', { 'data-field': 'load' }, [load]),
        el('td', { 'data-field': 'held' }, [held]),
        el('td', { 'data-field': 'hints' }, [hints]),
        el('td', {}, [n.self ? '-' : ms(n.heartbeatAgeMs)])
      ]);
      row.querySelector('.swatch').style.background = colorOf(n.id);
      body.appendChild(row);
    });
  }

  function bar(fraction, done) {
    var inner = el('div', {}, []);
    inner.style.width = Math.max(0, Math.min(100, fraction * 100)).toFixed(1) + '%';
    return el('div', { 'class': 'bar' + (done ? ' done' : ''), role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': (fraction * 100).toFixed(1) }, [inner]);
  }

  function kv(pairs) {
    var dl = el('dl', { 'class': 'kv' }, []);
    pairs.forEach(function (p) {
      dl.appendChild(el('dt', {}, [p[0]]));
      dl.appendChild(el('dd', p[2] ? { 'data-field': p[2] } : {}, [String(p[1])]));
    });
    return dl;
  }

  function drawRepair(st) {
    var box = document.querySelector('#repair .body');
    clear(box);
    var r = st.repair;
    if (r === null) {
      box.appendChild(el('p', { 'class': 'muted' }, [st.cluster ? 'anti-entropy is off on this node' : 'standalone node: no replicas to repair']));
      return;
    }
    var total = Number(r['ranges-total']) || 0;
    var done = Number(r['ranges-done']) || 0;
    var fraction = total === 0 ? 0 : done / total;
    var finished = r.state === 'done';
    box.appendChild(el('div', { 'class': 'repair-run', 'data-state': r.state, 'data-percent': (fraction * 100).toFixed(1) }, [
      bar(r.state === 'idle' ? 0 : fraction, finished),
      kv([
        ['state', r.state + (r.trigger ? ' (' + r.trigger + ')' : ''), 'state'],
        ['progress', r.state === 'idle' ? '-' : (fraction * 100).toFixed(1) + '% (' + done + ' / ' + total + ' ranges)', 'percent'],
        ['keys compared', r['keys-compared']],
        ['keys exchanged', r['keys-exchanged']],
        ['bytes', bytes(Number(r.bytes) || 0)],
        ['elapsed', ms(Number(r['elapsed-ms']))],
        ['eta', ms(Number(r['eta-ms']))],
        ['note', r.reason || '-']
      ])
    ]));
  }

  function drawTransfers(st) {
    var box = document.querySelector('#transfers .body');
    clear(box);
    var t = st.transfers;
    if (t === null) {
      box.appendChild(el('p', { 'class': 'muted' }, ['standalone node: no ring changes']));
      return;
    }
    var s = t.summary;
    box.appendChild(kv([
      ['this node', s.status],
      ['pending change', s.changes || 'none'],
      ['waiting for', s['waiting-for'] || '-'],
      ['cleanup', s.cleanup]
    ]));
    if (t.rows.length === 0) {
      box.appendChild(el('p', { 'class': 'muted' }, ['no transfers']));
      return;
    }
    var table = el('table', {}, [el('thead', {}, [el('tr', {}, ['direction', 'from', 'to', 'state', 'progress', 'keys', 'bytes', 'rate', 'eta'].map(function (h) { return el('th', {}, [h]); }))])]);
    var tb = el('tbody', {}, []);
    t.rows.forEach(function (row) {
      var inbound = row.direction === 'in';
      var frac = inbound ? Number(row.percent) / 100 : 0;
      tb.appendChild(el('tr', { 'class': 'transfer', 'data-state': row.state || 'serving', 'data-percent': inbound ? row.percent : '' }, [
        el('td', {}, [row.direction]),
        el('td', {}, [row.from]),
        el('td', {}, [row.to]),
        el('td', {}, [inbound ? row.state + (row.reason ? ' (' + row.reason + ')' : '') : 'serving']),
        el('td', {}, [inbound ? bar(frac, row.state === 'done') : '-']),
        el('td', {}, [String(row.keys)]),
        el('td', {}, [bytes(Number(row.bytes) || 0)]),
        el('td', {}, [inbound ? row['mb-per-sec'] + ' MB/s' : row.pages + ' pages']),
        el('td', {}, [inbound ? ms(Number(row['eta-ms'])) : '-'])
      ]));
    });
    table.appendChild(tb);
    box.appendChild(table);
  }

  function render(st) {
    assignColors(st.nodes);
    document.getElementById('self').textContent = st.self + ' (' + st.version + ')';
    document.title = 'quorumkv ' + st.self;
    var up = st.nodes.filter(function (n) { return n.state === 'up'; }).length;
    document.getElementById('summary').textContent = st.cluster ? (st.nodes.length + ' nodes, ' + up + ' up; N=' + st.replicas + ', W=' + st.writeQuorum + ', R=' + st.readQuorum) : 'standalone node';
    drawRing(st);
    drawNodes(st);
    drawRepair(st);
    drawTransfers(st);
  }

  function poll() {
    var conn = document.getElementById('conn');
    fetch('/status.json', { cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (st) {
        render(st);
        conn.className = 'conn';
        conn.textContent = 'updated ' + new Date(st.nowMs).toLocaleTimeString();
        document.body.setAttribute('data-updated', String(st.nowMs));
      })
      .catch(function (err) {
        conn.className = 'conn error';
        conn.textContent = 'node not reachable: ' + err.message;
      })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  poll();
})();
`;
