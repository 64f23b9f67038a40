// The console's menu on a narrow screen: the button opens and closes it (a real <button>, so
// Enter and Space work), and says whether it is open to screen readers.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".menu-toggle");
  const bar = document.querySelector("header.topbar");
  if (!toggle || !bar) return;
  toggle.addEventListener("click", () => {
    const open = bar.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
});

// A table sits in a box that scrolls sideways when the table is wider than the screen; such a
// box takes the keyboard's focus (arrow keys scroll it) and is named after its section's heading.
function wrapTables() {
  document.querySelectorAll("table.table").forEach((table) => {
    let box = table.parentElement;
    if (!box.classList.contains("scroll-x") && !box.classList.contains("table-scroll")) {
      box = document.createElement("div");
      box.className = "scroll-x";
      table.replaceWith(box);
      box.appendChild(table);
    }
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      const heading = box.closest("section")?.querySelector("h2, h1");
      box.setAttribute("aria-label", heading ? heading.textContent.trim() : document.title);
    }
  });
}
document.addEventListener("DOMContentLoaded", wrapTables);
window.addEventListener("resize", wrapTables);

// The people picker (templates/_people.html): a text input that takes a userid becomes a
// combobox (WAI-ARIA 1.2, list autocomplete with manual selection) offering the members who may
// receive, as the reader types a name, pinyin initials or a userid. The chosen userid travels in
// a hidden input under the form field's name, and the visible input shows the person's name;
// while nothing is chosen, the hidden input holds what was typed, so a typed userid still counts.
const PICKER_DELAY = 200; // ms after the last key before asking the server

function setUpPicker(box) {
  const input = box.querySelector("input:not([type=hidden])");
  if (!input || !input.name || box.dataset.ready) return;
  box.dataset.ready = "true";
  const uid = input.id;
  const hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = input.name;
  hidden.value = input.value.trim();
  input.removeAttribute("name");
  const field = document.createElement("div"); // the list opens right under the input
  field.className = "picker-field";
  input.replaceWith(field);
  field.append(input, hidden);

  const listbox = document.createElement("ul");
  listbox.id = uid + "-list";
  listbox.className = "picker-list";
  listbox.setAttribute("role", "listbox");
  listbox.setAttribute("aria-label", box.querySelector("label")?.textContent.trim() || "");
  listbox.hidden = true;
  const status = document.createElement("span");
  status.className = "picker-status";
  status.id = uid + "-status";
  status.setAttribute("role", "status");
  field.append(listbox);
  box.append(status);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listbox.id);
  if (input.dataset.chosenName && hidden.value) input.value = input.dataset.chosenName;

  let options = []; // the people shown, as /people/suggest answers them
  let active = -1; // the option with the visual focus
  let timer = null;
  let controller = null;
  let asked = 0; // only the answer to the latest question is shown
  let firstWhenShown = false; // ArrowDown came before the answer: focus its first option

  const isOpen = () => !listbox.hidden;
  function open() {
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }
  function close() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
    for (const li of listbox.children) li.setAttribute("aria-selected", "false");
  }
  function say(text, visible) {
    status.textContent = text;
    status.classList.toggle("sr-only", !visible);
  }

  function option(person, i) {
    const li = document.createElement("li");
    li.id = `${uid}-opt-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    const name = document.createElement("span");
    name.className = "picker-name";
    name.textContent = person.name;
    const where = document.createElement("span");
    where.className = "picker-where";
    where.textContent = [person.department, person.title].filter(Boolean).join(" · ");
    const userid = document.createElement("small");
    userid.className = "picker-userid";
    userid.textContent = person.userid;
    li.append(name, " ", where, " ", userid);
    li.addEventListener("mousedown", (event) => event.preventDefault()); // the input keeps the focus
    li.addEventListener("mousemove", () => {
      if (active !== i) move(i, false);
    });
    li.addEventListener("click", () => choose(i));
    return li;
  }

  function show(people) {
    options = Array.isArray(people) ? people : [];
    listbox.replaceChildren(...options.map(option));
    close();
    if (options.length) {
      open();
      say(box.dataset.found.replace("{n}", options.length), false);
      if (firstWhenShown) move(0);
    } else {
      say(box.dataset.none, true);
    }
    firstWhenShown = false;
  }

  function ask() {
    clearTimeout(timer);
    const q = input.value.trim().slice(0, 64);
    if (!q) return;
    const url = new URL(box.dataset.suggest, window.location.origin);
    url.searchParams.set("q", q);
    if (box.dataset.exclude) url.searchParams.set("exclude", box.dataset.exclude);
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = ++asked;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal })
      .then((response) => (response.ok ? response.json() : []))
      .then((people) => {
        if (mine === asked && document.activeElement === input) show(people);
      })
      .catch(() => {}); // aborted or offline: the typed text still counts
  }

  function move(to, scroll = true) {
    if (!options.length) return;
    active = (to + options.length) % options.length;
    [...listbox.children].forEach((li, i) => li.setAttribute("aria-selected", i === active ? "true" : "false"));
    const li = listbox.children[active];
    input.setAttribute("aria-activedescendant", li.id);
    if (scroll) li.scrollIntoView({ block: "nearest" });
  }

  function showChosen(person) {
    let current = box.querySelector(".picker-current");
    if (!current) {
      current = document.createElement("span");
      current.className = "picker-current";
      current.id = uid + "-current";
      field.after(current);
      input.setAttribute("aria-describedby", [current.id, input.getAttribute("aria-describedby")].filter(Boolean).join(" "));
    }
    const link = document.createElement("a");
    link.href = "/members/" + encodeURIComponent(person.id);
    link.textContent = person.name;
    const small = document.createElement("small");
    small.className = "muted";
    small.textContent = [person.department, person.userid].filter(Boolean).join(" · ");
    const wrap = document.createElement("span");
    wrap.className = "person";
    wrap.append(link, " ", small);
    current.replaceChildren(wrap);
    current.hidden = false;
  }

  function choose(i) {
    const person = options[i];
    hidden.value = person.userid;
    input.value = person.name;
    showChosen(person);
    close();
    say("", false);
    input.focus();
  }

  function typed(event) {
    if (event.isComposing) return; // an input method is still composing the characters
    hidden.value = input.value.trim();
    const current = box.querySelector(".picker-current");
    if (current) current.hidden = true;
    options = [];
    listbox.replaceChildren();
    close();
    say("", false);
    clearTimeout(timer);
    if (hidden.value) timer = setTimeout(ask, PICKER_DELAY);
  }
  input.addEventListener("input", typed);
  input.addEventListener("compositionend", typed);

  input.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const down = event.key === "ArrowDown";
      if (isOpen()) {
        move(active < 0 && !down ? options.length - 1 : active + (down ? 1 : -1));
      } else if (options.length) {
        open();
        move(down ? 0 : options.length - 1);
      } else if (input.value.trim()) {
        firstWhenShown = true;
        ask();
      }
    } else if (event.key === "Enter") {
      if (isOpen() && active >= 0) {
        event.preventDefault(); // choosing is not submitting
        choose(active);
      }
    } else if (event.key === "Escape") {
      if (isOpen()) {
        event.preventDefault();
        close();
      } else if (input.value) {
        event.preventDefault();
        input.value = "";
        typed(event);
      }
    }
  });
  input.addEventListener("blur", () => close());
}

document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("[data-picker]").forEach(setUpPicker));

// A header checkbox that checks or clears every row checkbox of its table (shown only where
// scripts run: without them each row is checked by hand, or "every row that matches" is used).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-check-all]").forEach((all) => {
    const table = all.closest("table");
    const rows = () => Array.from(table.querySelectorAll(`tbody input[type=checkbox][name="${all.dataset.checkAll}"]`));
    if (!rows().length) return;
    all.hidden = false;
    const sync = () => {
      const checked = rows().filter((r) => r.checked).length;
      all.checked = checked === rows().length;
      all.indeterminate = checked > 0 && checked < rows().length;
    };
    all.addEventListener("change", () => {
      rows().forEach((r) => { r.checked = all.checked; });
      sync();
    });
    rows().forEach((r) => r.addEventListener("change", sync));
    sync();
  });
});
