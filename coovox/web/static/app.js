// Small helpers shared by pages: CSRF header for fetch, dialogs, select-all checkboxes.
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  window.coovoxFetch = function (url, opts) {
    opts = opts || {};
    opts.headers = Object.assign({'X-CSRF-Token': meta ? meta.content : ''}, opts.headers || {});
    opts.credentials = 'same-origin';
    return fetch(url, opts);
  };
})();
