// A report form's map and questions, on the residents' /report and the
// front desk's new request alike, and a request's map on its public page. Without script the address places the
// report, and every service's questions show (only the picked one's are
// read).

// The map: a click, or the phone's position, puts the pin, which places
// the report (the form's hidden lat and lng).
(() => {
  'use strict';
  const el = document.getElementById('pick');
  if (!el || !window.L) return;
  L.Icon.Default.imagePath = el.dataset.icons;
  const lat = document.getElementById('n-lat'), lng = document.getElementById('n-lng');
  const map = L.map(el).setView([Number(el.dataset.lat), Number(el.dataset.lng)], 14);
  if (el.dataset.tiles) {
    const osm = el.dataset.tiles.includes('openstreetmap.org');
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: osm ? '© OpenStreetMap contributors' : '' }).addTo(map);
  }
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
  if (el.dataset.tiles) {
    const osm = el.dataset.tiles.includes('openstreetmap.org');
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: osm ? '© OpenStreetMap contributors' : '' }).addTo(map);
  }
  L.marker(at, { keyboard: false }).addTo(map);
})();
