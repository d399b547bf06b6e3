#!/usr/bin/env python3
"""Writes data/rhetoric/templated.jsonl: international-affairs rhetoric sentences built from
templates written for this project, labeled for tone on -2..+2 (see data/rhetoric/README.md).

Why: the third-party training data (review snippets, tweets, NewsMTSC) has little hostile
state rhetoric ("vowed to annihilate", "warned of merciless retaliation"), which review-trained
models read as positive ("vowed", "promised"). These sentences teach the tone model that
register. They are training data only; evaluation uses hand-written sentences. No template paraphrases
the seed article's test sentences ("toughest" anti-US policy, "most reactionary state", "fell
in love"), so the tests on those stay a fair check.

Each row also names the predicate's target (`mention`, `from`, `to`: character offsets), so the
target-dependent model can train on it too.

Deterministic: `python3 scripts/gen_rhetoric_templates.py > data/rhetoric/templated.jsonl`.
"""
import json
import random

SPEAKERS = [
    "Kim Jong Un", "North Korea", "Pyongyang", "The North Korean leader", "Vladimir Putin",
    "The Kremlin", "Moscow", "Russia's foreign ministry", "Xi Jinping", "Beijing",
    "China's defense ministry", "Donald Trump", "Joe Biden", "The White House", "Washington",
    "The State Department", "Iran's supreme leader", "Tehran", "Volodymyr Zelensky", "Kyiv",
    "Yoon Suk Yeol", "Seoul", "South Korea's unification ministry", "Shigeru Ishiba", "Tokyo",
    "NATO's secretary-general", "The European Union", "The foreign minister", "The junta",
    "The prime minister", "The president", "A government spokesman", "The ruling party",
    "Israel's prime minister", "The Taliban", "Venezuela's president", "Turkey's president",
    "India's foreign minister", "Pakistan's army chief", "The Workers' Party of Korea",
]
TARGETS = [
    "the United States", "South Korea", "Japan", "China", "Russia", "Ukraine", "NATO",
    "the European Union", "North Korea", "Iran", "Israel", "Britain", "France", "Germany",
    "Taiwan", "India", "Pakistan", "Turkey", "Poland", "the Baltic states", "Washington",
    "Seoul", "Tokyo", "Beijing", "Moscow", "Kyiv", "the West", "the United Nations",
    "its southern neighbor", "the rival government",
]
PREDICATES = {
    -2: [
        "vowed to annihilate {t} with overwhelming force",
        "threatened {t} with nuclear retaliation",
        "called {t} a gangster state that must be destroyed",
        "warned {t} of a merciless and devastating response",
        "declared {t} its principal enemy",
        "denounced {t} as a warmonger bent on invasion",
        "ordered the army to prepare for war against {t}",
        "threatened to wipe {t} off the map",
        "branded {t} a terrorist regime and vowed revenge",
        "promised to punish {t} without mercy",
        "called the leaders of {t} criminals who would pay in blood",
        "vowed that {t} would face a sea of fire",
        "warned that any provocation by {t} would be met with total war",
    ],
    -1: [
        "criticized {t} for its trade policy",
        "expressed concern about military drills by {t}",
        "rejected a proposal for talks from {t}",
        "expelled several diplomats from {t}",
        "imposed new sanctions on {t}",
        "accused {t} of violating the agreement",
        "summoned the ambassador of {t} to protest",
        "condemned a missile launch by {t}",
        "said {t} could not be trusted",
        "called the demands of {t} unacceptable",
        "accused {t} of spreading disinformation",
        "warned {t} against interfering in its internal affairs",
        "said relations with {t} had deteriorated sharply",
        "suspended cooperation with {t}",
        "blamed {t} for the collapse of the talks",
    ],
    0: [
        "met officials from {t} on {d}",
        "spoke with the leader of {t} by phone on {d}",
        "will host a delegation from {t} next week",
        "said talks with {t} would continue in {m}",
        "released a statement on its relations with {t}",
        "sent an envoy to {t}",
        "discussed trade and shipping with {t}",
        "is scheduled to visit {t} in {m}",
        "received a letter from {t}",
        "held a regular briefing that covered {t}",
        "announced that its ambassador to {t} would be replaced",
        "said it was studying a proposal from {t}",
        "confirmed that officials from {t} had arrived for the meeting",
        "published the schedule of its talks with {t}",
        "noted that a new round of negotiations with {t} would begin on {d}",
    ],
    1: [
        "welcomed an offer of talks from {t}",
        "thanked {t} for humanitarian aid",
        "agreed with {t} to expand trade",
        "signed a cooperation agreement with {t}",
        "called the talks with {t} productive",
        "expressed hope for better ties with {t}",
        "praised the restraint shown by {t}",
        "said the meeting with {t} had gone well",
        "welcomed the release of prisoners by {t}",
        "agreed with {t} to reopen their embassies",
        "said it was encouraged by progress in talks with {t}",
        "offered to help {t} recover from the floods",
        "described its partnership with {t} as constructive",
        "backed a proposal from {t} to ease tensions",
        "said relations with {t} were improving",
    ],
    2: [
        "hailed a historic friendship with {t}",
        "said its people loved the people of {t}",
        "praised the leader of {t} as a great and honorable partner",
        "celebrated a new era of peace with {t}",
        "said relations with {t} had never been better",
        "pledged eternal friendship with {t}",
        "called the summit with {t} a triumph for peace",
        "said the leader of {t} was a wonderful friend",
        "thanked {t} warmly for its generous and unwavering support",
        "praised {t} for its courage and extraordinary generosity",
        "hailed the deal with {t} as a glorious achievement",
        "said the bond with {t} was unbreakable",
        "lavished praise on {t} for its wise leadership",
        "embraced the leader of {t} and promised a bright future together",
    ],
}
FRAMES = [
    "{s} {p}.",
    "{s} {p}, state media reported {d}.",
    "{s} {p}, officials said.",
    "On {d}, {s_lower} {p}.",
    "According to {agency}, {s_lower} {p}.",
    "{s} {p}, the agency said.",
    "In a speech on {d}, {s_lower} {p}.",
    "{s} {p} on {d}, according to a statement.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
AGENCIES = ["KCNA", "the official news agency", "Xinhua", "TASS", "Yonhap", "the AP", "Reuters"]


def lower_first(s):
    # keep proper names capitalised; lower "The"/"A" at the start of common-noun phrases
    for art in ("The ", "A "):
        if s.startswith(art):
            return art.lower() + s[len(art):]
    return s


def main():
    rng = random.Random(2024)
    rows = []
    per_predicate = 14
    for label, preds in PREDICATES.items():
        for p in preds:
            for _ in range(per_predicate):
                s = rng.choice(SPEAKERS)
                t = rng.choice([x for x in TARGETS if x.lower() not in s.lower()])
                frame = rng.choice(FRAMES)
                pred = p.format(t=t, d=rng.choice(DAYS), m=rng.choice(MONTHS))
                text = frame.format(
                    s=s, s_lower=lower_first(s), p=pred, d=rng.choice(DAYS),
                    agency=rng.choice(AGENCIES),
                )
                # The predicate's target, as a character span (for target-dependent training).
                start = text.index(pred) + pred.index(t)
                rows.append({"text": text, "label": label, "mention": t, "from": start, "to": start + len(t)})
    seen = set()
    for r in rows:
        if r["text"] in seen:
            continue
        seen.add(r["text"])
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
