import { describe, expect, it } from "vitest";
import {
  decodeQuotedPrintable,
  emailSentences,
  fnv1a,
  isProse,
  ownLines,
  parsePart,
  plainText,
  type RawEmail,
  sentencesOf,
  splitDomain,
} from "../../src/corpus/email.ts";

// A reply in the corpus's shape: folded headers, a quoted header block, quoted lines of
// both styles, an attribution, a URL and an address, a signature and a Mailman footer.
const REPLY = [
  "From someone@example.com  Thu Aug 22 12:36:23 2002",
  "Received: from localhost (localhost [127.0.0.1])",
  "\tby phobos.labs.example.com (Postfix) with ESMTP id D03E543C36",
  "Subject: Re: New Sequences Window",
  "Content-Type: text/plain; charset=us-ascii",
  "",
  "    Date:        Wed, 21 Aug 2002 10:54:46 -0500",
  "    From:        Chris <cwg@example.com>",
  "",
  "  | I can't reproduce this error.",
  "On Wed, 21 Aug 2002, Chris wrote:",
  "> Quoted text that must go.",
  "",
  "For me it is very repeatable, like every time.",
  "See http://www.example.com/bug?id=1 for the log. Mail me at kre@example.com anytime!",
  "",
  "-- ",
  "Robert, who signs every message.",
  "",
  "_______________________________________________",
  "Exmh-workers mailing list",
].join("\n");

describe("parsePart / plainText", () => {
  it("drops the header block and keeps the body of a plain message", () => {
    const part = parsePart(REPLY);
    expect(part.headers.get("subject")).toBe("Re: New Sequences Window");
    expect(part.headers.get("received")).toBe(
      "from localhost (localhost [127.0.0.1]) by phobos.labs.example.com (Postfix) with ESMTP id D03E543C36",
    );
    expect(part.body.startsWith("    Date:")).toBe(true);
    expect(plainText(part)).toBe(part.body);
  });

  it("keeps only the text/plain parts of a multipart message, decoding quoted-printable", () => {
    const raw = [
      'Content-Type: multipart/alternative; boundary="XYZ"',
      "",
      "This is a preamble.",
      "--XYZ",
      "Content-Type: text/plain; charset=iso-8859-1",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "Caf=E9 prices are up by fifty per=",
      "cent this year.",
      "--XYZ",
      "Content-Type: text/html",
      "",
      "<p>Caf&eacute; prices are up.</p>",
      "--XYZ",
      "Content-Type: application/pgp-signature",
      "",
      "iD8DBQE9Y7fGK9b4h5R0IUIRAi69AJ97NVQMDxZgE1",
      "--XYZ--",
      "An epilogue.",
    ].join("\n");
    expect(plainText(parsePart(raw))).toBe("Caf\u00e9 prices are up by fifty percent this year.");
  });

  it("finds nothing in an HTML-only or base64 message", () => {
    expect(plainText(parsePart("Content-Type: text/html\n\n<p>Hello there, friend.</p>"))).toBe("");
    expect(plainText(parsePart("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8="))).toBe("");
  });

  it("decodes quoted-printable escapes and soft line breaks", () => {
    expect(decodeQuotedPrintable("a=3Db and=\r\n c=20d")).toBe("a=b and c d");
  });
});

describe("ownLines / sentencesOf", () => {
  it("removes quotes, attributions, quoted headers, URLs, addresses, the signature and the footer", () => {
    const lines = ownLines(parsePart(REPLY).body);
    const text = lines.join("\n");
    for (const gone of [
      "reproduce",
      "Quoted",
      "wrote",
      "Date:",
      "From:",
      "http",
      "example.com",
      "Robert",
      "mailing list",
    ]) {
      expect(text).not.toContain(gone);
    }
    expect(sentencesOf(lines)).toEqual([
      "For me it is very repeatable, like every time.",
      "See for the log.",
      "Mail me at anytime!",
    ]);
  });

  it("cuts at an Outlook-style original message and drops PGP armour", () => {
    const body = [
      "-----BEGIN PGP SIGNED MESSAGE-----",
      "Hash: SHA1",
      "",
      "We should ship it on Monday.",
      "-----BEGIN PGP SIGNATURE-----",
      "iD8DBQE9Y7fGK9b4h5R0IUIRAi69AJ97NVQMDxZgE1",
      "-----END PGP SIGNATURE-----",
      "Thanks again.",
      "-----Original Message-----",
      "We should not ship it.",
    ].join("\n");
    expect(ownLines(body).filter((l) => l !== "")).toEqual(["We should ship it on Monday.", "Thanks again."]);
  });

  it("splits a paragraph at sentence ends followed by a capital, digit or quote, and not inside one", () => {
    expect(
      sentencesOf([
        "It works. 2 people said so!",
        'He asked "why?" and left. "Fine," she said.',
        "",
        "Version 3.5 is out.",
      ]),
    ).toEqual([
      "It works.",
      "2 people said so!",
      'He asked "why?" and left.',
      '"Fine," she said.',
      "Version 3.5 is out.",
    ]);
  });
});

describe("isProse", () => {
  it("keeps ordinary sentences", () => {
    expect(isProse("For me it is very repeatable, like every time.", 64)).toBe(true);
    expect(isProse('"Carbon dioxide turned into fuel," he wrote.', 64)).toBe(true);
  });

  it("leaves out code, logs, headlines, shouting, fragments and overlong sentences", () => {
    expect(isProse("18:19:03 exec pick +inbox -list -lbrace 4852-4852 -sequence mercury.", 64)).toBe(false);
    expect(isProse("Progress of Senate anti-spam bill", 64)).toBe(false);
    expect(isProse("IF YOU DON'T KNOW WHY YOU GOT THIS MESSAGE.", 64)).toBe(false);
    expect(isProse("lowercase start is not a sentence.", 64)).toBe(false);
    expect(isProse("Sure thing.", 64)).toBe(false);
    expect(isProse(`It goes ${"on and ".repeat(40)}on.`, 64)).toBe(false);
  });
});

describe("emailSentences", () => {
  it("gives the author's own prose sentences of a message", () => {
    expect(emailSentences(REPLY, 64)).toEqual([
      "For me it is very repeatable, like every time.",
      "See for the log.",
      "Mail me at anytime!",
    ]);
  });
});

describe("splitDomain", () => {
  const message = (i: number, lines: string[]): RawEmail => ({
    id: `g/${String(i).padStart(5, "0")}`,
    text: `Subject: m${i}\n\n${lines.join("\n")}`,
  });
  const NUMBERS = ["one", "two", "three", "four", "five"];
  const own = (i: number, n: number) => NUMBERS.slice(0, n).map((j) => `Message ${i} says that thing ${j} is here.`);
  const emails = Array.from({ length: 40 }, (_, i) => message(i, [...own(i, 5), "This line is in every message."]));
  const opts = { stream: 60, heldOut: 20, heldOutEvery: 4, perEmail: 3 };

  it("is deterministic, fills both sides from disjoint messages and drops repeated sentences", () => {
    const a = splitDomain(emails, 64, opts);
    expect(splitDomain([...emails].reverse(), 64, opts)).toEqual(a);
    expect(a.stream).toHaveLength(60);
    expect(a.heldOut).toHaveLength(20);
    const messageOf = (s: string) => Number(/Message (\d+)/.exec(s)![1]);
    const streamMessages = new Set(a.stream.map(messageOf));
    expect(a.heldOut.some((s) => streamMessages.has(messageOf(s)))).toBe(false);
    expect([...a.stream, ...a.heldOut].some((s) => s.includes("every message"))).toBe(false);
    for (const side of [a.stream, a.heldOut]) {
      for (const m of new Set(side.map(messageOf)))
        expect(side.filter((s) => messageOf(s) === m).length).toBeLessThanOrEqual(3);
    }
    // Held-out messages are exactly those whose id hash is divisible by heldOutEvery.
    for (const s of a.heldOut) expect(fnv1a(`g/${String(messageOf(s)).padStart(5, "0")}`) % 4).toBe(0);
  });

  it("fails loudly when the messages cannot fill the requested sizes", () => {
    expect(() => splitDomain(emails.slice(0, 5), 64, opts)).toThrow(/only/);
  });

  it("hashes with FNV-1a (32-bit reference values)", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
  });
});
