// JSONL datasets: the paper's fields, answers as strings, numbers or lists, and errors that name
// the file, the line and the field.
#include <gtest/gtest.h>

#include "eval/dataset.h"

namespace swaa::eval {
namespace {

std::string error_of(const std::string& text) {
  auto r = parse_jsonl_dataset(text, "data.jsonl");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(Dataset, ReadsThePapersFields) {
  const std::string text =
      R"({"prompt": "Q1?", "answer": "a1", "question": "Q1", "question_type": "single-session"})" "\n"
      "\n"
      R"({"prompt": "Which?", "context": "Long text.", "answer": ["B"], "metric": "choice", "id": 7, "extra": 1})" "\n"
      R"({"prompt": "How many?", "answer": 42})";
  auto r = parse_jsonl_dataset(text, "data.jsonl");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].task, "single-session");
  EXPECT_EQ((*r)[0].question, "Q1");
  EXPECT_EQ((*r)[0].id, "data.jsonl:1");
  EXPECT_EQ((*r)[1].user_text, "Long text.\n\nWhich?");
  EXPECT_EQ((*r)[1].metric, Metric::kChoice);
  EXPECT_EQ((*r)[1].id, "7");
  EXPECT_EQ((*r)[1].task, "dataset");
  EXPECT_EQ((*r)[2].answers, std::vector<std::string>{"42"});
  EXPECT_EQ((*r)[2].metric, Metric::kSubstringAll);
  DatasetOptions o;
  o.limit = 1;
  o.default_metric = Metric::kExact;
  auto one = parse_jsonl_dataset(text, "d", o);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].metric, Metric::kExact);
}

TEST(Dataset, ErrorsNameFileLineAndField) {
  EXPECT_NE(error_of("{\"prompt\": \"a\", \"answer\": \"b\"}\n{bad json").find("data.jsonl:2: not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"answer": "b"})").find("data.jsonl:1: missing required field \"prompt\""), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "a"})").find("data.jsonl:1: missing required field \"answer\""), std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": 5, "answer": "b"})").find("field \"prompt\" must be a string, got 5"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "a", "answer": {"x": 1}})").find("field \"answer\" must be a string, a number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "a", "answer": []})").find("field \"answer\" must not be an empty array"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "a", "answer": "b", "metric": "f1"})").find("field \"metric\" must be"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"prompt": "a", "answer": "b", "question_type": 3})").find("field \"question_type\""),
            std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("data.jsonl:1: expected a JSON object"), std::string::npos);
  EXPECT_NE(error_of("\n\n").find("no questions"), std::string::npos);
  auto missing = load_jsonl_dataset("/nonexistent/d.jsonl");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/d.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace swaa::eval
