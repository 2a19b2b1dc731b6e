/* Figures a narrow screen shrinks below reading size can be tapped to read them.

The package draws every figure's text at 8 pt or more at 100 dpi: 11.1 pixels at the
image's natural size. A phone's text column (about 340 px) shows a 900-pixel figure at
38% of that, its smallest text at 4 px. Such a figure gets a hint under it; a tap (or
Enter) shows it at READABLE_SCALE of its natural width, in a box that scrolls sideways,
and a second tap fits it to the column again. Wide screens see no change: there every
figure fits at a readable size (tools/check_book_in_browser.py checks both widths).

Example: on a 390-px phone, tap the learning curves of chapter 9 and read their legend.
*/
(() => {
  "use strict";
  const READABLE_SCALE = 0.75; // 8-pt text at 100 dpi: 11.1 px x 0.75 = 8.3 px
  const HINT = { fitted: "Tap the figure to enlarge it.",
                 readable: "Swipe sideways to see all of it; tap to shrink it again." };

  function readableWidth(img) {
    return Math.ceil(READABLE_SCALE * img.naturalWidth);
  }

  function wrap(img) {
    const box = document.createElement("div");
    box.className = "readable-figure";
    img.replaceWith(box);
    box.append(img);
    const hint = document.createElement("p");
    hint.className = "readable-figure-hint";
    box.after(hint);
    img.setAttribute("role", "button");
    img.tabIndex = 0;
    img.addEventListener("click", () => toggle(img));
    img.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        toggle(img);
      }
    });
    return box;
  }

  function show(img, readable) {
    const box = img.parentElement;
    box.classList.toggle("readable", readable);
    img.style.width = readable ? `${readableWidth(img)}px` : "";
    img.setAttribute("aria-expanded", String(readable));
    box.nextElementSibling.textContent = readable ? HINT.readable : HINT.fitted;
  }

  function toggle(img) {
    const box = img.parentElement;
    if (box.classList.contains("shrunk")) show(img, !box.classList.contains("readable"));
  }

  function update(img) {
    if (!img.naturalWidth) return;
    let box = img.parentElement.classList.contains("readable-figure") ? img.parentElement : null;
    const column = img.parentElement.clientWidth; // the box, once wrapped: as wide as the column
    const tooSmall = Math.min(img.naturalWidth, column) < readableWidth(img);
    if (tooSmall && !box) {
      box = wrap(img);
      show(img, false);
    }
    if (!box) return;
    box.classList.toggle("shrunk", tooSmall);
    if (!tooSmall) show(img, false); // the screen grew (a phone turned sideways): fit again
  }

  function updateAll() {
    document.querySelectorAll("article .cell_output img").forEach(update);
  }

  function start() {
    document.querySelectorAll("article .cell_output img").forEach((img) => {
      if (img.complete) update(img);
      else img.addEventListener("load", () => update(img), { once: true });
    });
    window.addEventListener("resize", updateAll);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
