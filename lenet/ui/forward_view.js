// Your digit through forward(): a picture per step, each number a cell. A click or a tap on a cell sends
// which one (stage, tile, row, col); the server answers with the unit's arithmetic, drawn under its step
// with the unit's map zoomed, and rectangles where its numbers came from. The pictures are the server's
// PNGs; this file only lays them out and works out which cell a pointer is on.

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".flow");
  if (!data || !root) return;
  root.replaceChildren();
  const pick = (stage, tile, row, col) => setStateValue("picked", { stage, tile, row, col });
  data.stages.forEach((stage, i) => {
    const section = element("section", "stage");
    section.dataset.stage = i;
    const label = element("div", "label");
    label.append(
      element("code", "line", stage.line),
      element("span", "call", `${stage.call} → ${stage.shape}`),
      element("span", "scale", `full colour: ±${stage.scale}${stage.note ? "; " + stage.note : ""}`),
    );
    const drawn = picture(stage, stage.url, i, data.marks, (tile, row, col) => pick(i, tile, row, col));
    if (stage.digits) drawn.append(digitLabels(stage));
    section.append(label, drawn);
    root.append(section);
    if (i === data.picked.stage) root.append(picked(data, stage, pick));
  });
}

// 0-9 under a picture of ten numbers, one under each cell: which score or chance is which digit's
function digitLabels(stage) {
  const row = element("div", "digits");
  row.style.width = "100%";
  for (let d = 0; d < 10; d++) row.append(element("span", "digit", String(d)));
  return row;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A picture of `geometry` (tiles of rows x cols cells, `columns` tiles a row, `gap` px between), its
// rectangles over it, and the cell under a click or a tap sent to `picked`.
function picture(geometry, url, stage, marks, picked, tile = null) {
  const { rows, cols, cell, gap, width, height } = geometry;
  const columns = tile === null ? geometry.columns : 1;
  const frame = element("div", "picture");
  frame.style.maxWidth = `${width}px`;
  frame.style.aspectRatio = `${width} / ${height}`;
  const image = element("img", "cells");
  image.src = url;
  image.alt = tile === null ? `step ${stage}: every number as a cell` : `map ${tile}, larger`;
  image.draggable = false;
  frame.append(image);
  for (const mark of marks) {
    if (mark.stage !== stage || (tile !== null && mark.tile !== tile)) continue;
    const top = Math.max(mark.row, 0), left = Math.max(mark.col, 0);
    const bottom = Math.min(mark.row + mark.rows, rows), right = Math.min(mark.col + mark.cols, cols);
    if (bottom <= top || right <= left) continue;
    const place = tile === null ? mark.tile : 0;
    const x = (place % columns) * (cols * cell + gap) + left * cell;
    const y = Math.floor(place / columns) * (rows * cell + gap) + top * cell;
    const box = element("div", `mark ${mark.kind}`);
    Object.assign(box.style, {
      left: `${(100 * x) / width}%`,
      top: `${(100 * y) / height}%`,
      width: `${(100 * (right - left) * cell) / width}%`,
      height: `${(100 * (bottom - top) * cell) / height}%`,
    });
    if (mark.kind === "unit") box.dataset.testid = "picked-unit";
    frame.append(box);
  }
  frame.addEventListener("click", (event) => {
    const bounds = frame.getBoundingClientRect();
    const x = ((event.clientX - bounds.left) * width) / bounds.width;
    const y = ((event.clientY - bounds.top) * height) / bounds.height;
    const across = Math.floor(x / (cols * cell + gap)), down = Math.floor(y / (rows * cell + gap));
    const col = Math.floor((x - across * (cols * cell + gap)) / cell);
    const row = Math.floor((y - down * (rows * cell + gap)) / cell);
    const outside = col < 0 || col >= cols || row < 0 || row >= rows || across >= columns;
    if (outside || (tile === null && down * columns + across >= geometry.count)) return;
    const which = tile === null ? down * columns + across : tile;
    picked(which, row, col);  // a click on a gap between maps picks nothing
  });
  return frame;
}

// Under the picked step: its map larger (a finger can pick a cell there) and the unit's arithmetic.
function picked(data, stage, pick) {
  const box = element("div", "picked");
  box.dataset.testid = "unit-arithmetic";
  const { stage: at, tile } = data.picked;
  if (data.zoom) {
    const zoom = { ...stage, ...data.zoom, columns: 1, count: 1, gap: 0 };
    const holder = element("div", "zoom");
    holder.append(
      element("div", "caption", `map ${tile}, larger: tap a number to see how it is made`),
      picture(zoom, data.zoom.url, at, data.marks, (_, row, col) => pick(at, tile, row, col), tile),
    );
    box.append(holder);
  }
  const detail = element("div", "detail");
  detail.innerHTML = data.detail; // the server's HTML: numbers it computed, no visitor text
  box.append(detail);
  return box;
}
