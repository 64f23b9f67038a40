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
