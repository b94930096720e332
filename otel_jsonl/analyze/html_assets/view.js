/* otel-jsonl view: draws one run (or the aligned diff of two) from the JSON data block.
 *
 * Every recorded value is untrusted: the DOM is built with createElement and textContent only
 * (never innerHTML), nothing recorded becomes a link, an attribute that is a URL, or markup.
 * The step list is virtualised: only the rows in and near the viewport exist in the DOM, so a
 * 10,000-step run costs the same to draw as a 40-step one. No network, no storage required. */
(function () {
  'use strict';

  var DATA = JSON.parse(document.getElementById('otel-jsonl-data').textContent);
  var RUNS = DATA.runs;
  var DIFF = DATA.diff || null;
  var KNOWN = { input: 1, llm_call: 1, tool_call: 1, tool_result: 1, error: 1, final: 1 };
  var OVERSCAN = 600; // px drawn above and below the viewport

  // ---- small helpers ------------------------------------------------------------------------

  function h(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined && text !== null) el.textContent = String(text);
    return el;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function isObj(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function has(o, k) { return isObj(o) && Object.prototype.hasOwnProperty.call(o, k); }
  function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }
  var INT = new Intl.NumberFormat('en-US'); // one formatter: toLocaleString builds one per call
  function fmtInt(n) { return n === null || n === undefined ? '?' : INT.format(Number(n)); }
  function fmtDur(s) {
    if (s === null || s === undefined || !isFinite(s)) return '';
    if (s < 0.001) return '<1 ms';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 60) return s.toFixed(2) + ' s';
    var m = Math.floor(s / 60);
    return m + 'm ' + String(Math.round(s - m * 60)).padStart(2, '0') + 's';
  }
  function fmtAt(s) { return s !== null && s !== undefined && Math.abs(s) < 0.0005 ? '0 ms' : fmtDur(s); }
  function fmtTime(ts) {
    if (num(ts) === null) return '?';
    try { return new Date(ts * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'); }
    catch (e) { return String(ts); }
  }
  function fmtCost(c) {
    if (c === null || c === undefined) return '?';
    if (c === 0) return '$0';
    return c >= 1 ? '$' + c.toFixed(2) : '$' + c.toFixed(c >= 0.01 ? 4 : 6);
  }
  function oneLine(v, width) {
    var t = typeof v === 'string' ? v : safeJSON(v);
    t = t.replace(/\s+/g, ' ').trim();
    return t.length > width ? t.slice(0, width - 1) + '\u2026' : t;
  }
  function safeJSON(v, indent) {
    try { var s = JSON.stringify(v, null, indent); return s === undefined ? String(v) : s; }
    catch (e) { return String(v); }
  }
  function kindClass(kind) { return 'k-' + (KNOWN[kind] ? kind : 'other'); }
  function ptrJoin(base, key) {
    return base + '/' + String(key).replace(/~/g, '~0').replace(/\//g, '~1');
  }
  function parseMaybeJSON(s) {
    if (typeof s !== 'string') return undefined;
    var t = s.trim();
    if (!(t.charAt(0) === '{' || t.charAt(0) === '[')) return undefined;
    try { return JSON.parse(t); } catch (e) { return undefined; }
  }

  // ---- pretty JSON as DOM (keys and values as text nodes; changed pointers marked) ----------

  function jsonTree(value, ptr, ctx) {
    var pre = h('pre', 'json');
    // A huge value (an embedded document, a long array) as one text node, not a node per token.
    if (!(ctx && ctx.changed)) {
      var flat = safeJSON(value, 2);
      if (flat.length > 100000) { pre.textContent = flat; return pre; }
    }
    writeJSON(pre, value, ptr || '', ctx || {}, '');
    return pre;
  }
  function writeJSON(out, v, ptr, ctx, ind) {
    var target = out;
    if (ctx.changed && ctx.changed[ptr]) { target = h('span', 'chg'); out.appendChild(target); }
    if (Array.isArray(v)) {
      if (!v.length) { target.appendChild(document.createTextNode('[]')); return; }
      target.appendChild(document.createTextNode('[\n'));
      for (var i = 0; i < v.length; i++) {
        target.appendChild(document.createTextNode(ind + '  '));
        writeJSON(target, v[i], ptrJoin(ptr, i), ctx, ind + '  ');
        target.appendChild(document.createTextNode(i < v.length - 1 ? ',\n' : '\n'));
      }
      target.appendChild(document.createTextNode(ind + ']'));
    } else if (isObj(v)) {
      var keys = Object.keys(v);
      if (!keys.length) { target.appendChild(document.createTextNode('{}')); return; }
      target.appendChild(document.createTextNode('{\n'));
      for (var j = 0; j < keys.length; j++) {
        target.appendChild(document.createTextNode(ind + '  '));
        target.appendChild(h('span', 'k', JSON.stringify(keys[j])));
        target.appendChild(document.createTextNode(': '));
        writeJSON(target, v[keys[j]], ptrJoin(ptr, keys[j]), ctx, ind + '  ');
        target.appendChild(document.createTextNode(j < keys.length - 1 ? ',\n' : '\n'));
      }
      target.appendChild(document.createTextNode(ind + '}'));
    } else if (typeof v === 'string') {
      target.appendChild(h('span', 's', JSON.stringify(v)));
    } else if (typeof v === 'number') {
      target.appendChild(h('span', 'n', String(v)));
    } else {
      target.appendChild(h('span', 'z', String(v)));
    }
  }
  // A value as a human reads it: strings as text (JSON in a string pretty-printed), the rest as JSON.
  function valueBlock(v, ptr, ctx) {
    if (typeof v === 'string') {
      var parsed = parseMaybeJSON(v);
      if (parsed !== undefined) return jsonTree(parsed, null, {});
      var pre = h('pre', 'text-block', v);
      if (ctx && ctx.changed && ctx.changed[ptr]) pre.classList.add('chg');
      return pre;
    }
    return jsonTree(v, ptr, ctx);
  }
  function markChanged(el, ptr, ctx) {
    if (ctx && ctx.changed && ctx.changed[ptr]) el.classList.add('chg');
    return el;
  }

  // ---- messages in any of the recorded forms -> chat bubbles ------------------------------

  function normParts(m, ptr) {
    var items = [];
    function text(t, p, cls) { items.push({ t: cls || 'text', text: t, ptr: p }); }
    if (Array.isArray(m.parts)) {
      m.parts.forEach(function (p, i) {
        var pp = ptrJoin(ptrJoin(ptr, 'parts'), i);
        if (!isObj(p)) { items.push({ t: 'other', value: p, ptr: pp }); return; }
        if (p.type === 'text') text(p.content !== undefined ? p.content : p.text, ptrJoin(pp, 'content'));
        else if (p.type === 'reasoning' || p.type === 'thinking') text(p.content, ptrJoin(pp, 'content'), 'reasoning');
        else if (p.type === 'tool_call') items.push({ t: 'call', name: p.name, id: p.id, args: p.arguments, ptr: ptrJoin(pp, 'arguments') });
        else if (p.type === 'tool_call_response') items.push({ t: 'result', id: p.id, value: p.response !== undefined ? p.response : p.result, ptr: ptrJoin(pp, 'response') });
        else items.push({ t: 'other', value: p, ptr: pp });
      });
      return items;
    }
    var c = m.content;
    if (typeof c === 'string') text(c, ptrJoin(ptr, 'content'));
    else if (Array.isArray(c)) {
      c.forEach(function (b, i) {
        var bp = ptrJoin(ptrJoin(ptr, 'content'), i);
        if (typeof b === 'string') { text(b, bp); return; }
        if (!isObj(b)) { items.push({ t: 'other', value: b, ptr: bp }); return; }
        if (b.type === 'text' || b.type === 'input_text' || b.type === 'output_text') text(b.text !== undefined ? b.text : b.content, ptrJoin(bp, 'text'));
        else if (b.type === 'thinking') text(b.thinking, ptrJoin(bp, 'thinking'), 'reasoning');
        else if (b.type === 'tool_use') items.push({ t: 'call', name: b.name, id: b.id, args: b.input, ptr: ptrJoin(bp, 'input') });
        else if (b.type === 'tool_result') items.push({ t: 'result', id: b.tool_use_id, value: b.content, ptr: ptrJoin(bp, 'content') });
        else items.push({ t: 'other', value: b, ptr: bp });
      });
    } else if (c !== undefined && c !== null) items.push({ t: 'other', value: c, ptr: ptrJoin(ptr, 'content') });
    if (Array.isArray(m.tool_calls)) {
      m.tool_calls.forEach(function (tc, i) {
        var tp = ptrJoin(ptrJoin(ptr, 'tool_calls'), i);
        var fn = isObj(tc) && isObj(tc.function) ? tc.function : {};
        items.push({ t: 'call', name: fn.name, id: isObj(tc) ? tc.id : undefined, args: fn.arguments, ptr: ptrJoin(ptrJoin(tp, 'function'), 'arguments') });
      });
    }
    if (m.role === 'tool' && m.tool_call_id !== undefined && items.length && items[0].t === 'text') {
      items = [{ t: 'result', id: m.tool_call_id, value: items[0].text, ptr: items[0].ptr }].concat(items.slice(1));
    }
    return items;
  }
  function bubble(m, ptr, ctx) {
    if (!isObj(m)) return add(h('div', 'msg'), valueBlock(m, ptr, ctx));
    var role = typeof m.role === 'string' ? m.role : 'message';
    var cls = { user: 'user', assistant: 'assistant', system: 'system', developer: 'system', tool: 'tool', model: 'assistant' }[role] || 'other';
    var el = h('div', 'msg ' + cls);
    el.appendChild(h('div', 'role', role + (m.name ? ' \u00b7 ' + m.name : '')));
    normParts(m, ptr).forEach(function (it) { el.appendChild(itemNode(it, ctx)); });
    if (m.finish_reason) el.appendChild(h('div', 'role', 'finish: ' + m.finish_reason));
    return el;
  }
  function itemNode(it, ctx) {
    if (it.t === 'text' || it.t === 'reasoning') {
      return markChanged(h('div', 'text' + (it.t === 'reasoning' ? ' reasoning' : ''), it.text === undefined ? '' : it.text), it.ptr, ctx);
    }
    if (it.t === 'call') return callCard('\u2192 ', it.name, it.id, it.args, it.ptr, ctx);
    if (it.t === 'result') return callCard('\u2190 result ', null, it.id, it.value, it.ptr, ctx);
    return valueBlock(it.value, it.ptr, ctx);
  }
  function callCard(arrow, name, id, value, ptr, ctx) {
    var card = h('div', 'call');
    var head = h('div');
    head.appendChild(h('span', 'cn', arrow + (name === undefined || name === null ? '' : String(name))));
    if (id !== undefined && id !== null) head.appendChild(h('span', 'ci', 'id ' + id));
    card.appendChild(head);
    if (value !== undefined) card.appendChild(valueBlock(value, ptr, ctx));
    return card;
  }
  function messages(list, ptr, ctx) {
    var box = h('div', 'msgs');
    if (!Array.isArray(list)) list = [list];
    list.forEach(function (m, i) { box.appendChild(bubble(m, ptrJoin(ptr, i), ctx)); });
    return box;
  }

  // ---- the runs: steps, order, depth, times ------------------------------------------------

  function prepareRun(run) {
    var evs = run.events; // [[step, event], ...]
    var steps = [];
    var bySpan = {};
    var t0 = Infinity, t1 = -Infinity, anySpan = false;
    for (var i = 0; i < evs.length; i++) {
      var ev = evs[i][1];
      var ts = num(ev.ts), st = num(ev.start);
      var begin = st !== null ? st : ts;
      var s = { i: i, step: evs[i][0], ev: ev, kind: String(ev.kind), begin: begin, end: ts, dur: st !== null && ts !== null ? ts - st : null, depth: 0, run: run };
      steps.push(s);
      if (begin !== null) t0 = Math.min(t0, begin);
      if (ts !== null) t1 = Math.max(t1, ts);
      if (typeof ev.span_id === 'string') {
        anySpan = true;
        if (!bySpan[ev.span_id]) bySpan[ev.span_id] = s; else s.second = true;
      }
    }
    run.t0 = isFinite(t0) ? t0 : 0;
    run.t1 = isFinite(t1) ? t1 : run.t0;
    run.steps = steps;
    run.stepIndex = {};
    steps.forEach(function (s) { if (!(s.step in run.stepIndex)) run.stepIndex[s.step] = s; });
    run.order = anySpan ? treeOrder(steps, bySpan) : steps.slice();
  }
  // Spans nested as in the trace: depth-first from the roots, siblings by start time; the second
  // line of a split span (tool_result, final) sits after its first line's subtree, by end time.
  function treeOrder(steps, bySpan) {
    var kids = new Map(), roots = [];
    steps.forEach(function (s) {
      var ev = s.ev, parent = null;
      if (s.second) parent = bySpan[ev.span_id].parentStep || null;
      else if (typeof ev.parent_id === 'string' && bySpan[ev.parent_id] && bySpan[ev.parent_id] !== s) parent = bySpan[ev.parent_id];
      else if (!ev.span_id && ev.kind === 'error' && typeof ev.step === 'number') parent = null;
      s.parentStep = parent;
      s.key = s.second ? (s.end !== null ? s.end : s.begin) : s.begin;
      if (parent) { if (!kids.has(parent)) kids.set(parent, []); kids.get(parent).push(s); } else roots.push(s);
    });
    function cmp(a, b) { return ((a.key === null ? 0 : a.key) - (b.key === null ? 0 : b.key)) || (a.i - b.i); }
    var out = [], seen = new Set();
    function walk(list, depth) {
      list.sort(cmp);
      // iterative enough: recursion depth is the span depth, which is small
      for (var i = 0; i < list.length; i++) {
        var s = list[i];
        if (seen.has(s)) continue;
        seen.add(s); s.depth = depth; out.push(s);
        if (kids.has(s)) walk(kids.get(s), depth + 1);
      }
    }
    walk(roots, 0);
    steps.forEach(function (s) { if (!seen.has(s)) { seen.add(s); out.push(s); } });
    return out;
  }
  function isError(s) { return s.kind === 'error' || (s.kind === 'tool_result' && s.ev.is_error === true); }

  function toolNames(ev) {
    var out = [], msgs = Array.isArray(ev.output) ? ev.output : (isObj(ev.output) ? [ev.output] : []);
    if (isObj(ev.content)) msgs = [ev.content];
    msgs.forEach(function (m) {
      if (!isObj(m)) return;
      normParts(m, '').forEach(function (it) { if (it.t === 'call') out.push(String(it.name)); });
    });
    return out;
  }
  function firstText(list, role) {
    if (!Array.isArray(list)) list = isObj(list) ? [list] : [];
    for (var i = 0; i < list.length; i++) {
      var m = list[i];
      if (!isObj(m) || (role && m.role !== role)) continue;
      var items = normParts(m, '');
      for (var j = 0; j < items.length; j++) if (items[j].t === 'text' && typeof items[j].text === 'string') return items[j].text;
    }
    return null;
  }
  function usageOf(ev) {
    var u = isObj(ev.usage) ? ev.usage : {};
    function pick() { for (var i = 0; i < arguments.length; i++) if (num(u[arguments[i]]) !== null) return u[arguments[i]]; return null; }
    return { input: pick('input_tokens', 'prompt_tokens'), output: pick('output_tokens', 'completion_tokens') };
  }
  function resultOf(ev) {
    var keys = ['output', 'result', 'response', 'content'];
    for (var i = 0; i < keys.length; i++) if (has(ev, keys[i])) return { key: keys[i], value: ev[keys[i]] };
    return null;
  }
  function summaryText(s) {
    if (s.sum !== undefined) return s.sum;
    var ev = s.ev, k = s.kind, t = '';
    if (k === 'input') {
      var n = Array.isArray(ev.messages) ? ev.messages.length : 0;
      var user = firstText(ev.messages, 'user');
      t = (ev.system ? 'system + ' : '') + n + ' message' + (n === 1 ? '' : 's') + (user !== null ? ': ' + oneLine(user, 200) : '');
    } else if (k === 'llm_call') {
      var u = usageOf(ev);
      t = String(ev.model || ev.response_model || '?') + '  in ' + fmtInt(u.input || 0) + ' \u00b7 out ' + fmtInt(u.output || 0);
      if (ev.finish_reason) t += '  ' + oneLine(ev.finish_reason, 30);
      var tools = toolNames(ev);
      if (tools.length) t += '  \u2192 ' + tools.join(', ');
      else { var said = firstText(isObj(ev.content) ? [ev.content] : ev.output, 'assistant'); if (said) t += '  \u201c' + oneLine(said, 200) + '\u201d'; }
    } else if (k === 'tool_call') {
      var args = has(ev, 'args') ? ev.args : ev.arguments;
      t = String(ev.name === undefined ? '?' : ev.name) + '(' + (args === undefined ? '' : oneLine(args, 200)) + ')';
    } else if (k === 'tool_result') {
      var r = resultOf(ev);
      t = String(ev.name || ev.id || '?') + ' \u2192 ' + (r ? oneLine(r.value, 200) : '');
    } else if (k === 'error') {
      t = String(ev.type || (ev.tool ? 'tool ' + ev.tool : 'error')) + ': ' + oneLine(has(ev, 'message') ? ev.message : ev.err, 200);
    } else if (k === 'final') {
      var f = typeof ev.text === 'string' ? ev.text : firstText(ev.output, 'assistant');
      t = f === null ? '' : oneLine(f, 240);
    } else {
      var keys = ['name', 'event', 'model', 'query'];
      for (var i = 0; i < keys.length; i++) if (typeof ev[keys[i]] === 'string') { t = oneLine(ev[keys[i]], 200); break; }
    }
    s.sum = t;
    return t;
  }
  function searchText(s) {
    if (s.hay === undefined) {
      var blobs = s.run.blobs || {}, extra = '';
      if (isObj(s.ev.capped)) Object.keys(s.ev.capped).forEach(function (p) { var c = s.ev.capped[p]; if (isObj(c) && typeof blobs[c.sha256] === 'string') extra += '\n' + blobs[c.sha256]; });
      s.hay = (safeJSON(s.ev) + extra).toLowerCase();
    }
    return s.hay;
  }

  // ---- one step in full ----------------------------------------------------------------------

  function kv(pairs) {
    var dl = h('dl', 'kv');
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '') return;
      var dd = h('dd');
      if (p[1] instanceof Node) dd.appendChild(p[1]); else dd.textContent = String(p[1]);
      dl.appendChild(add(h('div'), h('dt', null, p[0]), dd));
    });
    return dl;
  }
  function section(title, body) { var f = document.createDocumentFragment(); add(f, h('h3', null, title), body); return f; }
  function fold(title, body, open) {
    var d = h('details'); if (open) d.open = true;
    add(d, h('summary', null, title), body);
    return d;
  }
  function usageTable(u) {
    var t = h('table', 'usage'), keys = Object.keys(u);
    keys.forEach(function (k) { var tr = h('tr'); add(tr, h('th', null, k), h('td', null, typeof u[k] === 'number' ? fmtInt(u[k]) : safeJSON(u[k]))); t.appendChild(tr); });
    return t;
  }
  function traceback(text) {
    var pre = h('pre', 'tb'), lines = String(text).replace(/\s+$/, '').split('\n');
    lines.forEach(function (line, i) {
      var cls = /^\s*File ".*", line \d+/.test(line) || /^\s+at .*\(.*:\d+(:\d+)?\)$/.test(line) ? 'tb-loc'
        : (i === lines.length - 1 || /^[A-Za-z_][\w.]*(Error|Exception|Warning|Interrupt|Exit)\b/.test(line)) ? 'tb-exc' : 'tb-code';
      pre.appendChild(h('span', cls, line));
      if (i < lines.length - 1) pre.appendChild(document.createTextNode('\n'));
    });
    return pre;
  }
  function stepLink(run, n, text) {
    var a = h('a', 'stepno', text || 'step ' + n);
    a.href = '#' + runPrefix(run) + 'step-' + Math.floor(n);
    // Open the step even when the address bar already holds its link (no hashchange then).
    a.addEventListener('click', function (e) {
      e.preventDefault();
      e.stopPropagation();
      try { history.replaceState(null, '', a.getAttribute('href')); } catch (err) { location.hash = a.getAttribute('href'); }
      openHash();
    });
    return a;
  }
  function runPrefix(run) { return DIFF && run.side === 'b' ? 'b-' : ''; }
  function cappedNotes(s) {
    var c = s.ev.capped, f = document.createDocumentFragment();
    if (!isObj(c)) return f;
    Object.keys(c).forEach(function (ptr) {
      var info = isObj(c[ptr]) ? c[ptr] : {}, sha = typeof info.sha256 === 'string' ? info.sha256 : '';
      var note = h('div', 'capnote');
      note.appendChild(h('span', null, ptr + ' was capped: the line keeps the first part of ' + fmtInt(num(info.size)) + ' bytes. '));
      var blobs = s.run.blobs || {}, links = s.run.blob_links || {};
      if (typeof blobs[sha] === 'string') {
        var btn = h('button', 'btn', 'show the full value');
        btn.type = 'button';
        btn.addEventListener('click', function (e) {
          e.stopPropagation();
          btn.replaceWith(h('pre', 'text-block full', blobs[sha]));
        });
        note.appendChild(btn);
      } else if (typeof links[sha] === 'string') {
        // The link is the page's own (a validated sha256 in the trace's blob store), not content.
        var a = h('a', null, 'open the full value (blob ' + sha.slice(0, 12) + '\u2026)');
        a.href = links[sha];
        a.rel = 'noopener noreferrer';
        note.appendChild(a);
      } else {
        note.appendChild(h('span', null, 'The full value is not beside this page (view with --full to embed it).'));
      }
      f.appendChild(note);
    });
    return f;
  }
  function stepDetail(s, ctx) {
    var ev = s.ev, k = s.kind, box = h('div', 'step-detail');
    var facts = [['step', s.step], ['kind', k], ['at', '+' + fmtAt(s.begin !== null ? s.begin - s.run.t0 : null) + ' (' + fmtTime(s.begin) + ')'], ['took', s.dur !== null ? fmtDur(s.dur) : '']];
    if (ev.span_id) facts.push(['span', ev.span_id + (ev.parent_id ? ' \u2190 ' + ev.parent_id : '')]);
    if (isObj(ev.otel) && ev.otel.name) facts.push(['span name', ev.otel.name]);
    if (k === 'llm_call') {
      facts.push(['model', ev.model], ['response model', ev.response_model !== ev.model ? ev.response_model : ''], ['provider', ev.provider], ['finish', ev.finish_reason], ['response id', ev.response_id]);
    }
    if (k === 'tool_call' || k === 'tool_result') facts.push(['tool', ev.name], ['call id', ev.id]);
    box.appendChild(kv(facts));
    box.appendChild(cappedNotes(s));
    if (k === 'input') {
      if (has(ev, 'system')) box.appendChild(section('system', markChanged(typeof ev.system === 'string' ? h('div', 'msg system text', ev.system) : valueBlock(ev.system, '/system', ctx), '/system', ctx)));
      if (has(ev, 'messages')) box.appendChild(section('messages', messages(ev.messages, '/messages', ctx)));
      if (has(ev, 'tools')) box.appendChild(fold('tools (' + (Array.isArray(ev.tools) ? ev.tools.length : 1) + ')', jsonTree(ev.tools, '/tools', ctx)));
    } else if (k === 'llm_call') {
      if (has(ev, 'input')) box.appendChild(fold('input messages (' + (Array.isArray(ev.input) ? ev.input.length : 1) + ')', add(h('div'), has(ev, 'system') ? valueBlock(ev.system, '/system', ctx) : null, messages(ev.input, '/input', ctx))));
      if (has(ev, 'output')) box.appendChild(section('output', messages(ev.output, '/output', ctx)));
      if (isObj(ev.content)) box.appendChild(section('output', add(h('div', 'msgs'), bubble(ev.content, '/content', ctx))));
      if (isObj(ev.usage)) box.appendChild(section('usage', usageTable(ev.usage)));
      if (has(ev, 'request')) box.appendChild(fold('request parameters', jsonTree(ev.request, '/request', ctx)));
    } else if (k === 'tool_call') {
      var ak = has(ev, 'args') ? 'args' : 'arguments';
      box.appendChild(section('arguments', valueBlock(ev[ak], '/' + ak, ctx)));
    } else if (k === 'tool_result') {
      var r = resultOf(ev);
      var res = r ? valueBlock(r.value, '/' + r.key, ctx) : h('div', 'empty', 'no result recorded');
      if (ev.is_error === true) res = add(h('div', 'errbox'), res);
      box.appendChild(section(ev.is_error === true ? 'result (error)' : 'result', res));
    } else if (k === 'error') {
      var eb = h('div', 'errbox');
      eb.appendChild(kv([['type', ev.type], ['message', has(ev, 'message') ? ev.message : ev.err], ['tool', ev.tool]]));
      if (num(ev.step) !== null) eb.appendChild(add(h('div'), h('span', null, 'belongs to '), stepLink(s.run, ev.step)));
      if (typeof ev.traceback === 'string') eb.appendChild(section('traceback', traceback(ev.traceback)));
      box.appendChild(eb);
    } else if (k === 'final') {
      if (typeof ev.text === 'string') box.appendChild(section('answer', add(h('div', 'msgs'), markChanged(add(h('div', 'msg assistant'), h('div', 'role', 'final answer'), h('div', 'text', ev.text)), '/text', ctx))));
      if (has(ev, 'output')) box.appendChild(section('output', messages(ev.output, '/output', ctx)));
    }
    if (isObj(ev.otel) && isObj(ev.otel.attrs)) box.appendChild(fold('span attributes', jsonTree(ev.otel.attrs, '/otel/attrs', ctx)));
    box.appendChild(fold('the whole line (JSON)', jsonTree(ev, '', ctx), !KNOWN[k]));
    return box;
  }

  // ---- header ----------------------------------------------------------------------------

  function fact(label, value, bad) {
    var li = h('li', bad ? 'bad' : null);
    add(li, h('span', 'l', label), document.createTextNode(' '), h('span', 'n', value));
    return li;
  }
  function runHeader(run, side) {
    var sm = run.summary || {}, box = h('section', 'run-head');
    var title = h('h1');
    if (side) title.appendChild(h('span', 'side', side));
    title.appendChild(document.createTextNode('run ' + run.run));
    add(box, title, h('p', 'src', run.source + (run.service ? ' \u00b7 service ' + run.service : '')));
    var ul = h('ul', 'facts');
    var tin = num(sm.input_tokens), tout = num(sm.output_tokens);
    add(ul,
      fact('start', fmtTime(sm.start !== undefined ? sm.start : run.t0)),
      fact('wall', fmtDur(num(sm.wall) !== null ? sm.wall : run.t1 - run.t0)),
      fact('steps', fmtInt(sm.steps !== undefined ? sm.steps : run.steps.length)),
      fact('llm calls', fmtInt(sm.llm_calls)),
      fact('tokens', fmtInt(tin) + ' in \u00b7 ' + fmtInt(tout) + ' out'),
      fact('cost', fmtCost(sm.cost_usd) + (Array.isArray(sm.unpriced_models) && sm.unpriced_models.length ? ' (no price: ' + sm.unpriced_models.join(', ') + ')' : '')),
      fact('errors', fmtInt(sm.errors), (sm.errors || 0) > 0));
    if (Array.isArray(sm.models) && sm.models.length) ul.appendChild(fact('model' + (sm.models.length > 1 ? 's' : ''), sm.models.join(', ')));
    if (isObj(sm.tool_calls)) {
      var tc = Object.keys(sm.tool_calls).map(function (n) { return n + ' \u00d7' + sm.tool_calls[n]; });
      if (tc.length) ul.appendChild(fact('tools', tc.join(', ')));
    }
    box.appendChild(ul);
    return box;
  }

  // ---- the virtual list ------------------------------------------------------------------

  var app = document.getElementById('app');
  var state = { kinds: {}, query: '', expanded: new Set(), current: 0, items: [], heights: null, measured: null, offsets: null, rows: new Map() };
  var list, countEl, searchEl, estimate = 36;

  RUNS.forEach(function (r, i) { r.side = DIFF ? (i === 0 ? 'a' : 'b') : ''; prepareRun(r); });

  // Items are what one row shows: a step (single view) or an aligned pair (diff view).
  var ALL = [];
  if (DIFF) {
    var A = RUNS[0], B = RUNS[1];
    DIFF.rows.forEach(function (r, i) {
      ALL.push({ id: i, a: r[0] === null ? null : A.steps[r[0]], b: r[1] === null ? null : B.steps[r[1]], status: r[2], paths: r[3] || [] });
    });
  } else {
    RUNS[0].order.forEach(function (s, i) { ALL.push({ id: i, a: s, b: null, status: null, paths: [] }); });
  }
  var kindCounts = {};
  ALL.forEach(function (it) { // a diff row counts once for each kind it shows
    var seen = {};
    [it.a, it.b].forEach(function (s) { if (s && !seen[s.kind]) { seen[s.kind] = 1; kindCounts[s.kind] = (kindCounts[s.kind] || 0) + 1; } });
  });
  Object.keys(kindCounts).forEach(function (k) { state.kinds[k] = true; });

  function itemKinds(it) { return [it.a, it.b].filter(Boolean); }
  function passes(it) {
    var ss = itemKinds(it), q = state.query;
    if (!ss.some(function (s) { return state.kinds[s.kind]; })) return false;
    if (!q) return true;
    return ss.some(function (s) { return searchText(s).indexOf(q) >= 0; });
  }
  function refilter(keepId) {
    state.items = ALL.filter(passes);
    var n = state.items.length;
    state.heights = new Float64Array(n);
    state.measured = new Uint8Array(n);
    for (var i = 0; i < n; i++) state.heights[i] = state.expanded.has(state.items[i].id) ? estimate * 6 : estimate;
    state.offsets = new Float64Array(n + 1);
    relayout();
    state.rows.forEach(function (el) { el.remove(); });
    state.rows.clear();
    var idx = 0;
    if (keepId !== undefined) { idx = state.items.findIndex(function (it) { return it.id === keepId; }); if (idx < 0) idx = 0; }
    state.current = Math.min(idx, Math.max(0, n - 1));
    countEl.textContent = n === ALL.length ? fmtInt(n) + (DIFF ? ' rows' : ' steps') : fmtInt(n) + ' of ' + fmtInt(ALL.length) + (DIFF ? ' rows' : ' steps');
    empty.hidden = n > 0;
    draw();
  }
  function relayout() {
    var n = state.items.length, off = state.offsets, hs = state.heights;
    off[0] = 0;
    for (var i = 0; i < n; i++) off[i + 1] = off[i] + hs[i];
    list.style.height = off[n] + 'px';
    state.rows.forEach(function (el, i) { el.style.top = off[i] + 'px'; });
  }
  function indexAt(y) { // the first item whose bottom is below y
    var off = state.offsets, lo = 0, hi = state.items.length - 1;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (off[mid + 1] <= y) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function listTop() { return list.getBoundingClientRect().top + window.scrollY; }
  var drawing = false;
  function draw() {
    drawing = false;
    var n = state.items.length;
    if (!n) return;
    var top = window.scrollY - listTop();
    var first = indexAt(Math.max(0, top - OVERSCAN));
    var last = indexAt(Math.max(0, top + window.innerHeight + OVERSCAN));
    state.rows.forEach(function (el, i) {
      if (i < first || i > last) { resizer.unobserve(el); el.remove(); state.rows.delete(i); }
    });
    for (var i = first; i <= last && i < n; i++) {
      if (!state.rows.has(i)) {
        var el = rowNode(state.items[i], i);
        el.style.top = state.offsets[i] + 'px';
        list.appendChild(el);
        state.rows.set(i, el);
        resizer.observe(el);
      }
    }
  }
  function schedule() { if (!drawing) { drawing = true; requestAnimationFrame(draw); } }
  // Rows report their real height (expanded steps, wrapped text, zoom); the list re-flows, and
  // keeps one row where it was on screen: the current step when it is on screen (a step opened
  // and left at once grows below it, not over the next one), else the first row on screen.
  // The first measured collapsed row re-estimates every row not yet drawn, so later rows
  // arrive at their height and scrolling does not re-flow the list on every frame.
  function anchorRow(top) {
    var c = state.current, off = state.offsets;
    if (c < state.items.length && off[c + 1] > top && off[c] < top + window.innerHeight) return c;
    return indexAt(Math.max(0, top));
  }
  var resizer = new ResizeObserver(function (entries) {
    var changed = false, top = window.scrollY - listTop(), hs = state.heights;
    var anchor = anchorRow(top), before = state.offsets[anchor];
    entries.forEach(function (e) {
      var el = e.target, i = Number(el.dataset.index);
      if (state.rows.get(i) !== el) return;
      var hgt = el.offsetHeight;
      if (!hgt) return;
      var collapsed = !state.expanded.has(state.items[i].id);
      if (collapsed && !state.measured[i] && Math.abs(hgt - estimate) > 0.5) {
        estimate = hgt;
        for (var j = 0; j < hs.length; j++) {
          if (!state.measured[j] && j !== i && !state.expanded.has(state.items[j].id)) hs[j] = hgt;
        }
        changed = true;
      }
      state.measured[i] = 1;
      if (Math.abs(hgt - hs[i]) > 0.5) { hs[i] = hgt; changed = true; }
    });
    if (changed) {
      relayout();
      var shift = state.offsets[anchor] - before;
      if (shift) window.scrollBy(0, shift);
      schedule();
    }
  });

  function track(s) {
    var run = s.run, span = run.t1 - run.t0, tr = h('div', 'track ' + kindClass(s.kind));
    if (s.begin === null) return tr;
    var left = span > 0 ? (s.begin - run.t0) / span : 0;
    if (s.dur !== null && span > 0) {
      var b = h('div', 'b');
      b.style.left = (left * 100).toFixed(3) + '%';
      b.style.width = Math.max(0, Math.min(1 - left, s.dur / span) * 100).toFixed(3) + '%';
      tr.appendChild(b);
    } else {
      var p = h('div', 'p');
      p.style.left = (Math.min(1, left) * 100).toFixed(3) + '%';
      tr.appendChild(p);
    }
    tr.title = '+' + fmtDur(s.begin - run.t0) + (s.dur !== null ? ', took ' + fmtDur(s.dur) : '');
    return tr;
  }
  function stepCells(s, parent) {
    var a = stepLink(s.run, s.step, '#' + s.step);
    var kind = h('span', 'kind ' + kindClass(s.kind), s.kind);
    var at = h('span', 'num', fmtAt(s.begin !== null ? s.begin - s.run.t0 : null));
    var took = h('span', 'num', s.dur !== null ? fmtDur(s.dur) : '');
    var sum = h('span', 'sum');
    if (s.depth) sum.style.paddingLeft = Math.min(s.depth, 12) * 0.9 + 'rem';
    if (isError(s)) sum.appendChild(h('span', 'tag err', 'error'));
    if (isObj(s.ev.capped) && Object.keys(s.ev.capped).length) sum.appendChild(h('span', 'tag capped', 'capped'));
    sum.appendChild(document.createTextNode(summaryText(s)));
    sum.title = summaryText(s);
    add(parent, a, kind, at);
    if (!DIFF) parent.appendChild(took);
    add(parent, sum);
  }
  function rowNode(it, i) {
    var row = h('div', 'row');
    row.setAttribute('role', 'listitem');
    row.dataset.index = String(i);
    var open = state.expanded.has(it.id);
    var line = h('div', 'line');
    line.tabIndex = i === state.current ? 0 : -1; // one tab stop for the list: the current step
    line.setAttribute('role', 'button');
    line.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (!DIFF) {
      var s = it.a;
      row.id = 'step-' + Math.floor(s.step);
      if (isError(s)) row.classList.add('is-err');
      stepCells(s, line);
      line.appendChild(track(s));
    } else {
      [it.a, 'mark', it.b].forEach(function (s, j) {
        if (s === 'mark') {
          var sym = { same: '=', changed: '\u2260', removed: '\u2212', inserted: '+' }[it.status] || '?';
          var mk = h('span', 'mark ' + (it.status || ''), sym);
          mk.title = it.status || '';
          line.appendChild(mk);
          return;
        }
        var cell = h('div', 'cell side-' + (j === 0 ? 'a' : 'b'));
        if (s) { stepCells(s, cell); if (isError(s)) row.classList.add('is-err'); }
        else { cell.classList.add('none'); cell.textContent = j === 0 ? 'not in run A' : 'not in run B'; }
        line.appendChild(cell);
      });
      if (it.status === 'changed' && it.paths.length) {
        line.appendChild(h('div', 'chgs', it.paths.map(function (p) { return p.path + ': ' + oneLine(p.a, 60) + ' \u2192 ' + oneLine(p.b, 60); }).join('   ')));
      }
    }
    line.addEventListener('click', function () { setCurrent(i, false); toggle(it); });
    row.appendChild(line);
    if (open) row.appendChild(detailNode(it));
    if (i === state.current) row.classList.add('current');
    if (state.query) { row.classList.add('hit'); highlight(row, state.query); }
    return row;
  }
  // Wrap each match of the search in <mark>, splitting text nodes (no markup is parsed).
  function highlight(root, q) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT), nodes = [], n;
    while ((n = walker.nextNode())) nodes.push(n);
    nodes.forEach(function (node) {
      var text = node.nodeValue, low = text.toLowerCase(), at = low.indexOf(q);
      if (at < 0 || node.parentNode.closest('summary')) return;
      var frag = document.createDocumentFragment(), from = 0, count = 0;
      while (at >= 0 && count++ < 200) {
        if (at > from) frag.appendChild(document.createTextNode(text.slice(from, at)));
        frag.appendChild(h('mark', null, text.slice(at, at + q.length)));
        from = at + q.length;
        at = low.indexOf(q, from);
      }
      frag.appendChild(document.createTextNode(text.slice(from)));
      node.parentNode.replaceChild(frag, node);
    });
  }
  function detailNode(it) {
    var d = h('div', 'detail');
    if (!DIFF) { d.appendChild(stepDetail(it.a, {})); return d; }
    var ca = {}, cb = {};
    it.paths.forEach(function (p) { ca[p.path] = true; cb[p.path] = true; });
    d.appendChild(it.a ? stepDetail(it.a, { changed: ca }) : h('div', 'empty', 'not in run A'));
    d.appendChild(it.b ? stepDetail(it.b, { changed: cb }) : h('div', 'empty', 'not in run B'));
    return d;
  }
  function rerow(i) {
    var old = state.rows.get(i);
    if (!old) return;
    var el = rowNode(state.items[i], i);
    el.style.top = state.offsets[i] + 'px';
    resizer.unobserve(old);
    old.replaceWith(el);
    state.rows.set(i, el);
    resizer.observe(el);
  }
  function toggle(it, force) {
    var open = force !== undefined ? force : !state.expanded.has(it.id);
    if (open) state.expanded.add(it.id); else state.expanded.delete(it.id);
    var i = state.items.indexOf(it);
    if (i >= 0) { rerow(i); focusRow(i); }
    if (open) permalink(it);
  }
  function permalink(it) {
    var s = it.a || it.b;
    if (!s) return;
    try { history.replaceState(null, '', '#' + runPrefix(s.run) + 'step-' + Math.floor(s.step)); } catch (e) { /* file:// in some browsers */ }
  }
  function setCurrent(i, scroll) {
    var n = state.items.length;
    if (!n) return;
    i = Math.max(0, Math.min(n - 1, i));
    var prev = state.rows.get(state.current);
    if (prev) { prev.classList.remove('current'); prev.firstChild.tabIndex = -1; }
    state.current = i;
    if (scroll) scrollToIndex(i);
    var el = state.rows.get(i);
    if (el) { el.classList.add('current'); el.firstChild.tabIndex = 0; }
    focusRow(i);
  }
  function focusRow(i) {
    var el = state.rows.get(i);
    if (el && document.activeElement !== searchEl) el.firstChild.focus({ preventScroll: true });
  }
  function scrollToIndex(i) {
    var top = listTop() + state.offsets[i], bottom = top + state.heights[i];
    var barH = bar.offsetHeight;
    if (top < window.scrollY + barH) window.scrollTo(0, top - barH - 8);
    else if (bottom > window.scrollY + window.innerHeight) window.scrollTo(0, Math.min(top - barH - 8, bottom - window.innerHeight + 8));
    draw();
  }
  function openHash() {
    var m = /^#(b-)?step-(\d+)$/.exec(location.hash);
    if (!m) return false;
    var side = m[1] ? 'b' : 'a', n = Number(m[2]);
    var it = ALL.find(function (x) { var s = x[side]; return s && s.step === n; });
    if (!it) return false;
    if (state.items.indexOf(it) < 0) { state.query = ''; searchEl.value = ''; Object.keys(state.kinds).forEach(function (k) { state.kinds[k] = true; }); syncChips(); refilter(); }
    state.expanded.add(it.id);
    var i = state.items.indexOf(it);
    rerow(i);
    setCurrent(i, true);
    return true;
  }

  // ---- the page ------------------------------------------------------------------------------

  var wrap = h('div', 'wrap' + (DIFF ? ' diff' : ''));
  var header = h('header', 'runs');
  RUNS.forEach(function (r) { header.appendChild(runHeader(r, DIFF ? (r.side === 'a' ? 'A' : 'B') : '')); });
  if (DIFF) {
    var dsum = h('div', 'diffsum');
    if (DIFF.equal) dsum.textContent = 'The runs are the same (' + fmtInt(DIFF.pairs) + ' steps aligned; times and ids ignored).';
    else {
      dsum.textContent = fmtInt(DIFF.differences) + ' difference' + (DIFF.differences === 1 ? '' : 's') + ' in ' + fmtInt(DIFF.changed_rows) + ' rows; ';
      if (DIFF.first) {
        dsum.appendChild(document.createTextNode('first at '));
        dsum.appendChild(stepLink(DIFF.first[0] === 'b' ? RUNS[1] : RUNS[0], DIFF.first[1]));
      }
    }
    header.appendChild(dsum);
  }
  var bar = h('div', 'bar');
  bar.setAttribute('role', 'toolbar');
  searchEl = h('input');
  searchEl.type = 'search';
  searchEl.placeholder = 'Search steps (press /)';
  searchEl.setAttribute('aria-label', 'Search steps');
  bar.appendChild(searchEl);
  var chips = {};
  Object.keys(kindCounts).sort().forEach(function (k) {
    var c = h('button', 'chip ' + kindClass(k));
    c.type = 'button';
    c.dataset.kind = k;
    c.setAttribute('aria-pressed', 'true');
    add(c, document.createTextNode(k), h('span', 'c', fmtInt(kindCounts[k])));
    c.addEventListener('click', function () { state.kinds[k] = !state.kinds[k]; syncChips(); refilter(currentId()); });
    chips[k] = c;
    bar.appendChild(c);
  });
  function syncChips() { Object.keys(chips).forEach(function (k) { chips[k].setAttribute('aria-pressed', state.kinds[k] ? 'true' : 'false'); }); }
  function currentId() { var it = state.items[state.current]; return it ? it.id : undefined; }
  countEl = h('span', 'count');
  var themeBtn = h('button', 'btn', 'theme'); themeBtn.type = 'button';
  themeBtn.title = 'Switch light / dark (t)';
  var helpBtn = h('button', 'btn', '?'); helpBtn.type = 'button';
  helpBtn.title = 'Keyboard shortcuts (?)';
  add(bar, countEl, themeBtn, helpBtn);
  var cols = h('div', 'line cols');
  cols.setAttribute('aria-hidden', 'true');
  if (DIFF) ['run A', '', 'run B'].forEach(function (t) { cols.appendChild(h('span', null, t)); });
  else ['step', 'kind', 'at', 'took', 'what', 'timeline'].forEach(function (t) { cols.appendChild(h('span', null, t)); });
  bar.appendChild(cols);
  var help = h('div', 'help');
  help.hidden = true;
  [['j / \u2193', 'next step'], ['k / \u2191', 'previous step'], ['Enter / o', 'open or close the step'], ['\u2192 / \u2190', 'open / close'],
    ['g / G', 'first / last step'], ['e / E', 'next / previous error'], ['/', 'search'], ['Esc', 'leave the search'], ['t', 'light / dark'], ['?', 'this help']]
    .forEach(function (p) { add(help, h('kbd', null, p[0]), document.createTextNode(' ' + p[1] + '   ')); });
  list = h('div', 'list');
  list.setAttribute('role', 'list');
  list.setAttribute('aria-label', DIFF ? 'aligned steps of runs A and B' : 'steps of the run');
  var empty = h('div', 'empty', 'No step matches.');
  empty.hidden = true;
  add(wrap, header, bar, help, empty, list);
  app.appendChild(wrap);

  var timer = null;
  searchEl.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.query = searchEl.value.trim().toLowerCase(); refilter(currentId()); }, 120);
  });
  function setTheme(next) { document.documentElement.setAttribute('data-theme', next); }
  themeBtn.addEventListener('click', function () {
    var cur = document.documentElement.getAttribute('data-theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
    setTheme(cur === 'dark' ? 'light' : 'dark');
  });
  helpBtn.addEventListener('click', function () { help.hidden = !help.hidden; });
  function nextError(dir) {
    var n = state.items.length;
    for (var k = 1; k <= n; k++) {
      var i = (state.current + dir * k + n) % n;
      if (itemKinds(state.items[i]).some(isError)) { setCurrent(i, true); return; }
    }
  }
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target === searchEl) {
      if (e.key === 'Escape' || e.key === 'Enter') { searchEl.blur(); setCurrent(state.current, true); e.preventDefault(); }
      return;
    }
    if (e.target && e.target.tagName === 'BUTTON' && (e.key === 'Enter' || e.key === ' ')) return;
    var it = state.items[state.current];
    switch (e.key) {
      case 'j': case 'ArrowDown': setCurrent(state.current + 1, true); break;
      case 'k': case 'ArrowUp': setCurrent(state.current - 1, true); break;
      case 'g': case 'Home': setCurrent(0, true); break;
      case 'G': case 'End': setCurrent(state.items.length - 1, true); break;
      case 'Enter': case 'o': case ' ': if (it) toggle(it); break;
      case 'ArrowRight': if (it) toggle(it, true); break;
      case 'ArrowLeft': if (it) toggle(it, false); break;
      case 'e': nextError(1); break;
      case 'E': nextError(-1); break;
      case '/': searchEl.focus(); searchEl.select(); break;
      case 't': themeBtn.click(); break;
      case '?': help.hidden = !help.hidden; break;
      default: return;
    }
    e.preventDefault();
  });
  window.addEventListener('scroll', schedule, { passive: true });
  window.addEventListener('resize', schedule);
  window.addEventListener('hashchange', openHash);
  refilter();
  openHash();
  document.documentElement.dataset.ready = 'true';
})();
