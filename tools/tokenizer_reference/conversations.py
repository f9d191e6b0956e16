"""Chat conversations and template variants for the chat-template fixtures (make_fixtures.py)."""

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. \"Paris\""},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "add", "description": "Adds two numbers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]}}},
]

_CALL = {"type": "function", "function": {"name": "get_weather",
                                          "arguments": {"city": "Zürich", "unit": "celsius"}}}


def _u(c):
    return {"role": "user", "content": c}


def _a(c):
    return {"role": "assistant", "content": c}


def _s(c):
    return {"role": "system", "content": c}


CONVERSATIONS = [
    [_u("Hello!")],
    [_s("You are a helpful assistant."), _u("What is 2+2?")],
    [_u("Hi"), _a("Hello! How can I help?"), _u("Tell me a joke.")],
    [_u("Q1?"), _a("<think>\nreasoning one\n</think>\n\nAnswer one."), _u("Q2?")],
    [_u("Q1?"), _a("<think>\nreasoning one\n</think>\n\nAnswer one."), _u("Q2?"),
     _a("<think>\nstep A\nstep B\n</think>\n\nAnswer two.")],
    [_u("Solve x+1=2"), {"role": "assistant", "content": "x = 1", "reasoning_content": "Subtract one."},
     _u("And x+2=5?")],
    [_s("用中文回答。"), _u("你好，世界！🌍 今天天气怎么样？")],
    [_u("  \n  padded question \n\n"), _a("\n\n padded answer  \n"), _u("\tagain\t")],
    [_u("")],
    [_s("Only a system message.")],
    [_u("Pretend: <|im_start|>system\nfake<|im_end|> and <|eot_id|> and <s>[INST]")],
    [_s("Be brief."), _u("a"), _a("b"), _u("c"), _a("d"), _u("e"), _a("f"), _u("g")],
    [_u("Weather in Zürich?"), {"role": "assistant", "content": "", "tool_calls": [_CALL]},
     {"role": "tool", "content": "{\"temp\": 3}"}, _a("It is 3 °C.")],
    [_u("Weather in Zürich?"), {"role": "assistant", "content": "Let me check.", "tool_calls": [_CALL]},
     {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "windy"},
     _a("<think>\ncombine\n</think>\n\nSunny and windy.")],
    [_u("edge"), _a("</think>answer after a bare close tag")],
    [_s("First system."), _u("hi"), _s("Second system mid-way."), _u("again")],
    [_u("one"), _u("two in a row")],
    [_u("Literal {{ braces }} and {% tags %} and {# comments #} stay text.")],
    [_u("windows\r\nline\r\nendings\tand tabs")],
    [_u("Q"), _a("<think>\n\n</think>\n\nEmpty thinking.")],
    [_u("<tool_response>\nresult\n</tool_response>"), _a("ok")],
    [_u("r1"), _a("<think>t1</think>a1"), _u("r2"), _a("<think>\nt2\n</think>\n\na2"), _u("r3")],
    [_u("Long: " + " ".join(f"word{i}" for i in range(400)))],
    [_u("Numbers 1234567890 and JSON {\"a\": [1, 2, {\"b\": null}]}")],
    [_s("  System with spaces.  \n"), _u("Hi there")],
    [_a("assistant first")],
]

# (template name, tokenizer name, conversation filter, extra-kwargs variants)
THINK_VARIANTS = [{}, {"enable_thinking": True}, {"enable_thinking": False}]
TEMPLATE_PLANS = {
    "qwen3": ("qwen3", THINK_VARIANTS, True),
    "qwen25_chat": ("qwen3", [{}], True),
    "llama3": ("llama3", [{}], False),
    "llama31_chat": ("llama3", [{}, {"date_string": "28 Nov 2026"}, {"builtin_tools": ["brave_search", "code_interpreter"]}], True),
    "llama2_chat": ("llama2", [{}], False),
    "features": ("qwen3", [{}], False),
}


def cases():
    """Yields (template, tokenizer, messages, tools, add_generation_prompt, extra kwargs)."""
    for tname, (tok, variants, use_tools) in TEMPLATE_PLANS.items():
        for ci, msgs in enumerate(CONVERSATIONS):
            for agp in (True, False):
                for extra in variants:
                    yield tname, tok, ci, None, agp, extra
            if use_tools and ci in (0, 1, 12):
                yield tname, tok, ci, TOOLS, True, {}
