/**
 * Scrubbing finds a secret in every form it can take on the wire, and a
 * secret too short to find safely hides the whole text rather than showing
 * where it matched.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Redacted } from "effect"
import {
  asProse,
  cachedSpellingCharacters,
  excerpt,
  overlap,
  withoutKnownSecrets,
  withoutSecrets,
} from "../src/internal/scrub.js"

/** The shortest secret scrubbing looks for (`minScrubbableLength`); shorter ones withhold the text. */
const minScrubbableLength = 8

const form = (value: string) => new URLSearchParams({ s: value }).toString().slice(2)
const lowerHex = (value: string) => value.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())
const html = (value: string, apostrophe: string) =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": apostrophe })[c] ?? c)
const asciiJson = (value: string) =>
  JSON.stringify(value)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`)
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64")
const pythonQuote = (value: string) =>
  encodeURIComponent(value)
    .replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const goTemplate = (value: string) =>
  value.replace(
    /[&<>"'+]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;", "+": "&#43;" })[c] ?? c,
  )
const numericReferences = (value: string, radix: 10 | 16) =>
  [...value]
    .map((c) => (/[A-Za-z0-9]/.test(c) ? c : `&#${radix === 16 ? "x" : ""}${(c.codePointAt(0) ?? 0).toString(radix)};`))
    .join("")

/** Each way a server was seen (or could be) echoing a secret. */
const encodings: Record<string, (secret: string) => string> = {
  raw: (s) => s,
  "percent-encoded": encodeURIComponent,
  "percent-encoded, lower-case hex": (s) => lowerHex(encodeURIComponent(s)),
  "form-encoded": form,
  "form-encoded, lower-case hex": (s) => lowerHex(form(s)),
  "JSON-escaped": (s) => JSON.stringify(s).slice(1, -1),
  // Python's json.dumps and others escape every non-ASCII character.
  "JSON-escaped, ASCII only": asciiJson,
  // A value that went through two layers of URL encoding (a redirect carrying a URL).
  "percent-encoded twice": (s) => encodeURIComponent(encodeURIComponent(s)),
  "form-encoded twice": (s) => form(form(s)),
  // An HTML error page quoting what it was sent.
  "HTML-escaped": (s) => html(s, "&#39;"),
  "HTML-escaped, hex apostrophe": (s) => html(s, "&#x27;"),
  base64: (s) => Buffer.from(s).toString("base64"),
  "base64 without padding": (s) => Buffer.from(s).toString("base64").replace(/=+$/, ""),
  base64url: (s) => Buffer.from(s).toString("base64url"),
  "Basic credentials": (s) => `Basic ${basic("client-1", s)}`,
  "Basic credentials, one-byte user": (s) => basic("c", s),
  "Basic credentials, two-byte user": (s) => basic("cl", s),
  // RFC 6749 §2.3.1: the client id and secret are form-encoded before they are base64-encoded.
  "RFC 6749 Basic credentials (form-encoded, then base64)": (s) => basic("hyperid-client", form(s)),
  "base64 of the percent-encoded secret": (s) => Buffer.from(`x${encodeURIComponent(s)}`).toString("base64"),
  "Basic credentials, three-byte user": (s) => basic("cli", s),
  // Python's urllib.parse.quote keeps "/" by default, and escapes !'()* that encodeURIComponent keeps.
  "percent-encoded as Python's quote()": pythonQuote,
  "percent-encoded as Python's quote(), lower-case hex": (s) => lowerHex(pythonQuote(s)),
  // Go's html/template: &#34; &#39; and &#43; for + besides &amp; &lt; &gt;.
  "HTML-escaped as Go's html/template": goTemplate,
  // Encoders that write every character but letters and digits as a numeric reference (OWASP's).
  "HTML numeric references, hex": (s) => numericReferences(s, 16),
  "HTML numeric references, decimal": (s) => numericReferences(s, 10),
  // A UTF-16 answer read as UTF-8: each character followed (or preceded) by a NUL.
  "UTF-16LE read as UTF-8": (s) => Buffer.from(s, "utf16le").toString("utf8"),
}

describe("scrub: every encoding of a secret", () => {
  const secret = "cs+Sup3r/S3cret==~ !é&<\"'"
  for (const [name, encode] of Object.entries(encodings)) {
    it(`removes it ${name}`, () => {
      const text = `invalid client: client_secret=${encode(secret)}&x=1 was refused`
      const scrubbed = withoutSecrets(text, [Redacted.make(secret)])
      assert.notInclude(scrubbed, encode(secret))
      assert.include(scrubbed, "[redacted]")
      assert.include(scrubbed, "was refused", "the rest of the text stays")
      assert.notInclude(excerpt(text, [Redacted.make(secret)]), encode(secret))
    })
  }

  it("keeps prose that merely says Basic", () => {
    assert.strictEqual(withoutSecrets("Basic authentication is not enabled"), "Basic authentication is not enabled")
  })

  it.prop(
    "no generated secret survives in any encoding, wherever it sits in the text",
    {
      secret: fc.string({ minLength: minScrubbableLength, maxLength: 40, unit: "binary" }),
      encoding: fc.constantFrom(...Object.keys(encodings)),
      before: fc.string({ maxLength: 20 }),
      after: fc.string({ maxLength: 20 }),
    },
    ({ secret, encoding, before, after }) => {
      const encoded = (encodings[encoding] ?? String)(secret)
      const scrubbed = withoutSecrets(`${before}${encoded}${after}`, [Redacted.make(secret)])
      assert.notInclude(scrubbed, encoded.replace(/^Basic /, ""))
    },
  )
})

describe("scrub: a secret too short to find safely", () => {
  it("withholds the whole text instead of redacting every matching letter", () => {
    const scrubbed = withoutSecrets("bad client secret a", [Redacted.make("a")])
    assert.strictEqual(scrubbed, "[redacted]")
    assert.strictEqual(excerpt('{"error":"bad a"}', [Redacted.make("a")]), "[redacted]")
  })

  it.prop(
    "what is shown does not depend on the short secret: no oracle",
    {
      before: fc.string({ maxLength: 30 }),
      after: fc.string({ maxLength: 30 }),
      one: fc.string({ minLength: 1, maxLength: minScrubbableLength - 1 }),
      other: fc.string({ minLength: 1, maxLength: minScrubbableLength - 1 }),
    },
    ({ before, after, one, other }) => {
      // The text carries one of them: the reader must not learn which.
      const text = `${before}${one}${after}`
      assert.strictEqual(withoutSecrets(text, [Redacted.make(one)]), withoutSecrets(text, [Redacted.make(other)]))
      assert.strictEqual(excerpt(text, [Redacted.make(one)]), excerpt(text, [Redacted.make(other)]))
    },
  )
})

describe("withoutKnownSecrets (an API's answer handed on)", () => {
  const token = Redacted.make("at_9f8e7d6c5b4a3210")
  it("replaces the token in every spelling and leaves the rest of the data as it was", () => {
    const other = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln Bearer someone-elses-token"
    for (const [name, encode] of Object.entries(encodings)) {
      const text = `{"echo":"${encode(Redacted.value(token))}","data":"${other}"}`
      const scrubbed = withoutKnownSecrets(text, [token])
      assert.notInclude(scrubbed, encode(Redacted.value(token)), name)
      assert.include(scrubbed, other, name)
    }
  })
  it("a text cut at a size limit loses a tail that begins the token", () => {
    const value = Redacted.value(token)
    for (const kept of [minScrubbableLength, value.length - 1]) {
      const cut = `data ${value.slice(0, kept)}`
      assert.strictEqual(withoutKnownSecrets(cut, [token], true), "data [redacted]")
      assert.strictEqual(withoutKnownSecrets(cut, [token], false), cut)
    }
    assert.strictEqual(withoutKnownSecrets("data at_9f8e", [token], true), "data at_9f8e")
  })
})

/** `count` UUIDs joined with dots: a long secret made mostly of punctuation between short runs. */
const uuids = (count: number) =>
  Array.from({ length: count }, (_, i) => `${i.toString(16).padStart(8, "0")}-9f8e-4d6c-8b5a-3210fedcba98`).join(".")

describe("scrub: a long secret of many non-alphanumeric characters", () => {
  // 1,000 UUIDs joined with dots: 37 KB, 5,000 dashes and dots. One pattern with a group for each
  // was a stack overflow in V8's compiler, a SyntaxError that quotes the pattern: the secret.
  const value = uuids(1000)
  const token = Redacted.make(value)
  const escaped = (text: string) => text.replace(/[-.]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  it("is replaced, raw or escaped in any mix, without throwing", () => {
    const mixed = `${escaped(value.slice(0, 20_000))}${value.slice(20_000)}`
    for (const scrub of [withoutKnownSecrets, withoutSecrets]) {
      let scrubbed = ""
      try {
        scrubbed = scrub(`{"a":"${value}","b":"${mixed}","c":"kept"}`, [token])
      } catch (error) {
        // Not the error itself: its message is the pattern.
        assert.fail(`scrubbing threw ${error instanceof Error ? error.name : "something"}`)
      }
      assert.isFalse(scrubbed.includes("9f8e"), "a piece of the secret is left")
      assert.include(scrubbed, '"c":"kept"')
    }
  })
})

describe("scrub: a 64 KiB token of many non-alphanumeric characters, on every API call", () => {
  // 1,770 UUIDs joined with dots: 65 KB, under the 64 KiB the core takes from a token endpoint.
  // Its 256 patterns of mixed escapes were compiled and run on every text: some 1.6 s the first
  // call, then some 450 ms for each 1 MiB answer, whether it echoed the token or not.
  const value = Array.from({ length: 1770 }, () => crypto.randomUUID()).join(".")
  const token = Redacted.make(value)
  const answer = JSON.stringify({
    data: Array.from({ length: 16_000 }, (_, i) => ({ id: i, name: `item-${i}`, note: "x".repeat(40) })),
  }).slice(0, 1024 * 1024)
  const headers = ["application/json", "Wed, 02 Dec 2026 14:00:00 GMT", 'W/"abc123"', "nginx", "req_01HXYZ"]

  // What it costs is measured by `pnpm bench:micro` ("scrub a 1 MiB answer, 64 KiB token"), not
  // timed here: this checks the answers stay right on the fast path.
  it("leaves an answer and its headers alone, and replaces the token echoed as it is", () => {
    for (let call = 0; call < 3; call++) {
      assert.strictEqual(withoutKnownSecrets(answer, [token]), answer)
      for (const header of headers) assert.strictEqual(withoutKnownSecrets(header, [token]), header)
    }
    assert.strictEqual(withoutKnownSecrets(`{"echo":"${value}"}`, [token]), '{"echo":"[redacted]"}')
    assert.strictEqual(withoutKnownSecrets(`${answer}${value}`, [token]), `${answer}[redacted]`)
  })
})

describe("scrub: a piece of a secret in mixed escapes", () => {
  // A pattern runs only on a text that holds its piece's longest run of letters and digits.
  const unit = fc.constantFrom("a", "B", "7", "z", ".", "-", "/", "+", "=", "~", "é", " ")
  it.prop(
    "is found with its anchor, whatever else the text holds",
    {
      characters: fc.array(unit, { minLength: minScrubbableLength, maxLength: 60 }),
      escaped: fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
      before: fc.string({ maxLength: 20 }),
    },
    ({ characters, escaped, before }) => {
      const secret = characters.join("")
      const echoed = characters
        .map((c, i) =>
          /[A-Za-z0-9]/.test(c) || escaped[i] !== true
            ? c
            : encodeURIComponent(c).replace(/^[^%]*$/, (r) => `%${r.charCodeAt(0).toString(16)}`),
        )
        .join("")
      const scrubbed = withoutKnownSecrets(`${before}${echoed}!`, [Redacted.make(secret)])
      assert.notInclude(scrubbed, echoed)
    },
  )
})

describe("scrub: a secret echoed in another case", () => {
  // An API or an error page may upper-case what it echoes (a hex token is the same token so).
  const value = "at_9f8e7d6c5b4a3210.Hyperproof-Token"
  const token = Redacted.make(value)
  const cases = {
    "upper-cased": value.toUpperCase(),
    "lower-cased": value.toLowerCase(),
    "with every other letter's case changed": [...value]
      .map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase()))
      .join(""),
    "percent-encoded, then upper-cased": encodeURIComponent(`${value}/x`).toUpperCase(),
    "with a dot percent-encoded, then upper-cased": value.replace(".", "%2e").toUpperCase(),
  }
  for (const [name, echoed] of Object.entries(cases)) {
    it(`is replaced ${name}, in an answer, in prose and in an excerpt`, () => {
      const text = `{"echo":"${echoed}","kept":"Data"}`
      for (const scrubbed of [
        withoutKnownSecrets(text, [token]),
        withoutSecrets(text, [token]),
        asProse(text, [token]),
        excerpt(text, [token]),
      ]) {
        assert.notInclude(scrubbed.toLowerCase(), "9f8e7d6c5b4a3210", name)
        assert.include(scrubbed, '"kept":"Data"', name)
      }
    })
  }
  it("a cut answer loses a tail that begins it upper-cased", () => {
    const cut = `data ${value.slice(0, 20).toUpperCase()}`
    assert.strictEqual(withoutKnownSecrets(cut, [token], true), "data [redacted]")
  })
})

describe("scrub: a secret longer than any provider issues", () => {
  // 4,000 UUIDs joined with dots, 148 KB: past the length looked for in mixed escapes, still found as it is.
  const value = uuids(4000)
  const token = Redacted.make(value)

  it("is replaced as it is, and a cut answer loses the tail that begins it", () => {
    // Trying every length of the tail in turn took quadratic time: minutes on this secret.
    const cut = `{"a":"${value}","b":"${value.slice(0, 100_000)}`
    const scrubbed = withoutKnownSecrets(cut, [token], true)
    assert.isFalse(scrubbed.includes("9f8e"), "a piece of the secret is left")
    assert.strictEqual(scrubbed, '{"a":"[redacted]","b":"[redacted]')
  })
})

describe("scrub: prose a server wrote (withoutSecrets), of up to the 256 KiB read limit", () => {
  it("is scrubbed of JWTs in linear time, also a run of `eyJ` with no dot", () => {
    // Every `eyJ` began a match that ran to the end of the run and back: 45 s on 256 KB, the event loop held.
    const description = "eyJ".repeat(85_000)
    // The test's own time limit catches a return of the quadratic scan; the cost is not timed here.
    assert.strictEqual(withoutSecrets(description), description)
  })

  it("replaces JWTs as it did: from the first `eyJ` of a run followed by a dot", () => {
    const reference = (text: string) => text.replace(/eyJ[\w-]+\.[\w-]*\.?[\w-]*/g, "[redacted]")
    const piece = fc.constantFrom("eyJ", "e", "y", "J", "a", "_", "-", ".", " ", ":", "é")
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join("")
        assert.strictEqual(withoutSecrets(text), reference(text).replace(/(\bBearer\s+)[\w.~+/=-]+/gi, "$1[redacted]"))
      }),
      { numRuns: 20_000 },
    )
  })
})

describe("scrub: a cut answer's tail", () => {
  it("is the longest end of the text that begins a spelling (overlap, against trying every length)", () => {
    const brute = (text: string, spelling: string) => {
      for (let length = Math.min(text.length, spelling.length - 1); length > 0; length--)
        if (text.endsWith(spelling.slice(0, length))) return length
      return 0
    }
    const word = fc.stringOf(fc.constantFrom("a", "b", "é", "\ud83d", "\ude00"), { maxLength: 20 })
    fc.assert(
      fc.property(word, word, (text, spelling) => {
        assert.strictEqual(overlap(text, spelling), brute(text, spelling))
      }),
      { numRuns: 50_000 },
    )
  })
})

describe("excerpt: a secret the scrubbing window cuts in two", () => {
  const secret = "correct-horse-battery-staple-and-more-words-of-a-long-passphrase-"
  const known = [Redacted.make(secret)]
  const pieces = (length: number) =>
    Array.from({ length: secret.length - length + 1 }, (_, i) => secret.slice(i, i + length))

  it("shows none of it after indentation that single-spaces to nothing", () => {
    for (let at = 3_900; at < 4_000; at += 7) {
      const shown = excerpt(`<p>\n${" ".repeat(at - 4)}${secret}</p>`, known)
      for (const piece of pieces(6)) assert.notInclude(shown, piece)
    }
  })

  it("shows none of it after copies of it that scrub to [redacted]", () => {
    // A long secret: 17 copies and their spaces are 3,910 characters, and 187 once scrubbed.
    const long = secret.repeat(4).slice(0, 229)
    const copies = `${long} `.repeat(17)
    const shown = excerpt(`${copies}${long}`, [Redacted.make(long)])
    for (let at = 0; at + 6 <= long.length; at++) assert.notInclude(shown, long.slice(at, at + 6))
  })

  it("still starts with the text before it", () => {
    assert.strictEqual(excerpt(`Bad gateway${" ".repeat(4_000)}${secret}`, known), "Bad gateway [redacted]")
  })
})

describe("the spellings kept of secrets looked for", () => {
  it("stay within some 16 MB however large the secrets (each a fresh login's token)", () => {
    // Over 64 Ki characters: only the exact spellings, quick to make. Some 5.6 M characters of them each.
    for (let i = 0; i < 6; i++) {
      const secret = `${i}${'"/'.repeat(50_000)}`
      assert.strictEqual(withoutKnownSecrets(`a ${secret} b`, [Redacted.make(secret)]), "a [redacted] b")
    }
    assert.isAtMost(cachedSpellingCharacters(), 16 * 1024 * 1024)
  })
})

describe("a secret with spaces, echoed with other whitespace", () => {
  // Single-spacing comes after the scrubbing: a secret whose spaces came back
  // as line breaks or tabs is found by no spelling, then made whole.
  const secret = "correct horse battery staple 42"
  const known = [Redacted.make(secret)]
  for (const [name, echoed] of [
    ["line breaks", secret.replaceAll(" ", "\n")],
    ["tabs", secret.replaceAll(" ", "\t")],
    ["no-break spaces", secret.replaceAll(" ", "\u00a0")],
    ["runs of spaces", secret.replaceAll(" ", "   ")],
  ] as const) {
    it(`is not made whole in an excerpt or an error's prose when its spaces came back as ${name}`, () => {
      const body = `<p>bad client: ${echoed}</p>`
      assert.notInclude(excerpt(body, known), "horse battery")
      assert.notInclude(asProse(body, known), "horse battery")
    })
  }
})

describe("excerpt: a secret field that is empty", () => {
  it("shows it empty, not as [redacted]: nothing was there to hide, and a reader would think a token came", () => {
    assert.strictEqual(excerpt('{"access_token":"","error":"x"}'), '{"access_token":"","error":"x"}')
    assert.strictEqual(excerpt("access_token=&token_type=bearer"), "access_token=&token_type=bearer")
    // A value is still replaced, and one whose closing quote was cut off.
    assert.strictEqual(excerpt('{"access_token":"abc"}'), '{"access_token":"[redacted]"}')
    assert.strictEqual(excerpt('{"refresh_token":"abc'), '{"refresh_token":"[redacted]')
    assert.strictEqual(excerpt("code=abc&state=s"), "code=[redacted]&state=s")
  })
})

describe("scrub: a secret whose letters and digits are escaped too", () => {
  // An encoder may escape every character (OWASP's encodes all but a few; a JSON writer may write
  // \u escapes for any): a reader decoding the text has the secret whole.
  const value = "at_9f8e7d6c5b4a3210.Hyperproof-Token"
  const token = Redacted.make(value)
  const every = {
    "as JSON \\u escapes": (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    "as HTML decimal references": (c: string) => `&#${c.charCodeAt(0)};`,
    "as HTML hex references": (c: string) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`,
    "percent-encoded": (c: string) => `%${c.charCodeAt(0).toString(16)}`,
  }
  for (const [name, escapeOne] of Object.entries(every)) {
    it(`is replaced with every character ${name}, or every other one`, () => {
      for (const echoed of [
        [...value].map(escapeOne).join(""),
        [...value].map((c, i) => (i % 2 === 0 ? escapeOne(c) : c)).join(""),
      ]) {
        for (const scrub of [withoutKnownSecrets, withoutSecrets]) {
          assert.strictEqual(scrub(`<p>${echoed}</p> kept`, [token]), "<p>[redacted]</p> kept", name)
        }
      }
    })
  }
  it("is replaced in a mix of all of them, upper-cased", () => {
    const escapes = Object.values(every)
    const echoed = [...value].map((c, i) => escapes[i % escapes.length]?.(c.toUpperCase()) ?? c).join("")
    assert.strictEqual(withoutKnownSecrets(`x ${echoed} y`, [token]), "x [redacted] y")
  })
  it("leaves escapes that spell something else alone", () => {
    const text = "caf\\u00e9 &amp; %41%42 &#65;&#x42; \\n"
    assert.strictEqual(withoutKnownSecrets(text, [token]), text)
  })
})

describe("scrub: a secret with each character written raw or in any escape", () => {
  const escapes: ReadonlyArray<(c: string) => string> = [
    (c) => c,
    (c) => [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join(""),
    (c) => [...Buffer.from(c, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
    (c) => `&#${c.codePointAt(0)};`,
    (c) => `&#x${(c.codePointAt(0) ?? 0).toString(16)};`,
    (c) => (c.length === 1 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c),
  ]
  const unit = fc.constantFrom("a", "Z", "0", "9", ".", "-", "_", "~", "/", "+", "=", "%", "&", ";", "é", "€", "😀")
  it.prop(
    "is replaced, and the text around it kept",
    {
      characters: fc.array(unit, { minLength: minScrubbableLength, maxLength: 40 }),
      choices: fc.array(fc.nat({ max: escapes.length - 1 }), { minLength: 40, maxLength: 40 }),
    },
    ({ characters, choices }) => {
      const secret = characters.join("")
      const echoed = characters.map((c, i) => escapes[choices[i] ?? 0]?.(c) ?? c).join("")
      const scrubbed = withoutKnownSecrets(`<p>${echoed}</p>`, [Redacted.make(secret)])
      assert.strictEqual(scrubbed, "<p>[redacted]</p>", echoed)
    },
  )
})

describe("excerpt: a credential member whatever its value", () => {
  // A broken or hostile token endpoint answers a token as a number, an array or an object,
  // or under a name of its own: the excerpt of its `invalid_response` quoted it.
  const answers: Record<string, string> = {
    "a number": '{"access_token":48151623424815162342,"token_type":"Bearer"}',
    "a short number": '{"refresh_token":12345678,"token_type":"Bearer"}',
    "an array": '{"access_token":["v1:AbCdEfGh:IjKlMnOpQrStUv"],"token_type":"Bearer"}',
    "an object": '{"access_token":{"v":"OBJ:SECRET:4","w":[1,{"x":"}"}]},"token_type":"Bearer"}',
    "a name of its own": '{"session_token":"SESS:SECRET7","api-key":"KEY:SECRET8","token_type":"Bearer"}',
    "cut inside it": '{"access_token":{"v":"CUT:SECRET9',
    "under a name written in escapes": '{"acc\\u0065ss_tok\\u0065n":12345678,"token_type":"Bearer"}',
  }
  for (const [name, body] of Object.entries(answers)) {
    it(`withholds ${name}, and keeps the members around it`, () => {
      const shown = excerpt(body)
      assert.notMatch(shown, /SECRET|AbCdEfGh|4815162342|12345678/, shown)
      assert.include(shown, "[redacted]")
      if (!name.startsWith("cut")) assert.include(shown, '"token_type":"Bearer"')
    })
  }
  it("keeps members that only describe a credential: its type, its lifetime, an error's code", () => {
    const body = '{"token_type":"Bearer","expires_in":3600,"error":"invalid_grant","code":400,"status_code":400}'
    assert.strictEqual(excerpt(body), body)
  })
})
