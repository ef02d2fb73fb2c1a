// Small helpers shared by pages: CSRF header for fetch, confirmations, self-submitting
// selects. No inline scripts or handlers anywhere (the Content-Security-Policy forbids
// them): pages mark elements with data attributes and this file wires them up.
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  window.coovoxFetch = function (url, opts) {
    opts = opts || {};
    opts.headers = Object.assign({'X-CSRF-Token': meta ? meta.content : ''}, opts.headers || {});
    opts.credentials = 'same-origin';
    return fetch(url, opts);
  };
  function wire() {
    // <form data-confirm="Delete?">: ask before sending
    document.querySelectorAll('form[data-confirm]').forEach(function (form) {
      form.addEventListener('submit', function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
    // <select data-autosubmit>: send the form on change; data-reset-page="1" also goes
    // back to the first page of a list
    document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
      select.addEventListener('change', function () {
        const form = select.form;
        if (select.dataset.resetPage && form.elements.page) form.elements.page.value = 1;
        form.submit();
      });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wire);
  else wire();
})();
