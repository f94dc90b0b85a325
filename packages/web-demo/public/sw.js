// RAGAN.ts demo service worker: the page keeps working offline after its first visit.
// On install it caches every file of the build (precache.json, written by vite.config.ts); then every
// same-origin GET goes to the network first (so a new build is picked up at once) and falls back to the
// cache when offline. Other origins are never touched (the page makes no such request anyway).
const CACHE = 'ragan-demo';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const res = await fetch('precache.json', { cache: 'no-store' });
      if (res.ok) {
        const { files } = await res.json();
        const cache = await caches.open(CACHE);
        await cache.addAll(files);
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      try {
        const res = await fetch(req);
        if (res.ok && res.type === 'basic') {
          const copy = res.clone();
          event.waitUntil(caches.open(CACHE).then((c) => c.put(req, copy)));
        }
        return res;
      } catch (err) {
        const hit = await caches.match(req, { ignoreSearch: true });
        if (hit) return hit;
        throw err;
      }
    })(),
  );
});
