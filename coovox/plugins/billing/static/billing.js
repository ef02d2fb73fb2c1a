// Billing pages: checkbox selection with "N selected / M total", dialogs filled from rows.
(function () {
  const picks = () => Array.from(document.querySelectorAll("input.pick"));
  const chosen = () => picks().filter((p) => p.checked).map((p) => p.value);
  const count = document.querySelector("#selection-count .n");
  function update() { if (count) count.textContent = chosen().length; }
  const all = document.getElementById("select-all");
  if (all) all.addEventListener("change", () => { picks().forEach((p) => { p.checked = all.checked; }); update(); });
  picks().forEach((p) => p.addEventListener("change", update));
  document.querySelectorAll("[data-open]").forEach((btn) => btn.addEventListener("click", () => {
    const dlg = document.getElementById(btn.dataset.open);
    const list = chosen();
    if (btn.hasAttribute("data-needs-selection") && !list.length) { alert(btn.closest(".toolbar").dataset.empty || "Select at least one extension"); return; }
    const holder = dlg.querySelector(".selected-holder");
    holder.innerHTML = "";
    list.forEach((v) => { const i = document.createElement("input"); i.type = "hidden"; i.name = "extensions"; i.value = v; holder.appendChild(i); });
    dlg.querySelector(".selected-list").textContent = list.join(", ");
    dlg.showModal();
  }));
  document.querySelectorAll("[data-row-open]").forEach((btn) => btn.addEventListener("click", () => {
    const row = btn.closest("tr"); const dlg = document.getElementById(btn.dataset.rowOpen);
    dlg.querySelectorAll("[data-fill]").forEach((el) => { el.textContent = row.dataset[el.dataset.fill] || ""; });
    dlg.querySelectorAll("[data-value]").forEach((el) => { el.value = row.dataset[el.dataset.value] || ""; });
    dlg.querySelectorAll("[data-check]").forEach((el) => { el.checked = row.dataset[el.dataset.check] === "on"; });
    dlg.showModal();
  }));
  document.querySelectorAll("dialog [data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));
  // rate form: extension picker search and select all
  const search = document.getElementById("ext-search");
  if (search) search.addEventListener("input", () => {
    const q = search.value.toLowerCase();
    document.querySelectorAll("#ext-picker label").forEach((l) => { l.hidden = q && !l.textContent.toLowerCase().includes(q); });
  });
  const pickAll = document.getElementById("ext-all-visible");
  if (pickAll) pickAll.addEventListener("change", () => {
    document.querySelectorAll("#ext-picker label:not([hidden]) input").forEach((i) => { i.checked = pickAll.checked; });
  });
  // settings: the decimals shown follow the currency chosen
  const currency = document.getElementById("currency");
  const places = document.getElementById("decimals");
  if (currency && places) {
    const of = JSON.parse(places.dataset.of);
    currency.addEventListener("change", () => {
      places.value = String(of[currency.value]);
      document.getElementById("decimals-for").value = currency.value;
    });
  }
  update();
})();
