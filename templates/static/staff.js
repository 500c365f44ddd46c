// Live staff pages. The server names each request that changes
// (/staff/events, server-sent events); the page fetches itself again and
// swaps in its parts marked data-live. Without JavaScript every page works
// the same, by reloading it.
(() => {
  'use strict';
  const main = document.querySelector('main[data-live-page]');
  if (!main || !window.EventSource) return;
  const request = main.dataset.request || ''; // set on a request's page
  const url = main.dataset.livePage || location.href;
  let timer = 0, busy = false, again = false;

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      // The header keeps a message left for the page (a flash) for it.
      const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html', 'X-Townline-Live': '1' } });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      for (const el of document.querySelectorAll('[data-live]')) {
        const fresh = doc.querySelector(`[data-live="${el.dataset.live}"]`);
        if (fresh) el.replaceWith(document.importNode(fresh, true));
      }
      // Forms keep the version they were filled against: the server
      // refuses to act on it blind, and this says so before they are sent.
      const next = doc.querySelector('main[data-live-page]');
      const changed = document.getElementById('changed');
      if (changed && next && next.dataset.seen !== main.dataset.seen) changed.hidden = false;
    } catch (e) {
      // The next change, or the stream's reconnection, tries again.
    } finally {
      busy = false;
      if (again) { again = false; schedule(); }
    }
  }

  // Changes come in bursts (a reply, then its delivery receipts): one fetch.
  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, 250); }

  const events = new EventSource('/staff/events?since=' + encodeURIComponent(main.dataset.since || ''));
  // The page says on its root whether it is live (tests wait for it).
  events.addEventListener('open', () => { document.documentElement.dataset.live = 'on'; });
  events.addEventListener('error', () => { document.documentElement.dataset.live = 'off'; });
  events.addEventListener('change', (e) => {
    if (!request || JSON.parse(e.data).request === Number(request)) schedule();
  });
  events.addEventListener('reload', schedule);
})();

// A text reply's size as the resident receives it, measured by the server
// (the same rules as when it is sent) as it is typed.
(() => {
  'use strict';
  const box = document.querySelector('textarea[data-before]');
  const out = document.getElementById('length');
  if (!box || !out) return;
  let timer = 0;
  async function measure() {
    const body = new URLSearchParams({ text: box.dataset.before + box.value + box.dataset.after });
    try {
      const res = await fetch('/staff/segments', { method: 'POST', body, credentials: 'same-origin' });
      if (!res.ok) return;
      const l = await res.json();
      out.textContent = l.text;
      out.className = l.over ? 'problem' : 'muted';
    } catch (e) {
      // The count shown stays; the server checks the length when sent.
    }
  }
  box.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(measure, 200); });
})();

// The request's map: its pin, and the open requests nearby that may be
// the same issue. Without tiles (or without script) the address and
// coordinates on the page still say where it is.
(() => {
  'use strict';
  const el = document.getElementById('map');
  if (!el || !window.L) return;
  L.Icon.Default.imagePath = '/staff/static/leaflet/images/';
  const here = [Number(el.dataset.lat), Number(el.dataset.lng)];
  const map = L.map(el).setView(here, 17);
  if (el.dataset.tiles) {
    const osm = el.dataset.tiles.includes('openstreetmap.org');
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: osm ? '© OpenStreetMap contributors' : '' }).addTo(map);
  }
  L.marker(here, { title: 'This request', keyboard: false }).addTo(map);
  for (const li of document.querySelectorAll('li[data-nearby]')) {
    L.circleMarker([Number(li.dataset.lat), Number(li.dataset.lng)], { radius: 8, color: '#a4000f' })
      .addTo(map).bindTooltip('#' + li.dataset.nearby);
  }
})();
