// A report form's map and questions, on the residents' /report and the
// front desk's new request alike, and a request's map on its public page. Without script the address places the
// report, and every service's questions show (only the picked one's are
// read).

// addTiles lays the city's tiles under a map, when it has any: without,
// the pins and the page's words still say where.
function addTiles(map, url) {
  if (!url) return;
  const osm = url.includes('openstreetmap.org');
  L.tileLayer(url, { maxZoom: 19, attribution: osm ? '© OpenStreetMap contributors' : '' }).addTo(map);
}

// The map: a click, or the phone's position, puts the pin, which places
// the report (the form's hidden lat and lng).
(() => {
  'use strict';
  const el = document.getElementById('pick');
  if (!el || !window.L) return;
  L.Icon.Default.imagePath = el.dataset.icons;
  const lat = document.getElementById('n-lat'), lng = document.getElementById('n-lng');
  const map = L.map(el).setView([Number(el.dataset.lat), Number(el.dataset.lng)], 14);
  addTiles(map, el.dataset.tiles);
  let pin = null;
  const put = (at) => {
    if (pin) pin.setLatLng(at); else pin = L.marker(at, { title: 'The problem', keyboard: false }).addTo(map);
    lat.value = at.lat.toFixed(6);
    lng.value = at.lng.toFixed(6);
  };
  if (lat.value && lng.value) put(L.latLng(Number(lat.value), Number(lng.value)));
  map.on('click', (e) => put(e.latlng));
  const locate = document.getElementById('locate');
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener('click', () => navigator.geolocation.getCurrentPosition((p) => {
      const at = L.latLng(p.coords.latitude, p.coords.longitude);
      put(at);
      map.setView(at, 17);
    }));
  }
})();

// The questions: those of the service picked, the others hidden.
(() => {
  'use strict';
  const pick = document.getElementById('n-service');
  if (!pick) return;
  const show = () => {
    for (const fs of document.querySelectorAll('fieldset.attrs')) fs.hidden = fs.dataset.service !== pick.value;
  };
  pick.addEventListener('change', show);
  show();
})();

// A request's public page: where it is, a pin on the map.
(() => {
  'use strict';
  const el = document.getElementById('where');
  if (!el || !window.L) return;
  L.Icon.Default.imagePath = el.dataset.icons;
  const at = [Number(el.dataset.lat), Number(el.dataset.lng)];
  const map = L.map(el, { scrollWheelZoom: false }).setView(at, 16);
  addTiles(map, el.dataset.tiles);
  L.marker(at, { keyboard: false }).addTo(map);
})();

// The public list: a pin for each placed request of the page, linking to
// it (the table beside says the same without script).
(() => {
  'use strict';
  const el = document.getElementById('places');
  const rows = document.querySelectorAll('tr[data-lat]');
  if (!el || !window.L || rows.length === 0) return;
  el.hidden = false;
  L.Icon.Default.imagePath = el.dataset.icons;
  const map = L.map(el, { scrollWheelZoom: false });
  addTiles(map, el.dataset.tiles);
  const pins = [];
  for (const row of rows) {
    const at = [Number(row.dataset.lat), Number(row.dataset.lng)];
    const link = document.createElement('a');
    link.href = '/requests/' + row.dataset.id;
    link.textContent = '#' + row.dataset.id;
    L.marker(at, { title: '#' + row.dataset.id }).bindPopup(link).addTo(map);
    pins.push(at);
  }
  map.fitBounds(pins, { maxZoom: 16, padding: [20, 20] });
})();
