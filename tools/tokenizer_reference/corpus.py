"""The deterministic tokenizer test corpus (>= 2000 strings) and the 10 MB benchmark text.
Same output on every machine and Python >= 3.8: only random.Random(seed) with randrange/choice.
"""
import random
import unicodedata

WORDS = ("the quick brown fox jumps over lazy dog hello world tokenizer attention window sliding "
         "sink transformer model inference engine cache memory Python C++ CUDA kernel prefill decode "
         "don't I'm we've they'll she'd it's YOU'RE HE'S can't won't o'clock rock'n'roll "
         "naïve café résumé coöperate façade Straße groß ĳssel œuvre Ærø").split()
SENTENCES = [
    "我们正在测试分词器的正确性，包括标点符号。", "日本語のテキストとカタカナ、ひらがな、漢字を混ぜる。",
    "한국어 문장도 포함합니다. 띄어쓰기가 있어요!", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Τάχιστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός.", "صِف خَلقَ خَودِ كَمِثلِ الشَمسِ إِذ بَزَغَت",
    "דג סקרן שט בים מאוכזב ולפתע מצא חברה", "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले",
    "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน", "Tiếng Việt có dấu: Người ta nói rằng trời đẹp.",
    "Pijamalı hasta yağız şoföre çabucak güvendi.", "Zażółć gęślą jaźń, źdźbło.", "Él pidió un ñandú y un pingüino.",
    "আমি বাংলায় গান গাই।", "யாமறிந்த மொழிகளிலே தமிழ்மொழி போல் இனிதாவது எங்கும் காணோம்",
    "ሰማይ አይታረስ ንጉሥ አይከሰስ።", "ქართული ენა ძალიან ლამაზია", "Բարեւ աշխարհ", "ᠮᠣᠩᠭᠣᠯ ᠪᠢᠴᠢᠭ",
    "བོད་ཡིག་ནི་", "Ελληνικά και English mixed 混合 текст", "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕 ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇯🇵", "❤️", "🧑🏿‍🚀", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👩‍❤️‍💋‍👨", "🤖", "🫠",
         "✈︎", "©️", "🐻‍❄️", "🙂‍↔️", "☺"]
CODE = [
    "def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
    "const x = {a: 1, 'b': [2, 3]};\nconsole.log(`v=${x.a}`);", '{"key": "value", "n": 3.14e-10, "ok": true}',
    "<div class=\"c\">&amp; &lt;tag&gt;</div>", "SELECT * FROM t WHERE id IN (1,2,3) ORDER BY name DESC;",
    "#!/bin/bash\nset -euo pipefail\necho \"$HOME\" | grep -E '^/r' && exit 0", "^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)$",
    "\\begin{equation} E = mc^2 \\end{equation}", "std::vector<std::pair<int, float>> v{{1, 2.f}};",
    "    if x:\n        pass\n    else:\n\n\n        raise ValueError('bad')", "a\t\tb\t\t\tc\n\n\n\nd",
]
WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\u00a0", "\u3000", "\u2009", "\u200b",
              "\x0b", "\x0c", "\u2028", "\u0085", "\u202f", "\u1680"]
NUMBERS = ["0", "7", "42", "123", "1234", "12345", "1234567", "3.14159", "1,000,000", "+1 (555) 010-9999",
           "２０２４年", "٣٤٥", "१२३", "²³", "Ⅻ", "½", "0x1F", "1e-9", "2024-11-28", "12:30:45"]
SPECIAL = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|endoftext|>", "<|begin_of_text|>",
           "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<s>", "</s>", "<unk>",
           "<|reserved_special_token_5|>", "<|im_start", "im_end|>", "<<s>>", "<|fim_prefix|>", "<tool_call>",
           "<|vision_pad|>", "<|end_of_text|>", "<|python_tag|>"]
ODD = ["\ufffd", "\ufeff", "\uffff", "\ufffe", "\U0010ffff", "\ue000", "\U000f0000", "\x00", "\x01", "\x1b[31m",
       "\x7f", "\u202e", "\u0301", "\u200d", "\ufe0f", "\u0378", "e\u0301", "A\u030a", "\u1100\u1161\u11a8",
       "\u0041\u0308\u0301", "\ud7a3", "\U0001d11e", "ﬁ", "Ⅸ", "ǅ"]

HANDWRITTEN = [
    "", " ", "  ", "\n", "\t", "\r\n", " \n\n ", "a", "Hello, world!", "Hello world", " Hello", "Hello ",
    "I'm", "DON'T", "'s", "'S'", "it's 'quoted' text", "  leading", "trailing  ", "a  b   c    d",
    "line1\nline2\r\nline3\rline4", "tabs\tand\tspaces \t mixed", "!!!", "...", "?!?!", "a.b.c", "$100.00",
    "e-mail: someone@example.com", "https://example.com/path?q=1&r=2#frag", "C:\\Windows\\System32",
    "user<|im_end|>\n<|im_start|>assistant\n", "<|im_start|>user\nhi<|im_end|>", "<s>[INST] hi [/INST]",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", "x<s>y</s>z", " <s> ",
    "<think>\nreasoning\n</think>\n\nanswer", "a" * 5000, "supercalifragilistic" * 200, "9" * 2000,
    "!" * 3000, " " * 300, "\n" * 200, " \n" * 150, "\t" * 100, "漢" * 2000, "😀" * 500,
    "👨‍👩‍👧‍👦" * 100, "e\u0301" * 300, "ab " * 1000, "The year 2024 had 366 days; 1,234,567.89 units.",
]


def _fragment(rng):
    kind = rng.randrange(10)
    if kind == 0:
        return rng.choice(SENTENCES)
    if kind == 1:
        return rng.choice(EMOJI) * rng.choice([1, 1, 1, 2, 3])
    if kind == 2:
        return rng.choice(CODE)
    if kind == 3:
        return rng.choice(WHITESPACE) * rng.choice([1, 1, 2, 3, 5, 17, 64])
    if kind == 4:
        n = rng.choice(NUMBERS)
        return n if rng.randrange(3) else str(rng.randrange(10 ** rng.randrange(1, 25)))
    if kind == 5:
        return rng.choice(SPECIAL)
    if kind == 6:
        return rng.choice(ODD)
    if kind == 7:
        return chr(_random_code_point(rng))
    w = rng.choice(WORDS)
    r = rng.randrange(6)
    return w.upper() if r == 0 else w.capitalize() if r == 1 else w


def _random_code_point(rng):
    while True:
        block = rng.randrange(4)
        cp = (rng.randrange(0x20, 0x3000) if block < 2 else rng.randrange(0x3000, 0x10000) if block == 2
              else rng.randrange(0x10000, 0x30000))
        if not 0xD800 <= cp <= 0xDFFF:
            return cp


def corpus(n_random=2000, seed=20261128):
    rng = random.Random(seed)
    strings = list(HANDWRITTEN)
    for i in range(n_random):
        if i % 20 == 19:  # random code points only
            s = "".join(chr(_random_code_point(rng)) for _ in range(rng.randrange(1, 40)))
        else:
            parts = []
            for _ in range(rng.randrange(1, 30)):
                parts.append(_fragment(rng))
                parts.append(rng.choice(["", " ", " ", " ", "\n", ", ", ". ", "  "]))
            s = "".join(parts)
        if i % 7 == 3:  # decomposed forms exercise NFC
            s = unicodedata.normalize("NFD", s)
        strings.append(s)
    return strings


def bench_text(size=10 * 1024 * 1024, seed=7):
    """~10 MB of mixed text: lines drawn from the corpus, joined by newlines (UTF-8 size)."""
    rng = random.Random(seed)
    pool = corpus()
    out, total = [], 0
    while total < size:
        s = rng.choice(pool)
        out.append(s)
        total += len(s.encode("utf-8")) + 1
    return "\n".join(out)
