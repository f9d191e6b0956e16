"""Renders chat templates with Jinja2 configured exactly as Transformers' apply_chat_template does
(sandboxed environment, trim_blocks + lstrip_blocks, loop controls, its own `tojson`,
`raise_exception` and `strftime_now`). Used by make_fixtures.py on the GPU machine and by the
chat tests locally (Debian python3-jinja2) as the oracle for swaa's C++ Jinja interpreter.

CLI: python3 jinja_oracle.py CASES.json  -> prints {"results": [{"text": ...} | {"error": ...}]}
where CASES.json = {"templates": {name: source}, "cases": [{"template": name, "context": {...}}]}.
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateError(Exception):
    pass


def _raise_exception(message):
    raise TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _strftime_now(fmt):
    return datetime.now().strftime(fmt)


class _Generation(Extension):
    """Transformers' {% generation %} block (AssistantTracker): renders its body unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols, _Generation])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def render(source, context):
    env = make_env()
    return env.from_string(source).render(**context)


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    out = []
    for case in spec["cases"]:
        try:
            out.append({"text": render(spec["templates"][case["template"]], case["context"])})
        except Exception as e:  # the test compares error presence, not wording
            out.append({"error": f"{type(e).__name__}: {e}"})
    json.dump({"results": out}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
