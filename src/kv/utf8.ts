/**
 * UTF-8 sizes of JavaScript strings, computed by hand so the key-value layer needs no host API (TextEncoder is
 * a Web API, not part of ECMAScript, and the pure layers compile without host types).
 */

/** The first and last UTF-16 code units of a high (leading) surrogate. */
const HIGH_SURROGATE_FIRST = 0xd800;
const HIGH_SURROGATE_LAST = 0xdbff;
/** The first and last UTF-16 code units of a low (trailing) surrogate. */
const LOW_SURROGATE_FIRST = 0xdc00;
const LOW_SURROGATE_LAST = 0xdfff;

/**
 * The number of bytes `text` takes in UTF-8, or `null` when `text` is not well-formed Unicode (it holds a lone
 * surrogate, which has no UTF-8 encoding and which encoders would silently replace or mangle).
 *
 * Stops early and returns a value above `stopAboveBytes` as soon as the count exceeds it, so checking a huge
 * string against a small limit costs no more than the limit (well-formedness past that point is not checked).
 */
export function utf8ByteLength(text: string, stopAboveBytes = Number.MAX_SAFE_INTEGER): number | null {
  let bytes = 0;
  // The loop is bounded by text.length, and by stopAboveBytes through the early return.
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= HIGH_SURROGATE_FIRST && unit <= HIGH_SURROGATE_LAST) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= LOW_SURROGATE_FIRST && next <= LOW_SURROGATE_LAST)) return null;
      bytes += 4;
      i++;
    } else if (unit >= LOW_SURROGATE_FIRST && unit <= LOW_SURROGATE_LAST) return null;
    else bytes += 3;
    if (bytes > stopAboveBytes) return bytes;
  }
  return bytes;
}
