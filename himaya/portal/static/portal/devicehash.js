// Fingerprints of a picture made on the reporter's own device: the picture is
// never sent, only its MD5 (of the file's bytes), SHA-1 and SHA-256 (WebCrypto,
// where the page is a secure context) and its PDQ perceptual hash with quality
// and the 8 rotated/mirrored variants — so that the unit can know and block an
// image a child does not want to send (after NCMEC's "Take It Down").
//
// PDQ follows Meta's published algorithm (ThreatExchange, pdqhash-2017-10-09.pdf)
// as the server's `pdqhash` computes it: luminance 0.299 R + 0.587 G + 0.114 B
// (in double, then single precision), two passes of Jarosz box filters along rows
// then columns with windows ceil(size / 128), decimation to 64 x 64 at the cell
// centres, a 16 x 16 DCT (frequencies 1..16, without DC), each bit "above the
// median". Every arithmetic step is rounded to single precision (Math.fround) as
// the reference C++ does in `float`, so that the same decoded pixels give the
// same 256 bits; what can still differ is the decoding itself (the browser's
// image decoder and colour handling against Pillow's), see the tests.
//
// This file is Himaya's own code (no third-party library). The file input it
// reads has no `name`, so the browser never includes the picture in the form.
(function () {
  "use strict";

  var f = Math.fround;

  // ---------------------------------------------------------------- MD5 (RFC 1321)
  var MD5_S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
  var MD5_K = new Int32Array(64);
  for (var t = 0; t < 64; t++) { MD5_K[t] = Math.floor(Math.abs(Math.sin(t + 1)) * 4294967296) | 0; }

  function md5(bytes) {  // Uint8Array -> lowercase hex
    var len = bytes.length;
    var tail = new Uint8Array((len & 63) < 56 ? 64 : 128);  // the last block(s), padded
    tail.set(bytes.subarray(len & ~63));
    tail[len & 63] = 0x80;
    var bitsLow = (len * 8) >>> 0, bitsHigh = Math.floor(len / 536870912) >>> 0;
    var at = tail.length - 8;
    for (var b = 0; b < 4; b++) { tail[at + b] = (bitsLow >>> (8 * b)) & 255; tail[at + 4 + b] = (bitsHigh >>> (8 * b)) & 255; }
    var a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
    var m = new Int32Array(16);

    function block(src, off) {
      for (var i = 0; i < 16; i++) {
        var o = off + 4 * i;
        m[i] = src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24);
      }
      var a = a0, bb = b0, c = c0, d = d0;
      for (i = 0; i < 64; i++) {
        var F, g;
        if (i < 16) { F = (bb & c) | (~bb & d); g = i; }
        else if (i < 32) { F = (d & bb) | (~d & c); g = (5 * i + 1) & 15; }
        else if (i < 48) { F = bb ^ c ^ d; g = (3 * i + 5) & 15; }
        else { F = c ^ (bb | ~d); g = (7 * i) & 15; }
        F = (F + a + MD5_K[i] + m[g]) | 0;
        a = d; d = c; c = bb;
        bb = (bb + ((F << MD5_S[i]) | (F >>> (32 - MD5_S[i])))) | 0;
      }
      a0 = (a0 + a) | 0; b0 = (b0 + bb) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
    }

    var whole = len & ~63;
    for (var off = 0; off < whole; off += 64) { block(bytes, off); }
    for (off = 0; off < tail.length; off += 64) { block(tail, off); }
    var hex = "";
    [a0, b0, c0, d0].forEach(function (w) {
      for (var k = 0; k < 4; k++) { hex += ("0" + ((w >>> (8 * k)) & 255).toString(16)).slice(-2); }
    });
    return hex;
  }

  // ---------------------------------------------------------------- PDQ
  var DCT = (function () {  // 16 x 64, row-major, single precision as the reference's table
    var scale = f(Math.sqrt(2 / 64));
    var d = new Float32Array(16 * 64);
    for (var i = 0; i < 16; i++) {
      for (var j = 0; j < 64; j++) { d[i * 64 + j] = f(scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1))); }
    }
    return d;
  })();

  function windowSize(oldDimension) { return Math.floor((oldDimension + 2 * 64 - 1) / (2 * 64)); }

  function box1D(input, output, start, length, stride, full) {
    var half = Math.floor((full + 2) / 2);
    var p1 = half - 1, p2 = full - half + 1, p3 = length - full, p4 = half - 1;
    var li = start, ri = start, oi = start, sum = 0, size = 0, i;
    for (i = 0; i < p1; i++) { sum = f(sum + input[ri]); size++; ri += stride; }
    for (i = 0; i < p2; i++) { sum = f(sum + input[ri]); size++; output[oi] = f(sum / size); ri += stride; oi += stride; }
    for (i = 0; i < p3; i++) {
      sum = f(sum + input[ri]); sum = f(sum - input[li]);
      output[oi] = f(sum / size); li += stride; ri += stride; oi += stride;
    }
    for (i = 0; i < p4; i++) { sum = f(sum - input[li]); size--; output[oi] = f(sum / size); li += stride; oi += stride; }
  }

  function median(values) {  // the lower median, as the reference's Torben selection returns
    var sorted = Float32Array.from(values).sort();
    return sorted[Math.floor((values.length + 1) / 2) - 1];
  }

  function bitsToHex(buffer) {  // 16 x 16 -> 64 hex digits, word 15 first, as Meta's toString
    var med = median(buffer), words = new Array(16), hex = "";
    for (var i = 0; i < 16; i++) {
      var w = 0;
      for (var j = 0; j < 16; j++) { if (buffer[i * 16 + j] > med) { w |= 1 << j; } }
      words[i] = w;
    }
    for (i = 15; i >= 0; i--) { hex += ("000" + words[i].toString(16)).slice(-4); }
    return hex;
  }

  // The 8 dihedral variants from the one DCT (signs and a transpose), in
  // pdqhash's order: original, rot90, rot180, rot270, flip x, flip y, flip +1, flip -1.
  var DIHEDRAL = [
    function (i, j) { return [i, j, 1]; },
    function (i, j) { return [j, i, (j & 1) ? 1 : -1]; },
    function (i, j) { return [i, j, ((i + j) & 1) ? -1 : 1]; },
    function (i, j) { return [j, i, (i & 1) ? 1 : -1]; },
    function (i, j) { return [i, j, (i & 1) ? 1 : -1]; },
    function (i, j) { return [i, j, (j & 1) ? 1 : -1]; },
    function (i, j) { return [j, i, 1]; },
    function (i, j) { return [j, i, ((i + j) & 1) ? -1 : 1]; },
  ];

  function pdqFromLuma(luma, rows, cols) {
    if (rows < 5 || cols < 5) { return { hash: "0".repeat(64), quality: 0, dihedral: [] }; }
    var other = new Float32Array(rows * cols), r, c, i, j, k;
    var alongRows = windowSize(cols), alongCols = windowSize(rows);
    for (var pass = 0; pass < 2; pass++) {
      for (r = 0; r < rows; r++) { box1D(luma, other, r * cols, cols, 1, alongRows); }
      for (c = 0; c < cols; c++) { box1D(other, luma, c, rows, cols, alongCols); }
    }
    var a = new Float32Array(64 * 64);
    for (i = 0; i < 64; i++) {
      var ini = Math.floor(((i + 0.5) * rows) / 64);
      for (j = 0; j < 64; j++) { a[i * 64 + j] = luma[ini * cols + Math.floor(((j + 0.5) * cols) / 64)]; }
    }
    var gradient = 0;
    for (i = 0; i < 63; i++) {
      for (j = 0; j < 64; j++) { gradient += Math.abs(Math.trunc(f(f(f(a[i * 64 + j] - a[(i + 1) * 64 + j]) * 100) / 255))); }
    }
    for (i = 0; i < 64; i++) {
      for (j = 0; j < 63; j++) { gradient += Math.abs(Math.trunc(f(f(f(a[i * 64 + j] - a[i * 64 + j + 1]) * 100) / 255))); }
    }
    var quality = Math.min(100, Math.floor(gradient / 90));
    var tmp = new Float32Array(16 * 64), out = new Float32Array(256), sum;
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 64; j++) {
        sum = 0;
        for (k = 0; k < 64; k++) { sum = f(sum + f(DCT[i * 64 + k] * a[k * 64 + j])); }
        tmp[i * 64 + j] = sum;
      }
    }
    for (i = 0; i < 16; i++) {
      for (j = 0; j < 16; j++) {
        sum = 0;
        for (k = 0; k < 64; k++) { sum = f(sum + f(tmp[i * 64 + k] * DCT[j * 64 + k])); }
        out[i * 16 + j] = sum;
      }
    }
    var dihedral = DIHEDRAL.map(function (move) {
      var b = new Float32Array(256);
      for (var i2 = 0; i2 < 16; i2++) {
        for (var j2 = 0; j2 < 16; j2++) {
          var m = move(i2, j2);
          b[m[0] * 16 + m[1]] = m[2] * out[i2 * 16 + j2];
        }
      }
      return bitsToHex(b);
    });
    return { hash: dihedral[0], quality: quality, dihedral: dihedral };
  }

  function pdqFromRGBA(data, width, height) {
    var luma = new Float32Array(width * height);
    for (var p = 0, q = 0; p < luma.length; p++, q += 4) {
      luma[p] = f(data[q] * 0.299 + data[q + 1] * 0.587 + data[q + 2] * 0.114);
    }
    return pdqFromLuma(luma, height, width);
  }

  // ---------------------------------------------------------------- a file
  var MAX_BYTES = 100 * 1024 * 1024;
  var MAX_PIXELS = 80 * 1000 * 1000;

  function decodePixels(file) {
    // No colour conversion and no premultiplied alpha: the 8-bit RGB the file
    // holds, as Pillow decodes it on the server.
    var options = { colorSpaceConversion: "none", premultiplyAlpha: "none" };
    return createImageBitmap(file, options).then(function (bitmap) {
      var w = bitmap.width, h = bitmap.height;
      if (w * h > MAX_PIXELS) { throw new Error("too many pixels"); }
      var canvas = document.createElement("canvas");
      canvas.width = w; canvas.height = h;
      var ctx = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
      ctx.drawImage(bitmap, 0, 0);
      if (bitmap.close) { bitmap.close(); }
      return { data: ctx.getImageData(0, 0, w, h).data, width: w, height: h };
    });
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function hashFile(file) {
    if (file.size > MAX_BYTES) { return Promise.reject(new Error("too big")); }
    return file.arrayBuffer().then(function (buffer) {
      var bytes = new Uint8Array(buffer);
      var result = { size: bytes.length, md5: md5(bytes), sha1: "", sha256: "", pdq: "", pdq_quality: null, pdq_dihedral: [] };
      var digests = (window.crypto && crypto.subtle && window.isSecureContext)
        ? Promise.all([crypto.subtle.digest("SHA-1", buffer), crypto.subtle.digest("SHA-256", buffer)]).then(function (d) {
          result.sha1 = hex(d[0]); result.sha256 = hex(d[1]);
        }) : Promise.resolve();
      return digests.then(function () { return decodePixels(file); }).then(function (pixels) {
        var pdq = pdqFromRGBA(pixels.data, pixels.width, pixels.height);
        result.pdq = pdq.hash; result.pdq_quality = pdq.quality; result.pdq_dihedral = pdq.dihedral;
        return result;
      }, function () { return result; });  // not a picture the browser decodes: the MD5 alone
    });
  }

  window.HimayaDeviceHash = { md5: md5, pdqFromRGBA: pdqFromRGBA, pdqFromLuma: pdqFromLuma, hashFile: hashFile };

  // ---------------------------------------------------------------- the form
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-device-hash]");
    if (!box) { return; }
    var input = box.querySelector("input[type=file]");
    var field = box.querySelector("input[name=device_hashes]");
    var list = box.querySelector("[data-device-hash-list]");
    var status = box.querySelector("[data-device-hash-status]");
    var limit = parseInt(box.getAttribute("data-max") || "5", 10);
    box.hidden = false;
    input.removeAttribute("name");  // never part of the form, whatever the markup says
    var made = [];

    function shown(r) {
      var li = document.createElement("li");
      li.className = "device-hashes__item";
      li.setAttribute("data-md5", r.md5);
      li.textContent = "✓ " + box.getAttribute("data-done") + " ";
      var codes = document.createElement("bdi");  // hex codes read left to right in an Arabic line
      codes.dir = "ltr";
      codes.className = "device-hashes__codes";
      codes.textContent = "MD5 " + r.md5.slice(0, 8) + "…" + (r.pdq ? " · PDQ " + r.pdq.slice(0, 8) + "…" : "");
      li.appendChild(codes);
      list.appendChild(li);
    }

    // The form came back (a field to correct): the fingerprints already made stay.
    try { made = JSON.parse(field.value || "[]"); } catch (e) { made = []; }
    if (!Array.isArray(made)) { made = []; }
    made.forEach(shown);
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || [], 0, Math.max(0, limit - made.length));
      status.textContent = box.getAttribute("data-working");
      var next = Promise.resolve();
      files.forEach(function (file) {
        next = next.then(function () { return hashFile(file); }).then(function (r) {
          made.push(r);
          shown(r);
        }, function () {
          var li = document.createElement("li");
          li.className = "error";
          li.textContent = box.getAttribute("data-failed");
          list.appendChild(li);
        });
      });
      next.then(function () {
        field.value = JSON.stringify(made);
        input.value = "";  // the picture is let go; only its fingerprints stay
        status.textContent = "";
      });
    });
  });
})();
