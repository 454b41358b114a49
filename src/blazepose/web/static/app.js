// blazepose live demo: frames go to the server over a WebSocket, poses come back.
// One frame is in flight at a time; frames captured meanwhile are never sent,
// so a slow server lowers the frame rate instead of building a backlog.
"use strict";

const LEFT_COLOR = "rgb(255,138,0)";   // MediaPipe's pose style: orange left side,
const RIGHT_COLOR = "rgb(0,217,231)";  // cyan right side,
const CENTER_COLOR = "rgb(224,224,224)"; // white centre.
const MAX_SEND_WIDTH = 640;
const VISIBLE = 0.5;

const $ = (id) => document.getElementById(id);
const output = $("output");
const outputCtx = output.getContext("2d");
const capture = document.createElement("canvas"); // the frame in flight
const captureCtx = capture.getContext("2d");
const maskCanvas = document.createElement("canvas");
const layer = document.createElement("canvas"); // person cut out by the mask
const video = $("video");

// Counters for people and for tests (read by tests/web/test_browser.py).
const demo = (window.blazeposeDemo = {
  framesSent: 0, results: 0, errors: [], posesSeen: 0, skeletonsDrawn: 0, world3dDrawn: 0,
  fps: 0, latencyMs: 0, serverMs: 0, dropped: 0, lastResult: null, ready: false,
});

let topology = null;    // names, connections, left/right landmark indices from /v1/topology
let socket = null;
let inFlight = false;
let sentAt = 0;
let photo = null;       // an <img> when the source is a photo
let photoDirty = false; // the photo must be (re)sent
let lastResult = null;
let videoFrames = 0;    // frames the <video> has shown (counted where the browser can tell)
let sentVideoFrame = -1;
const resultTimes = [];

// --- Controls --------------------------------------------------------------

const params = new URLSearchParams(location.search); // e.g. ?enable_segmentation=1&model_complexity=0
for (const id of ["model_complexity", "num_poses", "min_detection_confidence", "min_tracking_confidence", "effect"]) {
  if (params.has(id)) $(id).value = params.get(id);
}
for (const id of ["smooth_landmarks", "enable_segmentation", "smooth_segmentation", "selfie"]) {
  if (params.has(id)) $(id).checked = params.get(id) === "1";
}

function options() {
  return {
    model_complexity: Number($("model_complexity").value),
    smooth_landmarks: $("smooth_landmarks").checked,
    enable_segmentation: $("enable_segmentation").checked,
    smooth_segmentation: $("smooth_segmentation").checked,
    min_detection_confidence: Number($("min_detection_confidence").value),
    min_tracking_confidence: Number($("min_tracking_confidence").value),
    num_poses: Number($("num_poses").value),
  };
}

function sendOptions() {
  for (const id of ["min_detection_confidence", "min_tracking_confidence"]) {
    $(id + "-value").textContent = Number($(id).value).toFixed(2);
  }
  if (socket && socket.readyState === WebSocket.OPEN) {
    demo.ready = false;
    socket.send(JSON.stringify({ type: "config", options: options() }));
  }
  photoDirty = true;
}

for (const id of ["model_complexity", "smooth_landmarks", "enable_segmentation", "smooth_segmentation",
                  "min_detection_confidence", "min_tracking_confidence", "num_poses"]) {
  $(id).addEventListener("change", sendOptions);
}
$("selfie").addEventListener("change", () => { photoDirty = true; });
$("source").addEventListener("change", () => {
  if ($("source").value === "file") $("file").click(); else startCamera();
});
$("file").addEventListener("change", () => { if ($("file").files[0]) openFile($("file").files[0]); });

// --- Sources ---------------------------------------------------------------

async function startCamera() {
  photo = null;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: { ideal: 60 } }, audio: false });
    video.srcObject = stream;
    video.loop = false;
    await video.play();
    setStatus("camera on");
  } catch (error) {
    setStatus(`no camera (${error.name}); pick a photo or video file`);
  }
}

function openFile(file) {
  stopCamera();
  const url = URL.createObjectURL(file);
  if (file.type.startsWith("image/")) {
    photo = new Image();
    photo.onload = () => { photoDirty = true; setStatus(`photo ${file.name}`); };
    photo.src = url;
  } else {
    photo = null;
    video.src = url;
    video.loop = true;
    video.play().then(() => setStatus(`video ${file.name}`), (e) => setStatus(`cannot play ${file.name}: ${e}`));
  }
}

function stopCamera() {
  if (video.srcObject) {
    video.srcObject.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  }
}

function sourceReady() {
  if (photo) return photo.complete && photo.naturalWidth > 0 && photoDirty;
  const fresh = !("requestVideoFrameCallback" in video) || videoFrames !== sentVideoFrame; // never send a frame twice
  return video.readyState >= 2 && video.videoWidth > 0 && fresh;
}

function countVideoFrames() {
  videoFrames += 1;
  video.requestVideoFrameCallback(countVideoFrames);
}
if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(countVideoFrames);

// --- The socket ------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/v1/ws/pose`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { setStatus("connected"); sendOptions(); };
  socket.onmessage = (event) => onMessage(JSON.parse(event.data));
  socket.onclose = (event) => {
    inFlight = false;
    setStatus(`disconnected (${event.code}${event.reason ? ": " + event.reason : ""}); retrying`);
    setTimeout(connect, 1000);
  };
}

function onMessage(message) {
  if (message.type === "ready") { demo.ready = true; return; }
  inFlight = false;
  if (message.type === "error") {
    demo.errors.push(message.message);
    setStatus(`server: ${message.message}`);
    return;
  }
  const now = performance.now();
  lastResult = message;
  demo.lastResult = message;
  demo.results += 1;
  demo.posesSeen += message.poses.length > 0 ? 1 : 0;
  demo.latencyMs = 0.9 * demo.latencyMs + 0.1 * (now - sentAt);
  demo.serverMs = message.server_ms;
  demo.dropped = message.dropped;
  resultTimes.push(now);
  while (resultTimes[0] < now - 2000) resultTimes.shift();
  demo.fps = resultTimes.length > 1 ? (resultTimes.length - 1) / ((now - resultTimes[0]) / 1000) : 0;
  drawFrame(message);
  drawWorld();
  showStats(message);
  sendIfReady(); // at once, not at the next animation frame: the round trip alone sets the pace
}

function sendFrame() {
  const source = photo || video;
  const width = photo ? photo.naturalWidth : video.videoWidth;
  const height = photo ? photo.naturalHeight : video.videoHeight;
  const scale = Math.min(1, MAX_SEND_WIDTH / width);
  capture.width = Math.round(width * scale);
  capture.height = Math.round(height * scale);
  captureCtx.save();
  if ($("selfie").checked) { // selfie mode flips the image the model sees, as MediaPipe's selfieMode does
    captureCtx.translate(capture.width, 0);
    captureCtx.scale(-1, 1);
  }
  captureCtx.drawImage(source, 0, 0, capture.width, capture.height);
  captureCtx.restore();
  photoDirty = false;
  sentVideoFrame = videoFrames;
  inFlight = true;
  const timestamp = performance.now(); // the browser's clock: increases frame to frame
  capture.toBlob(async (blob) => {
    const header = new Float64Array([timestamp]); // little-endian on every browser platform
    const body = new Uint8Array(await blob.arrayBuffer());
    const frame = new Uint8Array(8 + body.length);
    frame.set(new Uint8Array(header.buffer), 0);
    frame.set(body, 8);
    if (!socket || socket.readyState !== WebSocket.OPEN) { inFlight = false; return; }
    sentAt = performance.now();
    socket.send(frame);
    demo.framesSent += 1;
  }, "image/jpeg", 0.85);
}

function sendIfReady() {
  if (!inFlight && topology && demo.ready && sourceReady()) sendFrame();
}

function tick() {
  sendIfReady();
  requestAnimationFrame(tick);
}

// --- Drawing the frame -----------------------------------------------------

function drawFrame(result) {
  output.width = capture.width;
  output.height = capture.height;
  const mask = result.mask && $("enable_segmentation").checked ? maskImage(result.mask) : null;
  if (mask && $("effect").value === "blur") {
    outputCtx.filter = "blur(8px)";
    outputCtx.drawImage(capture, 0, 0);
    outputCtx.filter = "none";
    outputCtx.drawImage(personLayer(mask, capture), 0, 0);
  } else {
    outputCtx.drawImage(capture, 0, 0);
    if (mask) {
      outputCtx.globalAlpha = 0.45;
      outputCtx.drawImage(personLayer(mask, "rgb(0,200,120)"), 0, 0);
      outputCtx.globalAlpha = 1;
    }
  }
  for (const pose of result.poses) drawSkeleton(pose);
  if (result.poses.length) demo.skeletonsDrawn += 1;
}

// The mask arrives as base64 bytes (0..255, row by row); it becomes an alpha channel.
function maskImage(mask) {
  const bytes = atob(mask.data);
  const pixels = new ImageData(mask.width, mask.height);
  for (let i = 0; i < bytes.length; i++) pixels.data[4 * i + 3] = bytes.charCodeAt(i);
  maskCanvas.width = mask.width;
  maskCanvas.height = mask.height;
  maskCanvas.getContext("2d").putImageData(pixels, 0, 0);
  return maskCanvas;
}

// The person alone: the mask scaled up, then filled with a colour or the frame itself.
function personLayer(mask, fill) {
  layer.width = output.width;
  layer.height = output.height;
  const ctx = layer.getContext("2d");
  ctx.drawImage(mask, 0, 0, layer.width, layer.height);
  ctx.globalCompositeOperation = "source-in";
  if (typeof fill === "string") { ctx.fillStyle = fill; ctx.fillRect(0, 0, layer.width, layer.height); }
  else ctx.drawImage(fill, 0, 0);
  ctx.globalCompositeOperation = "source-over";
  return layer;
}

function sideColor(index) {
  if (topology.left.includes(index)) return LEFT_COLOR;
  if (topology.right.includes(index)) return RIGHT_COLOR;
  return CENTER_COLOR;
}

function connectionColor(a, b) {
  const side = sideColor(a);
  return side === sideColor(b) ? side : CENTER_COLOR;
}

function drawSkeleton(pose) {
  const w = output.width, h = output.height;
  const points = pose.landmarks; // [x, y, z, visibility, presence], normalized
  const shown = (p) => p[3] > VISIBLE && p[4] > VISIBLE;
  outputCtx.lineWidth = Math.max(2, w / 240);
  for (const [a, b] of topology.connections) {
    if (!shown(points[a]) || !shown(points[b])) continue;
    outputCtx.strokeStyle = connectionColor(a, b);
    outputCtx.beginPath();
    outputCtx.moveTo(points[a][0] * w, points[a][1] * h);
    outputCtx.lineTo(points[b][0] * w, points[b][1] * h);
    outputCtx.stroke();
  }
  points.forEach((p, i) => {
    if (!shown(p)) return;
    outputCtx.fillStyle = sideColor(i);
    outputCtx.strokeStyle = "white";
    outputCtx.lineWidth = 1;
    outputCtx.beginPath();
    outputCtx.arc(p[0] * w, p[1] * h, Math.max(3, w / 200), 0, 2 * Math.PI);
    outputCtx.fill();
    outputCtx.stroke();
  });
  const top = points.reduce((best, p) => (p[1] < best[1] ? p : best), points[0]);
  outputCtx.font = `bold ${Math.max(14, w / 40)}px sans-serif`;
  outputCtx.fillStyle = "white";
  outputCtx.fillText(`#${pose.id}`, top[0] * w, Math.max(16, top[1] * h - 12));
}

// --- The 3D view of the world landmarks --------------------------------------

const world = $("world3d");
const worldCtx = world.getContext("2d");
const view = { yaw: 0.5, pitch: 0.25, zoom: 1 };
let dragFrom = null;

world.addEventListener("mousedown", (e) => { dragFrom = [e.clientX, e.clientY]; });
window.addEventListener("mouseup", () => { dragFrom = null; });
window.addEventListener("mousemove", (e) => {
  if (!dragFrom) return;
  view.yaw += (e.clientX - dragFrom[0]) * 0.01;
  view.pitch = Math.max(-1.5, Math.min(1.5, view.pitch + (e.clientY - dragFrom[1]) * 0.01));
  dragFrom = [e.clientX, e.clientY];
  drawWorld();
});
world.addEventListener("wheel", (e) => {
  e.preventDefault();
  view.zoom = Math.max(0.3, Math.min(4, view.zoom * (e.deltaY < 0 ? 1.1 : 0.9)));
  drawWorld();
});

// World landmarks are metres, origin between the hips, y down; x right, z away from the camera.
function project([x, y, z]) {
  const cy = Math.cos(view.yaw), sy = Math.sin(view.yaw), cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
  const x1 = cy * x + sy * z, z1 = -sy * x + cy * z;
  const y2 = cp * y - sp * z1, z2 = sp * y + cp * z1;
  const scale = (world.height * 0.45 * view.zoom) / (1 + z2 / 4);
  return [world.width / 2 + x1 * scale, world.height / 2 + y2 * scale];
}

function drawWorld() {
  worldCtx.fillStyle = "#0d0f12";
  worldCtx.fillRect(0, 0, world.width, world.height);
  const poses = lastResult ? lastResult.poses : [];
  let floor = 0.9; // metres below the hips; moved to the lowest foot when one is seen
  for (const pose of poses) for (const p of pose.world_landmarks) floor = Math.max(floor, p[1]);
  worldCtx.strokeStyle = "#33383f";
  worldCtx.lineWidth = 1;
  for (let i = -5; i <= 5; i++) { // a 2 m by 2 m floor grid, 20 cm cells
    line3d([i / 5, floor, -1], [i / 5, floor, 1]);
    line3d([-1, floor, i / 5], [1, floor, i / 5]);
  }
  poses.forEach((pose, k) => {
    const shift = (k - (poses.length - 1) / 2) * 0.8; // people side by side
    const at = (i) => { const p = pose.world_landmarks[i]; return [p[0] + shift, p[1], p[2]]; };
    worldCtx.lineWidth = 2;
    for (const [a, b] of topology.connections) {
      worldCtx.strokeStyle = connectionColor(a, b);
      line3d(at(a), at(b));
    }
    for (let i = 0; i < pose.world_landmarks.length; i++) {
      const [u, v] = project(at(i));
      worldCtx.fillStyle = sideColor(i);
      worldCtx.fillRect(u - 2, v - 2, 4, 4);
    }
  });
  if (poses.length) demo.world3dDrawn += 1;
}

function line3d(a, b) {
  const [u0, v0] = project(a), [u1, v1] = project(b);
  worldCtx.beginPath();
  worldCtx.moveTo(u0, v0);
  worldCtx.lineTo(u1, v1);
  worldCtx.stroke();
}

// --- Status ----------------------------------------------------------------

function setStatus(text) { $("status").textContent = text; }

function showStats(result) {
  $("fps").textContent = demo.fps.toFixed(1);
  $("latency").textContent = demo.latencyMs.toFixed(0);
  $("server-ms").textContent = result.server_ms.toFixed(0);
  $("pose-count").textContent = result.poses.length;
  $("track-ids").textContent = result.poses.map((p) => "#" + p.id).join(" ") || "–";
  // The fitness rep counter (blazepose.fitness) will fill this from result.fitness once it exists.
  if (result.fitness) {
    $("fitness").hidden = false;
    $("fitness-counts").textContent = JSON.stringify(result.fitness);
  }
}

// --- Start -----------------------------------------------------------------

fetch("/v1/topology").then((r) => r.json()).then((t) => { topology = t; drawWorld(); });
connect();
startCamera();
requestAnimationFrame(tick);
