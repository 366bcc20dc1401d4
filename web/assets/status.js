// The status page's script (web/status_page.h): draws the charts as inline SVG from
// /api/v1/query_range, and creates and expires silences through /api/v1/silences. It
// talks to this origin only, and the page reads without it (the server renders the rest).
'use strict';
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const WIDTH = 640, HEIGHT = 220, LEFT = 56, RIGHT = 12, TOP = 10, BOTTOM = 24;
  const MAX_SERIES = 8;

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  // --- the API -----------------------------------------------------------------------

  async function api(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!res.ok) throw new Error((json && json.error) || text || ('HTTP ' + res.status));
    return json;
  }

  // --- silences ------------------------------------------------------------------------

  // `a="x", b=~"y.*"` (values quoted, with \" \\ \n escapes) into the API's matcher objects.
  function parseMatchers(text) {
    const out = [];
    const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
    let at = 0;
    while (at < text.length) {
      re.lastIndex = at;
      const m = re.exec(text);
      if (!m) throw new Error('matchers: expected name="value" at "' + text.slice(at, at + 20) + '"');
      const value = m[3].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      out.push({ name: m[1], value, isRegex: m[2] === '=~' || m[2] === '!~', isEqual: m[2] === '=' || m[2] === '=~' });
      at = re.lastIndex;
      if (m[4] === '') break;
    }
    if (!out.length) throw new Error('matchers: give at least one, as name="value"');
    return out;
  }

  function setupSilences() {
    const form = document.getElementById('silence-form');
    if (form) {
      const result = form.querySelector('.result');
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const data = new FormData(form);
        try {
          const matchers = parseMatchers(String(data.get('matchers')));
          const seconds = Number(data.get('duration'));
          await api('POST', '/api/v1/silences', {
            matchers,
            endsAt: new Date(Date.now() + seconds * 1000).toISOString(),
            createdBy: String(data.get('createdBy')),
            comment: String(data.get('comment')),
          });
          result.textContent = 'Silence created.';
          location.reload();
        } catch (e) {
          result.textContent = 'Not created: ' + e.message;
        }
      });
    }
    for (const button of document.querySelectorAll('button.expire')) {
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          await api('DELETE', '/api/v1/silences/' + encodeURIComponent(button.dataset.id));
          location.reload();
        } catch (e) {
          button.disabled = false;
          button.textContent = 'Expire (failed: ' + e.message + ')';
        }
      });
    }
    for (const button of document.querySelectorAll('button.silence-alert')) {
      button.addEventListener('click', () => {
        if (!form) return;
        form.elements.matchers.value = button.dataset.matchers;
        form.scrollIntoView();
        form.elements.createdBy.focus();
      });
    }
  }

  // --- charts --------------------------------------------------------------------------

  function seconds(window) {
    const m = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(window || '');
    if (!m) return Infinity;
    return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2]];
  }

  // Series of the shortest `window` label only (collectors publish one per window).
  function shortestWindow(result) {
    let best = Infinity;
    for (const s of result) best = Math.min(best, seconds(s.metric.window));
    return result.filter((s) => seconds(s.metric.window) === best || best === Infinity);
  }

  const percent = (v) => (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%';
  const plain = (v) => (Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + 'M' : Math.abs(v) >= 1e4 ? (v / 1e3).toFixed(1) + 'k' : String(Math.round(v * 100) / 100));

  const CHARTS = {
    errors: {
      query: 'cargo_workflow_error_ratio',
      pick: shortestWindow,
      name: (m) => m.workflow_name || m.workflow_uuid || 'workflow',
      format: percent,
      empty: 'No error ratio yet (the run_counts collector publishes it).',
    },
    credits: {
      query: 'cargo_credits_available',
      pick: (r) => r,
      name: () => 'credits left',
      format: plain,
      forecast: 'cargo_credits_exhaustion_forecast_seconds',
      empty: 'No credit balance yet (the subscription collector publishes it).',
    },
    runs: {
      query: 'sum by (status, window) (cargo_workflow_runs)',
      pick: shortestWindow,
      name: (m) => m.status || 'runs',
      format: plain,
      empty: 'No run counts yet (the run_counts collector publishes them).',
    },
  };

  async function queryRange(query, start, end, step) {
    const params = new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) });
    const answer = await api('GET', '/api/v1/query_range?' + params.toString());
    return answer.data.result.map((s) => ({
      metric: s.metric,
      values: s.values.map(([t, v]) => [Number(t), Number(v)]).filter(([, v]) => Number.isFinite(v)),
    })).filter((s) => s.values.length > 0);
  }

  function duration(s) {
    if (s < 3600) return Math.round(s / 60) + ' min';
    if (s < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' days';
  }

  function clock(t) {
    const d = new Date(t * 1000);
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  function draw(figure, spec, series, start, end, forecast) {
    for (const old of figure.querySelectorAll('svg, ul.legend, p.chart-note')) old.remove();
    const note = (text) => {
      const p = document.createElement('p');
      p.className = 'chart-note';
      p.textContent = text;
      figure.appendChild(p);
    };
    if (!series.length) {
      note(spec.empty);
      return;
    }
    // The busiest MAX_SERIES by their largest value.
    series.sort((a, b) => Math.max(...b.values.map((x) => x[1])) - Math.max(...a.values.map((x) => x[1])));
    series = series.slice(0, MAX_SERIES);
    let xMax = end;
    let projection = null;
    if (forecast !== null && spec.forecast) {
      const last = series[0].values[series[0].values.length - 1];
      if (forecast > 0 && Number.isFinite(forecast)) {
        projection = { from: last, to: [last[0] + forecast, 0] };
        xMax = Math.max(end, Math.min(last[0] + forecast, end + (end - start)));
      }
    }
    let yMax = 0, yMin = 0;
    for (const s of series) for (const [, v] of s.values) { yMax = Math.max(yMax, v); yMin = Math.min(yMin, v); }
    if (yMax === yMin) yMax = yMin + 1;
    const x = (t) => LEFT + ((t - start) / (xMax - start)) * (WIDTH - LEFT - RIGHT);
    const y = (v) => TOP + (1 - (v - yMin) / (yMax - yMin)) * (HEIGHT - TOP - BOTTOM);
    const caption = figure.querySelector('figcaption').textContent;
    const svg = el('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': caption, class: 'plot' });
    for (const v of [yMin, (yMin + yMax) / 2, yMax]) {
      el('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y(v), y2: y(v), class: 'grid' }, svg);
      el('text', { x: LEFT - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, svg).textContent = spec.format(v);
    }
    el('text', { x: LEFT, y: HEIGHT - 6, class: 'tick' }, svg).textContent = clock(start);
    el('text', { x: x(end), y: HEIGHT - 6, 'text-anchor': xMax > end ? 'middle' : 'end', class: 'tick' }, svg).textContent = 'now';
    const legend = document.createElement('ul');
    legend.className = 'legend';
    series.forEach((s, i) => {
      let d = '';
      let previous = null;
      for (const [t, v] of s.values) {
        // A gap of more than two steps is a gap in the line.
        const joined = previous !== null && t - previous <= 2 * s.step;
        d += (joined ? 'L' : 'M') + x(t).toFixed(1) + ' ' + y(v).toFixed(1);
        previous = t;
      }
      if (s.values.length === 1) d += 'h0.01';  // one sample: drawn as a dot (round caps)
      el('path', { d, class: 'line s' + i }, svg);
      const item = document.createElement('li');
      const swatch = el('svg', { viewBox: '0 0 10 10', width: 10, height: 10, 'aria-hidden': 'true' }, item);
      el('rect', { width: 10, height: 10, class: 'swatch s' + i }, swatch);
      const last = s.values[s.values.length - 1][1];
      item.appendChild(document.createTextNode(' ' + spec.name(s.metric) + ': ' + spec.format(last)));
      legend.appendChild(item);
    });
    if (projection) {
      // Cut where the chart ends: the balance then, on the line to zero.
      const [t0, v0] = projection.from;
      const t1 = Math.min(projection.to[0], xMax);
      const v1 = v0 * (1 - (t1 - t0) / (projection.to[0] - t0));
      el('path', {
        d: `M${x(t0).toFixed(1)} ${y(v0).toFixed(1)}L${x(t1).toFixed(1)} ${y(v1).toFixed(1)}`,
        class: 'forecast',
      }, svg);
    }
    figure.appendChild(svg);
    figure.appendChild(legend);
    if (spec.forecast) {
      note(forecast !== null && Number.isFinite(forecast) && forecast > 0
        ? 'At the current burn the credits run out in about ' + duration(forecast) + ' (dashed).'
        : 'No exhaustion forecast: nothing is burning credits, or the subscription collector has not run.');
    }
  }

  async function drawAll(range) {
    const end = Math.floor(Date.now() / 1000);
    const start = end - range;
    const step = Math.max(15, Math.round(range / 120));
    await Promise.all(Array.from(document.querySelectorAll('figure[data-chart]')).map(async (figure) => {
      const spec = CHARTS[figure.dataset.chart];
      figure.setAttribute('aria-busy', 'true');
      try {
        const series = spec.pick(await queryRange(spec.query, start, end, step));
        for (const s of series) s.step = step;
        let forecast = null;
        if (spec.forecast) {
          const f = await queryRange(spec.forecast, end - 5 * step, end, step);
          if (f.length) forecast = f[0].values[f[0].values.length - 1][1];
        }
        draw(figure, spec, series, start, end, forecast);
      } catch (e) {
        draw(figure, { empty: 'Cannot draw: ' + e.message }, [], start, end, null);
      } finally {
        figure.removeAttribute('aria-busy');
      }
    }));
  }

  function setupCharts() {
    const buttons = document.querySelectorAll('.ranges button');
    for (const button of buttons) {
      button.addEventListener('click', () => {
        for (const b of buttons) b.setAttribute('aria-pressed', String(b === button));
        drawAll(Number(button.dataset.range));
      });
    }
    const pressed = document.querySelector('.ranges button[aria-pressed="true"]');
    if (pressed) drawAll(Number(pressed.dataset.range));
  }

  setupSilences();
  setupCharts();
})();
