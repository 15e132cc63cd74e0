// The Sketch pad's drawing pad: strokes drawn with a mouse, a pen or a finger, each sent the moment it
// ends (no wait: mouse-up to prediction is what the learner feels). It sends only the points; the
// server draws them (lenet/network/strokes.py). The strokes it is mounted with are drawn once, when
// it is mounted: after that the pad owns them, so a rerun in flight never takes back a newer stroke.

const pads = new WeakMap();

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let pad = pads.get(parentElement);
  if (!pad) {
    pad = makePad(parentElement.querySelector(".pad"), data);
    pads.set(parentElement, pad);
  }
  pad.send = (strokes) => setStateValue("strokes", strokes);
}

function makePad(root, { size, brush, strokes: mounted, maxStrokes, maxPoints, maxPath }) {
  const canvas = root.querySelector("canvas");
  const undo = root.querySelector('[data-do="undo"]');
  const clear = root.querySelector('[data-do="clear"]');
  const pen = canvas.getContext("2d");
  const density = window.devicePixelRatio || 1;
  canvas.width = canvas.height = Math.round(size * density);
  pen.scale(density, density);
  const pad = { send: () => {} };
  const strokes = (mounted || []).map((stroke) => stroke.slice());
  let current = null;

  const points = () => strokes.reduce((sum, stroke) => sum + stroke.length / 2, 0);
  const length = (stroke) => {
    let sum = 0;
    for (let i = 2; i < stroke.length; i += 2) sum += Math.hypot(stroke[i] - stroke[i - 2], stroke[i + 1] - stroke[i - 1]);
    return sum;
  };
  const travelled = () => strokes.reduce((sum, stroke) => sum + length(stroke), 0);

  function line(stroke) {
    pen.beginPath();
    pen.moveTo(stroke[0], stroke[1]);
    for (let i = 2; i < stroke.length; i += 2) pen.lineTo(stroke[i], stroke[i + 1]);
    pen.stroke();
    for (const i of [0, stroke.length - 2]) {  // round ends, and a tap's dot
      pen.beginPath();
      pen.arc(stroke[i], stroke[i + 1], brush / 2, 0, 2 * Math.PI);
      pen.fill();
    }
  }

  function paint() {
    pen.fillStyle = "#000";
    pen.fillRect(0, 0, size, size);
    pen.fillStyle = pen.strokeStyle = "#fff";
    pen.lineWidth = brush;
    pen.lineCap = pen.lineJoin = "round";
    for (const stroke of strokes) line(stroke);
    if (current) line(current);
    undo.disabled = clear.disabled = strokes.length === 0;
  }

  function at(event) {
    const box = canvas.getBoundingClientRect();
    const scale = size / box.width;
    const clamp = (v) => Math.min(size, Math.max(0, Math.round(v * scale)));
    return [clamp(event.clientX - box.left), clamp(event.clientY - box.top)];
  }

  function send() {
    pad.send(strokes.map((stroke) => stroke.slice()));
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || strokes.length >= maxStrokes || points() >= maxPoints) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    current = at(event);
    paint();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!current) return;
    const room = maxPoints - points();
    let path = maxPath - travelled() - length(current);  // the server refuses more: the pad stops drawing
    for (const moved of event.getCoalescedEvents?.() ?? [event]) {
      const [x, y] = at(moved);
      const n = current.length;
      const step = Math.hypot(x - current[n - 2], y - current[n - 1]);
      if (step >= 2 && n / 2 < room && step <= path) {
        current.push(x, y);
        path -= step;
      }
    }
    paint();
  });
  const end = () => {
    if (!current) return;
    strokes.push(current);
    current = null;
    paint();
    send();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  undo.addEventListener("click", () => {
    strokes.pop();
    paint();
    send();
  });
  clear.addEventListener("click", () => {
    strokes.length = 0;
    paint();
    send();
  });
  paint();
  return pad;
}
