#!/usr/bin/env python3
"""Generates tests/fixtures/tokenizer_ids.json: the token ids that the encoder's own
tokenizer.json (HF `tokenizers`) gives for sentences written for this project. The Rust
tokenizer test compares rhetor's WordPiece ids with these.

Run once after changing the sentence list (needs `pip install tokenizers` in a throwaway venv):
    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers==0.23.3
    /tmp/tokvenv/bin/python scripts/gen_tokenizer_fixture.py models/all-minilm-l6-v2/tokenizer.json
"""
import json
import sys

from tokenizers import Tokenizer

SENTENCES = [
    "Kim Jong Un promised the toughest policy yet.",
    "Trump said he and Kim \u201cfell in love.\u201d",
    "The U.S.-South Korea-Japan partnership is expanding.",
    "Growth slowed to 3.5 percent in the third quarter of 2024.",
    "Pyongyang fired 12 ballistic missiles on Dec. 29, officials said.",
    "Caf\u00e9 owners in Montr\u00e9al welcomed the d\u00e9cision.",
    "Na\u00efve diplomats underestimated the r\u00e9gime\u2019s resolve.",
    "Z\u00fcrich and S\u00e3o Paulo hosted rival summits.",
    "The minister\u2019s remarks were \u2018deeply regrettable,\u2019 Seoul said.",
    "\u201cWe will never surrender,\u201d the spokesman declared!",
    "Is this the end of d\u00e9tente?",
    "Antidisestablishmentarianism is not a foreign-policy doctrine.",
    "Supercalifragilisticexpialidocious negotiations dragged on.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a long word that will be split.",
    "The talks cost $1,250,000.75 and took 48 hours.",
    "Phone lines: +82-2-1234-5678 or (202) 555-0143.",
    "Emails like press@ministry.example went unanswered.",
    "He wrote at https://example.org/statement?id=42 yesterday.",
    "The ratio was 1:3, up from 1/4 in 2019.",
    "ALL CAPS HEADLINE: LEADERS MEET AGAIN",
    "mixed CaSe WoRdS confuse NoBoDy",
    "Tabs\tand   multiple   spaces   are whitespace.",
    "Line one\nline two\r\nline three.",
    "Em\u2014dashes and en\u2013dashes separate clauses.",
    "Ellipses\u2026 trail off\u2026 sometimes.",
    "Quotes \u00abin French\u00bb and \u201eGerman\u201c styles.",
    "Emoji \U0001F600 and symbols \u2122 \u00a9 \u00ae appear.",
    "Chinese characters \u4e60\u8fd1\u5e73 are split one by one.",
    "Korean text \uae40\uc815\uc740 appears in the original.",
    "Japanese \u77f3\u7834\u8302 was prime minister.",
    "Russian \u041f\u0443\u0442\u0438\u043d said nothing.",
    "Greek letters \u03b1\u03b2\u03b3 and math \u2211 \u221e.",
    "Arabic \u0627\u0644\u0633\u0644\u0627\u0645 means peace.",
    "Accents: \u00e0 \u00e1 \u00e2 \u00e3 \u00e4 \u00e5 \u00e7 \u00e8 \u00e9 \u00ea \u00eb \u00ec \u00ed \u00ee \u00ef.",
    "Ligatures \ufb01ne and \ufb02ow may normalize.",
    "Full-width \uff21\uff22\uff23 letters.",
    "Zero\u200bwidth space and non\u00a0breaking space.",
    "Control\u0007character in text.",
    "The year 1950 and the number 1,000,000 differ.",
    "Version 2.4.0 of the library shipped.",
    "Unknownwordxyzzyplugh appears here.",
    "#hashtags and @mentions are common on social media.",
    "He said: 'no comment'.",
    "(Parenthetical) [bracketed] {braced} text.",
    "A very long sentence " + "that keeps going and going " * 8 + "until it ends.",
    "Short.",
    "",
    "   ",
    "Kim's, Trump's and the North's positions hardened.",
    "Moscow's war against Ukraine entered its third year.",
    "NATO, the UN and the EU issued a joint statement.",
    "The Workers' Party of Korea held a five-day plenary meeting.",
    "Shigeru Ishiba and Yoon Suk Yeol met Volodymyr Zelensky.",
    "\u00bfQu\u00e9 pasa? \u00a1Nada!",
    "Stra\u00dfe and \u00c6sir and \u0152uvre.",
    "100% sure, 50\u00b0C heat, \u20ac20 and \u00a35 and \u00a5300.",
]


def main(path):
    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    rows = []
    for s in SENTENCES:
        enc = tok.encode(s)
        rows.append({"text": s, "ids": enc.ids})
    json.dump(
        {"generator": "scripts/gen_tokenizer_fixture.py", "tokenizers": __import__("tokenizers").__version__, "rows": rows},
        sys.stdout,
        ensure_ascii=False,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "models/all-minilm-l6-v2/tokenizer.json")
