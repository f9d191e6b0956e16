"""Synthetic long-context training tasks in chat form: the task families of `swaa eval`
(eval/*_tasks.cc, RULER's wording) with TRAINING keys, names, words and haystacks, disjoint from
what evaluation draws (eval/word_lists.cc): the model is then scored on held-out material.

Each generator returns a Task: the pieces of the user message (instruction, insertions placed at
depths in a haystack, question) and two answers, a direct one and one that first restates, inside
<think>, the facts it found. data.py turns a Task into exactly `length` tokens.
"""
from __future__ import annotations

import dataclasses
import random
import re

# ---- training vocabularies (none of these occur in eval/word_lists.cc) --------------------------
KEY_ADJECTIVES = [
    "ancient", "bright", "calm", "dark", "early", "faint", "golden", "happy", "jade", "kind",
    "little", "modest", "narrow", "olive", "pale", "quiet", "rapid", "sandy", "tender", "upper",
    "vast", "warm", "yellow", "brave", "clever", "deep", "fancy", "grand", "hidden", "jovial",
    "loyal", "merry", "neat", "proud", "rough", "sharp", "smooth", "steady", "swift", "thin",
    "wild", "wise", "young", "zealous", "cheerful", "curious", "elegant", "famous", "gloomy", "polite",
]
KEY_NOUNS = [
    "apricot", "banjo", "cabin", "dragon", "engine", "feather", "garnet", "hammer", "island", "jacket",
    "kitten", "ladder", "marble", "needle", "oyster", "pepper", "rabbit", "salmon", "teapot", "tulip",
    "valley", "wagon", "barrel", "candle", "donkey", "fossil", "goblet", "hornet", "igloo", "jigsaw",
    "lemon", "mitten", "nutmeg", "pillow", "puffin", "rocket", "scarf", "tiger", "trumpet", "turnip",
    "walnut", "weasel", "bison", "cobra", "desert", "forest", "galaxy", "helmet", "orbit", "pigeon",
]
PEOPLE = ["Alice", "Bob", "Carol", "Dennis", "Edith", "Frank", "Grace", "Henry", "Irene", "Jack",
          "Karen", "Louis", "Nora", "Oscar", "Paula", "Victor"]
ROOMS = ["library", "pantry", "studio", "workshop", "balcony", "garage", "porch", "lounge", "nursery",
         "laundry room", "dining room", "basement"]
OBJECTS = ["lamp", "book", "basket", "guitar", "kite", "hat", "bottle", "camera", "blanket", "ball"]
NOISE_SENTENCES = ["The river is wide.", "The hills are far away.", "The bread is warm.",
                   "Time goes by.", "Over and over again."]
FIRST_MOVE_VERBS = ["went to", "journeyed to", "travelled to", "moved to"]
MOVE_VERBS = FIRST_MOVE_VERBS + ["went back to"]
TAKE_VERBS = ["picked up", "grabbed", "took"]
DROP_VERBS = ["dropped", "put down", "left"]

# eval's coded words: three consonant-vowel syllables from these letters (eval/word_lists.cc).
_EVAL_PSEUDO = re.compile(r"^([bdfgklmnprstvz][aeiou]){3}$")


def join_english(items: list[str]) -> str:
    if len(items) <= 1:
        return items[0] if items else ""
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + ", and " + items[-1]


@dataclasses.dataclass
class Insertion:
    depth: float  # 0 = start of the haystack, 1 = end
    text: str


@dataclasses.dataclass
class Task:
    family: str
    instruction: str          # user text before the haystack (ends without newline)
    insertions: list[Insertion]
    question: str             # user text after the haystack
    direct: str               # assistant answer without reasoning
    facts: list[str]          # restated inside <think> for the thinking answer
    haystack: str             # "corpus", "noise" or "none" (the context is `body`)
    body: str = ""            # for haystack == "none": the whole context text (cwe / fwe)

    def thinking(self) -> str:
        return "<think>\n" + " ".join(self.facts) + "\n</think>\n\n" + self.direct


def _key(rng: random.Random, used: set[str]) -> str:
    while True:
        k = f"{rng.choice(KEY_ADJECTIVES)}-{rng.choice(KEY_NOUNS)}"
        if k not in used:
            used.add(k)
            return k


def _number(rng: random.Random, lo: int, hi: int, used: set[str]) -> str:
    while True:
        v = str(rng.randint(lo, hi))
        if v not in used:
            used.add(v)
            return v


def niah(rng: random.Random, family: str, depth: float) -> Task:
    keys, values = set(), set()
    needles: list[tuple[str, str, float]] = []
    if family == "niah_single":
        needles = [(_key(rng, keys), _number(rng, 1000000, 9999999, values), depth)]
        query = [needles[0][0]]
        answers = [needles[0][1]]
    elif family == "niah_multikey":
        needles = [(_key(rng, keys), _number(rng, 1000000, 9999999, values), depth if i == 0 else rng.random())
                   for i in range(rng.choice([2, 4, 6]))]
        query, answers = [needles[0][0]], [needles[0][1]]
    elif family == "niah_multivalue":
        k = _key(rng, keys)
        needles = [(k, _number(rng, 1000000, 9999999, values), depth if i == 0 else rng.random()) for i in range(4)]
        query, answers = [k], [n[1] for n in needles]
    else:  # niah_multiquery
        needles = [(_key(rng, keys), _number(rng, 1000000, 9999999, values), depth if i == 0 else rng.random())
                   for i in range(4)]
        query, answers = [n[0] for n in needles], [n[1] for n in needles]
    plural = len(answers) > 1
    keys_text = join_english(query)
    question = (f"What are all the special magic numbers for {keys_text} mentioned in the provided text?" if plural
                else f"What is the special magic number for {keys_text} mentioned in the provided text?")
    noun = "numbers" if plural else "number"
    direct = (f"The special magic {noun} for {keys_text} mentioned in the provided text "
              f"{'are' if plural else 'is'} {join_english(answers)}.")
    sentences = {n: f"One of the special magic numbers for {n[0]} is: {n[1]}." for n in needles}
    facts = ["The text says:"] + [sentences[n] for n in sorted(needles, key=lambda n: n[2]) if n[0] in query]
    return Task(family,
                "Some special magic numbers are hidden within the following text. Make sure to memorize it. "
                "I will quiz you about the numbers afterwards.",
                [Insertion(n[2], sentences[n]) for n in needles], question, direct, facts,
                "corpus" if rng.random() < 0.8 else "noise")


def passkey(rng: random.Random, depth: float) -> Task:
    key = str(rng.randint(10000, 99999))
    return Task("passkey",
                "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
                "I will quiz you about the important information there.",
                [Insertion(depth, f"The pass key is {key}. Remember it. {key} is the pass key.")],
                "What is the pass key?", f"The pass key is {key}.",
                [f"The text says: The pass key is {key}."], "noise" if rng.random() < 0.7 else "corpus")


def _var(rng: random.Random, used: set[str]) -> str:
    while True:
        v = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
        if v != "VAR" and v not in used:
            used.add(v)
            return v


def vt(rng: random.Random, depth: float) -> Task:
    used: set[str] = set()
    hops = rng.choice([2, 3, 4])
    value = str(rng.randint(10000, 99999))
    other = str(rng.randint(10000, 99999))
    while other == value:
        other = str(rng.randint(10000, 99999))
    chain, ins, facts = [], [], []
    for h in range(hops + 1):
        chain.append(_var(rng, used))
        rhs = value if h == 0 else f"VAR {chain[h - 1]}"
        text = f"VAR {chain[h]} = {rhs}."
        ins.append(Insertion(depth + (1.0 - depth) * h / (hops + 1), text))
        facts.append(text)
    depths = sorted(rng.random() for _ in range(hops + 1))
    prev = ""
    for h in range(hops + 1):
        v = _var(rng, used)
        ins.append(Insertion(depths[h], f"VAR {v} = {other if h == 0 else 'VAR ' + prev}."))
        prev = v
    question = f"Question: Find all variables that are assigned the value {value} in the text above."
    direct = (f"Answer: According to the chain(s) of variable assignment in the text above, {len(chain)} variables "
              f"are assigned the value {value}, they are: {' '.join(chain)}.")
    return Task("vt", "Memorize and track the chain(s) of variable assignment hidden in the following text.\n",
                ins, question, direct, ["The chain is:"] + facts, "noise" if rng.random() < 0.7 else "corpus")


def pseudo_word(rng: random.Random) -> str:
    while True:
        w = "".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiouy") for _ in range(rng.choice([2, 3])))
        if rng.random() < 0.5:
            w += rng.choice("nrstlk")
        if not _EVAL_PSEUDO.match(w):
            return w


def _distinct_words(rng: random.Random, n: int) -> list[str]:
    out, seen = [], set()
    while len(out) < n:
        w = pseudo_word(rng)
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def cwe(rng: random.Random, budget_words: int) -> Task:
    num_common = 5 if budget_words < 600 else 10
    freq_common = 3 if budget_words < 1500 else 8 if budget_words < 5000 else 20
    freq_uncommon = 1 if budget_words < 1500 else 2
    n_uncommon = max(num_common, (budget_words - num_common * freq_common) // freq_uncommon)
    words = _distinct_words(rng, num_common + n_uncommon)
    common = words[:num_common]
    items = [w for w in common for _ in range(freq_common)] + [w for w in words[num_common:] for _ in range(freq_uncommon)]
    rng.shuffle(items)
    body = " ".join(f"{i + 1}. {w}" for i, w in enumerate(items))
    question = f"Question: What are the {num_common} most common words in the above list?"
    direct = f"Answer: The top {num_common} words that appear most often in the list are: {', '.join(common)}."
    facts = [f"Each of {', '.join(common)} appears {freq_common} times; the others appear at most {freq_uncommon} times."]
    return Task("cwe", "Below is a numbered list of words. In these words, some appear more often than others. "
                "Memorize the ones that appear most often.", [], question, direct, facts, "none", body)


def fwe(rng: random.Random, budget_words: int) -> Task:
    vocab = ["...."] + _distinct_words(rng, 300)
    weights = [1.0 / (r + 1) ** 2 for r in range(len(vocab))]
    for _ in range(20):
        draws = rng.choices(range(len(vocab)), weights=weights, k=max(50, budget_words))
        counts: dict[int, int] = {}
        for r in draws:
            if r:
                counts[r] = counts.get(r, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if len(ranked) >= 4 and ranked[2][1] > ranked[3][1]:
            break
    top = [vocab[r] for r, _ in ranked[:3]]
    body = " ".join(vocab[r] for r in draws)
    question = ("Question: Do not provide any explanation. Please ignore the dots '....'. "
                "What are the three most frequently appeared words in the above coded text?")
    direct = f"Answer: According to the coded text above, the three most frequently appeared words are: {', '.join(top)}."
    facts = [", ".join(f"{vocab[r]} appears {c} times" for r, c in ranked[:4]) + "."]
    return Task("fwe", "Read the following coded text and track the frequency of each coded word. Find the three most "
                "frequently appeared coded words.", [], question, direct, facts, "none", body)


def babi(rng: random.Random, ask_object: bool) -> Task:
    for _ in range(50):
        people = rng.sample(PEOPLE, 4)
        rooms = rng.sample(ROOMS, 4)
        objects = rng.sample(OBJECTS, 2)
        sentences, seen = [], set()
        room, moves, holder, obj_room, carried = {}, {}, {}, {}, set()
        about: dict[str, list[str]] = {}

        def add(s: str, *subjects: str) -> bool:
            if s in seen:
                return False
            seen.add(s)
            sentences.append(s)
            for x in subjects:
                about.setdefault(x, []).append(s)
            return True

        for p in people:
            r = rng.choice(rooms)
            add(f"{p} {rng.choice(FIRST_MOVE_VERBS)} the {r}.", p)
            room[p], moves[p] = r, 1
        while len(sentences) < 12:
            p = rng.choice(people)
            kind = rng.randrange(4)
            if kind <= 1:
                r = rng.choice([x for x in rooms if x != room[p]])
                if add(f"{p} {rng.choice(MOVE_VERBS)} the {r}.", p):
                    room[p] = r
                    moves[p] += 1
            elif kind == 2:
                o = rng.choice(objects)
                if o in holder:
                    continue
                if add(f"{p} {rng.choice(TAKE_VERBS)} the {o}.", p, o):
                    holder[o] = p
                    obj_room.pop(o, None)
                    carried.add(o)
            else:
                for o in objects:
                    if holder.get(o) == p:
                        if add(f"{p} {rng.choice(DROP_VERBS)} the {o}.", p, o):
                            obj_room[o] = room[p]
                            del holder[o]
                        break
        subject = answer = ""
        facts: list[str] = []
        last_move = {p: [s for s in about[p] if not any(v in s for v in TAKE_VERBS + DROP_VERBS)][-1] for p in people}
        if ask_object:
            for o in objects:
                if o not in carried:
                    continue
                subject = f"the {o}"
                if o in holder:
                    p = holder[o]
                    answer = room[p]
                    facts = [about[o][-1], last_move[p], f"So the {o} is with {p} in the {answer}."]
                else:
                    answer = obj_room[o]
                    facts = [about[o][-1], f"So the {o} is in the {answer}."]
                break
        else:
            for p in people:
                if moves[p] >= 2:
                    subject, answer = p, room[p]
                    facts = [f"The last move of {p}: {last_move[p]}"]
                    break
        if not subject:
            continue
        n = len(sentences)
        ins = [Insertion((i + rng.random()) / n, s) for i, s in enumerate(sentences)]
        subject_cap = "The" + subject[3:] if ask_object else subject
        return Task("babi",
                    "Below is a story about people moving between rooms and carrying objects, hidden in unrelated "
                    "text. Read it carefully and answer the question about the end of the story with the name of "
                    "a room.", ins, f"Question: Where is {subject}?", f"Answer: {subject_cap} is in the {answer}.",
                    facts, "corpus")
    raise RuntimeError("babi: no well-posed story in 50 draws")


FAMILY_WEIGHTS = {
    "niah_single": 0.14, "niah_multikey": 0.14, "niah_multivalue": 0.1, "niah_multiquery": 0.1,
    "passkey": 0.08, "vt": 0.16, "cwe": 0.05, "fwe": 0.05, "babi": 0.18,
}


def make_task(rng: random.Random, family: str, budget_words: int) -> Task:
    depth = rng.random()
    if family.startswith("niah"):
        return niah(rng, family, depth)
    if family == "passkey":
        return passkey(rng, depth)
    if family == "vt":
        return vt(rng, depth)
    if family == "cwe":
        return cwe(rng, budget_words)
    if family == "fwe":
        return fwe(rng, budget_words)
    if family == "babi":
        return babi(rng, rng.random() < 0.5)
    raise ValueError(f"unknown task family {family}")


def pick_family(rng: random.Random) -> str:
    names = list(FAMILY_WEIGHTS)
    return rng.choices(names, weights=[FAMILY_WEIGHTS[n] for n in names])[0]
