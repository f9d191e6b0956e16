// swaa's Jinja interpreter against live Jinja2 (Debian python3-jinja2, configured as Transformers
// configures it, tools/tokenizer_reference/jinja_oracle.py): edge cases of whitespace control,
// loops, scoping, filters, tests and methods, plus every template of the chat fixtures; and the
// errors for unsupported constructs (they name the construct and the line).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "core/json_util.h"
#include "swaa/chat.h"
#include "tokenizer_fixture.h"

namespace swaa {
namespace {

struct Case {
  std::string name, source;
  nlohmann::ordered_json context;
};

std::vector<Case> edge_cases() {
  const nlohmann::ordered_json msgs = nlohmann::ordered_json::parse(
      R"([{"role": "system", "content": "  sys  "}, {"role": "user", "content": "Hello there?"},
          {"role": "assistant", "content": "<think>\nhm\n</think>\n\nHi!", "extra": {"k": [1, 2.5, null, true]}}])");
  nlohmann::ordered_json ctx = {{"messages", msgs}, {"add_generation_prompt", true}, {"name", "Zoë"}, {"n", 7},
                                {"xs", {3, 1, 2}}, {"empty", nlohmann::ordered_json::array()}, {"none_v", nullptr}};
  std::vector<std::pair<std::string, std::string>> t = {
      {"text", "plain text\n"},
      {"trailing_newline_kept_once", "a\n\n"},
      {"trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter"},
      {"lstrip_blocks", "line\n    {% if true %}x{% endif %}\n  {# c #}\nend"},
      {"lstrip_not_after_text", "a   {% if true %}b{% endif %}"},
      {"dash_control", "a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}  \n c"},
      {"plus_control", "a\n    {%+ if true %}b{% endif +%}\nc"},
      {"var_dash", "x   {{- name -}}   y"},
      {"comment_dash", "a  {#- c -#}  b {# keep #}\nc"},
      {"raw", "{% raw %}{{ not_rendered }}{% endraw %}!"},
      {"loop_vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
                    "{{ loop.last }}{{ loop.length }}{{ loop.cycle('a','b') }}|{% endfor %}"},
      {"loop_prev_next", "{% for x in xs %}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }} {% endfor %}"},
      {"for_else", "{% for x in empty %}{{ x }}{% else %}none{% endfor %}"},
      {"for_if", "{% for x in xs if x > 1 %}{{ x }}/{{ loop.length }} {% endfor %}"},
      {"for_unpack", "{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"},
      {"for_dict", "{% for k in {'z': 1, 'y': 2} %}{{ k }}{% endfor %}"},
      {"for_string", "{% for c in 'héllo' %}{{ c }}.{% endfor %}"},
      {"scope_loop", "{% set x = 1 %}{% for i in xs %}{% set x = i %}{% endfor %}{{ x }}"},
      {"scope_if", "{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}"},
      {"namespace", "{% set ns = namespace(c=0, s='') %}{% for i in xs %}{% set ns.c = ns.c + i %}"
                    "{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.c }} {{ ns.s }}"},
      {"break_continue", "{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}"
                         "{% break %}{% endif %}{{ i }}{% endfor %}"},
      {"else_after_continue", "{% for i in xs %}{% continue %}{% else %}E{% endfor %}"},
      {"macro", "{% macro m(a, b='B', c=none) %}[{{ a }}{{ b }}{{ c }}]{% endmacro %}{{ m(1) }}{{ m(1, 2) }}{{ m(1, c=3) }}"},
      {"set_block", "{% set v %}in {{ name }}{% endset %}<{{ v }}>"},
      {"set_tuple", "{% set a, b = [1, 2] %}{{ b }}{{ a }}"},
      {"arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} "
                "{{ (1 + 2) * 3 }} {{ 10 - 2 - 3 }} {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-7 }} {{ 2.0 }}"},
      {"compare", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ none == none }} {{ [1] == [1] }}"},
      {"logic", "{{ true and 'x' }} {{ false or 'y' }} {{ not none }} {{ '' or 0 or 'z' }}"},
      {"ternary", "{{ 'a' if n > 5 else 'b' }}{{ 'c' if n < 5 }}|"},
      {"in", "{{ 'ell' in 'hello' }} {{ 2 in xs }} {{ 'role' in messages[0] }} {{ 'zz' not in messages[0] }}"},
      {"concat", "{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2, 3] }}"},
      {"print_types", "{{ none }} {{ true }} {{ [1, 'a', none, 2.5, {'k': 'v'}] }} {{ {'a': \"it's\"} }} {{ undefined_thing }}|"},
      {"str_methods", "{{ name.upper() }} {{ ' x '.strip() }}|{{ 'xxaxx'.strip('x') }} {{ 'a,b,,c'.split(',') }} "
                      "{{ 'a b  c'.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'abc'.startswith('ab') }} "
                      "{{ 'abc'.endswith(('x', 'c')) }} {{ 'aXbX'.replace('X', '-') }} {{ 'hello world'.title() }} "
                      "{{ 'hELLO'.capitalize() }} {{ '-'.join(['a', 'b']) }} {{ 'abcabc'.find('c') }} {{ 'abcabc'.count('b') }}"},
      {"slices", "{{ xs[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[-1] }} {{ 'hello'[1:3] }} {{ 'hello'[::-1] }} {{ xs[5:] }}"},
      {"filters1", "{{ '  t  ' | trim }}|{{ name | upper }} {{ name | lower }} {{ xs | length }} {{ name | length }} "
                   "{{ xs | first }} {{ xs | last }} {{ xs | sort }} {{ xs | sort(reverse=true) }} {{ xs | sum }} "
                   "{{ xs | min }} {{ xs | max }} {{ xs | join(', ') }} {{ [1, 1, 2] | unique | list }} {{ xs | reverse | list }}"},
      {"filters2", "{{ messages | map(attribute='role') | join('/') }} {{ messages | selectattr('role', 'equalto', 'user') | list | length }} "
                   "{{ messages | rejectattr('role', 'in', ['system']) | map(attribute='role') | list }} "
                   "{{ xs | select('odd') | list }} {{ xs | reject('equalto', 2) | list }} {{ ['a', 'b'] | map('upper') | list }}"},
      {"filters3", "{{ undefined_v | default('d') }} {{ '' | default('e', true) }} {{ none_v | default('f') }} "
                   "{{ '42' | int + 1 }} {{ 3.7 | int }} {{ '2.5' | float }} {{ 5 | string ~ '!' }} {{ -3 | abs }} "
                   "{{ 'x<y' | e }} {{ 'hello world' | replace('o', '0') }} {{ 'some title-case words' | title }} {{ 'aBC' | capitalize }}"},
      {"tojson", "{{ messages[2] | tojson }}\n{{ messages[2].extra | tojson(indent=2) }}\n{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }} "
                 "{{ 'é\"\\n\\t' | tojson }} {{ none | tojson }} {{ 1.0 | tojson }} {{ [] | tojson }} "
                 "{{ ['é', 'x😀'] | tojson(ensure_ascii=true) }} {{ {'a': [1, 2]} | tojson(separators=(',', ':')) }}"},
      {"items_dictsort", "{% for k, v in {'b': 1, 'A': 2, 'c': 3} | dictsort %}{{ k }}{{ v }}{% endfor %} "
                         "{% for k, v in messages[2].extra | items %}{{ k }}:{{ v }}{% endfor %}"},
      {"tests", "{{ n is odd }} {{ n is even }} {{ n is divisibleby 7 }} {{ n is number }} {{ name is string }} "
                "{{ xs is iterable }} {{ messages[0] is mapping }} {{ none_v is none }} {{ undefined_v is defined }} "
                "{{ n is not none }} {{ true is true }} {{ 1 is true }} {{ xs is sequence }} {{ n is integer }}"},
      {"dict_methods", "{{ messages[0].get('role') }} {{ messages[0].get('nope', 'dflt') }} {{ messages[0].keys() | list }} "
                       "{{ messages[0]['content'] }} {{ messages[0].content }}"},
      {"qwen_think_split", "{% set c = messages[2].content %}{{ c.split('</think>')[-1].lstrip('\\n') }}|"
                           "{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}"},
      {"string_escapes", "{{ 'tab\\there' }} {{ \"quote\\\"s\" }} {{ 'uni\\u00e9' }} {{ 'a' 'b' }}"},
      {"raise", "{% if n > 3 %}{{ raise_exception('n too big: ' ~ n) }}{% endif %}"},
      {"undefined_attr_error", "{{ nothing.attr }}"},
      {"range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }}"},
      {"whitespace_in_tags", "{%\n  if n\n  ==\n  7\n%}seven{%\nendif\n%}"},
      {"nested_loops", "{% for i in xs %}{% for j in xs %}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}"},
      {"generation", "{% generation %}gen{{ n }}{% endgeneration %}"},
  };
  std::vector<Case> out;
  for (auto& [n, s] : t) out.push_back({n, s, ctx});
  return out;
}

// Runs the Jinja2 oracle over `cases`; returns one {"text"} or {"error"} per case.
nlohmann::ordered_json jinja2_render(const std::vector<Case>& cases) {
  nlohmann::ordered_json spec = {{"templates", nlohmann::ordered_json::object()}, {"cases", nlohmann::ordered_json::array()}};
  for (size_t i = 0; i < cases.size(); ++i) {
    spec["templates"][std::to_string(i)] = cases[i].source;
    spec["cases"].push_back({{"template", std::to_string(i)}, {"context", cases[i].context}});
  }
  // Per-test file names: ctest runs the test cases of this binary in parallel processes.
  const std::string tag = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string in = test::temp_path("jinja_cases_" + tag + ".json");
  const std::string out = test::temp_path("jinja_out_" + tag + ".json");
  std::ofstream(in) << spec.dump();
  const std::string cmd = "python3 " + std::string(SWAA_SOURCE_DIR) + "/tools/tokenizer_reference/jinja_oracle.py " +
                          in + " > " + out;
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << "the Jinja2 oracle failed (needs python3 and python3-jinja2; scripts/setup.sh installs them): "
                   << cmd;
  auto text = read_file(out);
  if (rc != 0 || !text.ok()) return {};
  return nlohmann::ordered_json::parse(*text)["results"];
}

void compare_with_jinja2(const std::vector<Case>& cases) {
  const auto results = jinja2_render(cases);
  ASSERT_EQ(results.size(), cases.size());
  size_t same = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto r = render_template(cases[i].source, cases[i].context.dump());
    if (results[i].contains("error")) {
      EXPECT_FALSE(r.ok()) << cases[i].name << ": Jinja2 fails (" << results[i]["error"] << ") but swaa rendered "
                           << (r.ok() ? *r : "");
      same += !r.ok();
      continue;
    }
    ASSERT_TRUE(r.ok()) << cases[i].name << ": " << r.status().message();
    EXPECT_EQ(*r, results[i]["text"].get<std::string>()) << cases[i].name;
    same += *r == results[i]["text"].get<std::string>();
  }
  std::printf("[jinja2] %zu/%zu cases identical\n", same, cases.size());
}

TEST(Jinja2Oracle, EdgeCases) { compare_with_jinja2(edge_cases()); }

TEST(Jinja2Oracle, FixtureTemplatesAndConversations) {
  auto text = read_file(std::string(SWAA_TEST_DATA_DIR) + "/tokenizer/chat.json");
  ASSERT_TRUE(text.ok()) << text.status().message();
  const auto fx = nlohmann::ordered_json::parse(*text);
  const std::map<std::string, std::pair<std::string, std::string>> specials = {
      {"qwen3", {"", "<|im_end|>"}}, {"llama3", {"<|begin_of_text|>", "<|end_of_text|>"}}, {"llama2", {"<s>", "</s>"}}};
  std::vector<Case> cases;
  for (const auto& [tname, tsrc] : fx["templates"].items()) {
    const std::string tok = tname.rfind("llama2", 0) == 0 ? "llama2" : tname.rfind("llama", 0) == 0 ? "llama3" : "qwen3";
    for (size_t ci = 0; ci < fx["conversations"].size(); ci += 3) {
      nlohmann::ordered_json ctx = {{"messages", fx["conversations"][ci]}, {"tools", nullptr},
                                    {"add_generation_prompt", ci % 2 == 0}, {"enable_thinking", ci % 4 == 0},
                                    {"eos_token", specials.at(tok).second}};
      ctx["bos_token"] = specials.at(tok).first.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(specials.at(tok).first);
      if (ci == 3) ctx["tools"] = fx["tools"];
      cases.push_back({tname + "/" + std::to_string(ci), tsrc.get<std::string>(), ctx});
    }
  }
  compare_with_jinja2(cases);
}

void expect_error(const std::string& source, const std::string& needle, int line) {
  auto r = render_template(source, "{}");
  ASSERT_FALSE(r.ok()) << source;
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("line " + std::to_string(line) + ":"), std::string::npos) << r.status().message();
}

TEST(JinjaErrors, UnsupportedConstructsNameConstructAndLine) {
  expect_error("a\nb\n{% include 'other.jinja' %}", "unsupported construct '{% include %}'", 3);
  expect_error("{% extends 'base' %}", "unsupported construct '{% extends %}'", 1);
  expect_error("x\n{% call m() %}{% endcall %}", "unsupported construct '{% call %}'", 2);
  expect_error("\n\n\n{% filter upper %}x{% endfilter %}", "unsupported construct '{% filter %}'", 4);
  expect_error("{% for x in y recursive %}{% endfor %}", "'for ... recursive'", 1);
  expect_error("\n{{ 'x' | frobnicate }}", "unsupported filter 'frobnicate'", 2);
  expect_error("{{ 1 is frob }}", "unsupported test 'frob'", 1);
  expect_error("\n\n{% if true %}never closed", "expected '{% elif %}' or '{% else %}' or '{% endif %}'", 3);
  expect_error("{% frob %}", "unknown statement '{% frob %}'", 1);
  expect_error("a\n{{ unclosed", "unclosed tag", 2);
  expect_error("{{ raise_exception('custom failure') }}", "template raised an exception: custom failure", 1);
  expect_error("{{ 'a'.nomethod() }}", "not callable", 1);
  expect_error("{% set x = 1 %}{% set x.attr = 2 %}", "only namespace() objects can be changed", 1);
}

}  // namespace
}  // namespace swaa

namespace swaa {
namespace {

// Random token soup: the interpreter returns (text or a Status) for every input, never crashes or
// hangs. Seed fixed; the failing template is printed.
TEST(JinjaRobustness, RandomTemplatesNeverCrash) {
  const char* pieces[] = {"{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " ", "\n", "if", "for", "in", "endif",
                          "endfor", "set", "=", "x", "messages", "loop", ".", "[", "]", "(", ")", "'a'", "\"b\"",
                          "1", "2.5", "|", "trim", "tojson", "is", "not", "defined", "and", "or", "else", "elif",
                          "macro", "endmacro", ",", ":", "~", "*", "/", "%", "raw", "endraw", "{", "}", "namespace",
                          "ns", "break", "continue", "none", "True", "range", "length", "\\", "'"};
  const size_t n = sizeof(pieces) / sizeof(pieces[0]);
  uint64_t state = 20261128;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(state >> 33);
  };
  const std::string ctx = R"({"messages": [{"role": "user", "content": "hi"}], "x": [1, 2, 3]})";
  for (int t = 0; t < 3000; ++t) {
    std::string src;
    const size_t len = 1 + next() % 40;
    for (size_t i = 0; i < len; ++i) src += pieces[next() % n];
    auto r = render_template(src, ctx);
    if (!r.ok()) EXPECT_FALSE(r.status().message().empty()) << src;
  }
  // Mutations of the real templates: a random span deleted or duplicated.
  auto text = read_file(std::string(SWAA_TEST_DATA_DIR) + "/tokenizer/chat.json");
  ASSERT_TRUE(text.ok());
  const auto fx = nlohmann::ordered_json::parse(*text);
  nlohmann::ordered_json full = {{"messages", fx["conversations"][13]}, {"tools", fx["tools"]},
                                 {"add_generation_prompt", true}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  for (const auto& [name, tpl] : fx["templates"].items()) {
    const std::string base = tpl.get<std::string>();
    for (int t = 0; t < 300; ++t) {
      std::string src = base;
      const size_t a = next() % src.size(), len = 1 + next() % 30;
      if (next() % 2) src.erase(a, len);
      else src.insert(a, src.substr(a, len));
      auto r = render_template(src, full.dump());
      if (!r.ok()) EXPECT_FALSE(r.status().message().empty()) << name;
    }
  }
}

}  // namespace
}  // namespace swaa
