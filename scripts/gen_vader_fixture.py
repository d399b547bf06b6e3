#!/usr/bin/env python3
"""Generates the VADER parity fixtures from Python vaderSentiment 3.3.2.

1. tests/fixtures/vader_parity.json: sentences written for this project that exercise every
   VADER rule (lexicon, boosters/dampeners, negation, ALL CAPS, "but", "least", "kind of",
   idioms, "never so", "without doubt", "no", punctuation emphasis, emoji, emoticons,
   contractions), with Python's scores.
2. tests/fixtures/vader_icwsm2014_compound.json (when ../shared/data is present): Python's
   compound score for every line of the VADER ICWSM 2014 files, keyed by file and line number
   (no third-party text is stored).

Run in a throwaway venv (vaderSentiment 3.3.2 from PyPI):
    python3 -m venv /tmp/vadervenv && /tmp/vadervenv/bin/pip install vaderSentiment==3.3.2
    /tmp/vadervenv/bin/python scripts/gen_vader_fixture.py
"""
import itertools
import json
import os
import sys

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HAND = [
    "The summit was good.", "The summit was GOOD.", "The summit was good!", "The summit was good!!!",
    "The summit was good!!!!!!", "Was the summit good??", "Was the summit good????",
    "The summit was not good.", "The summit wasn't good.", "The summit was never good.",
    "The summit was never so good.", "The summit was never this good!", "Without a doubt, a great deal.",
    "Without doubt an excellent idea.", "The deal is not bad at all.", "Not bad, not great.",
    "The talks were good, but the outcome was terrible.", "The talks were terrible but the outcome was good.",
    "Good but bad but good.", "He is the least trusted leader.", "At least it is not a horrible deal.",
    "It was very least good.", "The deal was only kind of good.", "The deal was kind of bad.",
    "The deal was sort of okay.", "The deal was kinda good.", "The reforms were somewhat helpful.",
    "The reforms were barely helpful.", "The reforms were extremely helpful.",
    "The reforms were EXTREMELY helpful.", "The reforms were VERY HELPFUL indeed.",
    "THE REFORMS WERE HELPFUL.", "No problem at all.", "There is no hope.", "No good deed.",
    "No, or bad, outcomes.", "No joy or happiness.", "That speech was the bomb!", "That speech was the shit.",
    "What a badass move.", "Yeah right, peace at last.", "It was a kiss of death for the treaty.",
    "A deal to die for.", "They met at the bus stop.", "His beating heart was visible.",
    "Make sure you :) today!", "Sad day :(", "I <3 diplomacy", "lol the minister fell asleep",
    "The talks sux!", "Today only kinda sux! But I'll get by, lol", "Catch emoji such as 💘 and 😁",
    "Peace 😁😁", "💘", "War 💔 and loss", "😡 angry crowds gathered", "", "   ", "!!!", "?", "...",
    "Despite the good news, markets fell.", "Nothing good came of it.", "None of it was good.",
    "Nobody was happy.", "Hardly a success.", "Scarcely a victory.", "Absolutely wonderful news!",
    "Utterly horrible violence.", "The uber great plan.", "Friggin FUNNY speech!!!",
    "The FRIGGIN plan failed.", "The minister is not very good.", "The minister isn't really bad.",
    "The minister is not the worst.", "The envoy was most helpful.", "The envoy was more hopeful than ever.",
    "The envoy was less hopeful.", "A little hope remains.", "Almost a disaster.", "Quite a disaster!",
    "So much hate.", "So so good.", "Never ever good.", "It's not that I don't like it.",
    "I can't say it was terrible.", "They cannot agree, sadly.", "The aid was welcome, but not enough.",
    "BUT the deal collapsed.", "Sanctions hurt, but talks help, but war kills.",
    "He said: 'great!'", "\"Excellent,\" she said.", "(good)", "good,bad", "good... bad...",
    "Threats, insults and lies.", "Praise, thanks and love.", "The ceasefire holds.",
    "Kim vowed to annihilate his enemies.", "Trump said they fell in love.",
    "The most reactionary state on earth.", "The toughest anti-US policy.",
    "A historic, wonderful, beautiful day for peace!!", "A horrible, terrible, awful day of war!!",
    "WAR!!!", "peace?", "peace???", "War? Peace? Both??", "I am NOT happy.", "I am not HAPPY.",
    "Not such a badass after all.", "She is at least compelling.", "One of the least compelling ideas.",
    "Truly, madly, deeply in love.", "It's the kind of thing we love.", "kind of", "kind",
    "The deal was just enough good.", "A sort-of good deal.", "A kind-of bad deal.",
    "Tab\tseparated\tgood\twords.", "Line\nbreak good.", "Non\u00a0breaking good space.",
    "Ünïcödé good wörds.", "naïve hope", "café society is good", "Ｇｏｏｄ full width",
    "GOOD good Good gOOD", "Good GOOD", "A", "a good", "the", "NO NO NO", "no no good",
]

WORDS_POS = ["good", "great", "hope", "peace", "win", "support", "praise", "welcome", "love", "friendly"]
WORDS_NEG = ["bad", "war", "hate", "threat", "attack", "crisis", "condemn", "hostile", "kill", "fear"]
PRE = ["", "very ", "not ", "never ", "hardly ", "kind of ", "extremely ", "no ", "least ", "isn't ",
       "VERY ", "NOT ", "somewhat ", "never so ", "without doubt "]
POST = [".", "!", "!!", "?", "??", "!?", " :)", " :(", " 😁", " lol"]
FRAMES = ["The response was {w}{p}", "Officials called it {w}{p}", "{W}{p}",
          "It was {w}, but the talks continued{p}", "Some say {w} while others say nothing{p}"]


def generated():
    out = []
    for i, (pre, w, post, frame) in enumerate(
        itertools.product(PRE, WORDS_POS + WORDS_NEG, POST, FRAMES)
    ):
        # a deterministic thinning of the full product
        if i % 17 != 0:
            continue
        word = pre + w
        text = frame.format(w=word, W=word[:1].upper() + word[1:], p=post)
        if i % 3 == 0:
            text = text.replace(w, w.upper())
        out.append(text)
    return out


def main():
    sia = SentimentIntensityAnalyzer()
    sentences = []
    seen = set()
    for s in HAND + generated():
        if s not in seen:
            seen.add(s)
            sentences.append(s)
    rows = [dict(text=s, **sia.polarity_scores(s)) for s in sentences]
    path = os.path.join(ROOT, "tests/fixtures/vader_parity.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/gen_vader_fixture.py", "vaderSentiment": "3.3.2", "rows": rows},
                  f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"{path}: {len(rows)} sentences", file=sys.stderr)

    data = os.path.join(ROOT, "../shared/data/vader_icwsm2014")
    if os.path.isdir(data):
        files = {}
        for name in sorted(os.listdir(data)):
            if not name.endswith("_GroundTruth.txt"):
                continue
            scores = []
            with open(os.path.join(data, name), encoding="utf-8") as f:
                for line in f.read().split("\n"):
                    line = line.rstrip("\r")
                    if not line.strip():
                        scores.append(None)
                        continue
                    text = line.split("\t", 2)[2].strip()
                    scores.append(sia.polarity_scores(text)["compound"])
            files[name] = scores
        path = os.path.join(ROOT, "tests/fixtures/vader_icwsm2014_compound.json")
        with open(path, "w") as f:
            json.dump({"generator": "scripts/gen_vader_fixture.py", "vaderSentiment": "3.3.2",
                       "note": "compound per line (null for blank lines); texts stay in ../shared",
                       "files": files}, f, separators=(",", ":"))
            f.write("\n")
        print(f"{path}: {sum(len(v) for v in files.values())} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
