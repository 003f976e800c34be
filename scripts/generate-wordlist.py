#!/usr/bin/env python3
"""Generates the code words of punchhole's pairing codes: src/Punchhole.Secure/Codes/WordList.Generated.cs.

The words are made here from syllables, not taken from any published list. The rules:
  * 2048 words (11 bits each: three words give 33 bits), lower-case a-z, 4 to 6 letters;
  * every word has its own first three letters, so three typed letters complete it;
  * read aloud, no two words differ only by sounds a telephone blurs: b/p, d/t, g/k, m/n, f/v
    and s/z count as one sound, no two words may then sound the same, nor differ in one vowel
    only ("bamor" and "bemor" cannot both be words);
  * no word contains a few letter runs that read as rude or awkward.
The output is deterministic: running the script again gives the same file byte for byte
(a test checks it). Usage: scripts/generate-wordlist.py [output-path]
"""
import os
import sys

CONSONANTS = "bdfghjklmnprstvwz"
ONSETS = CONSONANTS + "y"
VOWELS = "aeiou"
ONSET_CLUSTERS = ["bl", "br", "dr", "fl", "fr", "gl", "gr", "kl", "kr", "pl", "pr", "sk", "sl", "sm", "sn", "sp", "st", "tr"]
CODA_CLUSTERS = ["mb", "mp", "nd", "nt", "nk", "ld", "lk", "lm", "lp", "lt", "rb", "rd", "rk", "rm", "rn", "rt", "sk", "sp", "st"]

# Endings tried in this order after each prefix until the word's sound is new.
ENDINGS_AFTER_CONSONANT = ["o", "a", "i", "u", "e", "or", "an", "el", "in", "us", "ar", "on", "im", "ur", "ed", "ol", "et",
                           "is", "am", "ek", "ul", "os", "en", "ir", "as", "ot", "um", "ig"]
ENDINGS_AFTER_VOWEL = ["n", "l", "r", "s", "t", "m", "d", "k", "lo", "na", "ri", "to", "mu", "ne", "de", "ka",
                       "nd", "nt", "lt", "st", "mp", "rd", "rk", "sk"]

# Same-sound classes for a telephone line.
SOUND = {"p": "b", "t": "d", "k": "g", "n": "m", "v": "f", "z": "s", "x": "gs"}

BLOCKED = [
    "anal", "anus", "ass", "bitch", "boob", "bum", "butt", "cock", "coke", "coon", "crap", "cum", "dago",
    "damn", "dead", "dic", "dik", "dildo", "dope", "drug", "dumb", "dyke", "fag", "fart", "fuc", "fuk",
    "gook", "hate", "hell", "homo", "isis", "jap", "jiz", "kike", "kill", "kkk", "knob", "kys", "lesb",
    "nazi", "nig", "nob", "nud", "oral", "orgy", "paki", "pedo", "peni", "piss", "poo", "porn", "prick",
    "puke", "pus", "puta", "rape", "semen", "sex", "shit", "slave", "slut", "sperm", "spic", "tit", "turd",
    "twat", "vagi", "wank", "wog",
]


def prefixes():
    """Every pronounceable three-letter start, in a fixed order."""
    out = []
    for c1 in ONSETS:
        for v in VOWELS:
            for c2 in CONSONANTS:
                if c1 == c2:
                    continue  # "bab", "dod": stutters
                out.append(c1 + v + c2)
    for v1 in VOWELS:
        for c in CONSONANTS:
            for v2 in VOWELS:
                out.append(v1 + c + v2)
    for cc in ONSET_CLUSTERS:
        for v in VOWELS:
            out.append(cc + v)
    for v in VOWELS:
        for cc in CODA_CLUSTERS:
            out.append(v + cc)
    for c in CONSONANTS:
        for d in ["ai", "au", "ea", "oa", "ou"]:
            out.append(c + d)
    return out


def sound(word):
    return "".join(SOUND.get(ch, ch) for ch in word)


def acceptable(word):
    if any(b in word for b in BLOCKED):
        return False
    if any(word[i] == word[i + 1] == word[i + 2] for i in range(len(word) - 2)):
        return False
    if "ww" in word or "hh" in word or "jj" in word or "yy" in word:
        return False
    if word.endswith(("h", "j", "w")):
        return False
    return True


def vowel_patterns(heard):
    """The word's sound with one vowel blanked: two words sharing one differ in that vowel only."""
    return [heard[:i] + "*" + heard[i + 1:] for i in range(len(heard)) if heard[i] in VOWELS]


def words():
    taken_sounds = set()
    taken_patterns = set()
    chosen = []
    for prefix in prefixes():
        endings = ENDINGS_AFTER_VOWEL if prefix[-1] in VOWELS else ENDINGS_AFTER_CONSONANT
        for ending in endings:
            word = prefix + ending
            if not 4 <= len(word) <= 6 or not acceptable(word):
                continue
            heard = sound(word)
            if heard in taken_sounds or any(p in taken_patterns for p in vowel_patterns(heard)):
                continue
            taken_sounds.add(heard)
            taken_patterns.update(vowel_patterns(heard))
            chosen.append(word)
            break
    return chosen


def select(candidates, count):
    """Keeps `count` words, dropping evenly across the alphabet so no start is favoured."""
    if len(candidates) < count:
        raise SystemExit(f"only {len(candidates)} candidate words, need {count}")
    ordered = sorted(candidates)
    drop = len(ordered) - count
    if drop == 0:
        return ordered
    step = len(ordered) / drop
    dropped = {int(i * step + step / 2) for i in range(drop)}
    return [w for i, w in enumerate(ordered) if i not in dropped]


def render(chosen):
    lines = [
        "// <auto-generated>",
        "// Made by scripts/generate-wordlist.py from syllables: do not edit; change the script and run it again.",
        "// </auto-generated>",
        "namespace Punchhole.Secure.Codes;",
        "",
        "internal static partial class WordList",
        "{",
        f"    /// <summary>The {len(chosen)} code words, sorted, separated by single spaces.</summary>",
        "    private const string Packed =",
    ]
    per_line = 12
    for i in range(0, len(chosen), per_line):
        chunk = " ".join(chosen[i:i + per_line])
        last = i + per_line >= len(chosen)
        lines.append(f'        "{chunk}{"" if last else " "}"' + (";" if last else " +"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "src", "Punchhole.Secure", "Codes", "WordList.Generated.cs")
    chosen = select(words(), 2048)
    assert len(set(w[:3] for w in chosen)) == len(chosen)
    assert len(set(sound(w) for w in chosen)) == len(chosen)
    with open(target, "w", encoding="ascii", newline="\n") as f:
        f.write(render(chosen))
    print(f"{len(chosen)} words written to {target}")


if __name__ == "__main__":
    main()
