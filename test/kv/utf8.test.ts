/** UTF-8 sizes computed by hand (the pure layers have no TextEncoder), checked against Node's Buffer. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, test } from "node:test";
import fc from "fast-check";
import { utf8ByteLength } from "../../src/kv/utf8.ts";

const PROPERTY = { seed: 5, numRuns: 500 } as const;

/** Whether `text` has no lone surrogate, by the language's own definition (String.prototype.isWellFormed). */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

describe("utf8ByteLength", () => {
  test("equals Buffer.byteLength for well-formed strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        assert.equal(utf8ByteLength(text), Buffer.byteLength(text, "utf8"));
      }),
      PROPERTY,
    );
  });

  test("is null exactly when the string holds a lone surrogate", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const bytes = utf8ByteLength(text);
        if (isWellFormed(text)) assert.equal(bytes, Buffer.byteLength(text, "utf8"));
        else assert.equal(bytes, null);
      }),
      PROPERTY,
    );
    assert.equal(utf8ByteLength("\ud800"), null);
    assert.equal(utf8ByteLength("a\udc00"), null);
    assert.equal(utf8ByteLength("\ud800\ud800"), null);
    assert.equal(utf8ByteLength("\ud83d\ude00"), 4);
  });

  test("stops counting once past the limit", () => {
    assert.equal(utf8ByteLength("abcdef", 3), 4);
    assert.equal(utf8ByteLength("abc", 3), 3);
  });
});
