// Added-token flags (lstrip, rstrip, single_word, normalized, special) and the Metaspace
// pre-tokenizer/decoder (prepend_scheme first/always, split on/off), against Hugging Face on
// variants of the Llama 2 tokenizer (tests/data/tokenizer/encode_variants.json).
#include <gtest/gtest.h>

#include <fstream>

#include "tokenizer_fixture.h"

namespace swaa {
namespace {

class Variants : public ::testing::TestWithParam<std::string> {};

TEST_P(Variants, EncodeAndDecodeMatchHuggingFace) {
  const auto& fx = test::fixture("encode_variants.json");
  const auto& v = fx["variants"][GetParam()];
  auto base = read_json_file(test::npm_dir("llama2") + "/tokenizer.json");
  ASSERT_TRUE(base.ok()) << base.status().message();
  nlohmann::json j = *base;
  for (const auto& [k, val] : v["patch"].items()) j[k] = val;
  const std::string path = test::temp_path("variant_" + GetParam() + ".json");
  std::ofstream(path) << j.dump();
  auto tok = Tokenizer::from_files(path);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  const auto& strings = fx["strings"];
  size_t matched = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string s = strings[i];
    auto ids = tok->encode(s);
    ASSERT_TRUE(ids.ok()) << ids.status().message();
    const auto want = v["ids"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(*ids, want) << GetParam() << " string " << i << " " << nlohmann::json(s).dump();
    // null = same as the input string (decode) / as decode (decode_skip_special), to keep the file small
    const std::string dec = v["decode"][i].is_null() ? s : v["decode"][i].get<std::string>();
    const std::string dec_skip =
        v["decode_skip_special"][i].is_null() ? dec : v["decode_skip_special"][i].get<std::string>();
    EXPECT_EQ(tok->decode(want), dec) << GetParam() << " string " << i;
    EXPECT_EQ(tok->decode(want, true), dec_skip) << GetParam() << " " << i;
    matched += *ids == want;
  }
  std::printf("[variants] %s: %zu/%zu strings exact\n", GetParam().c_str(), matched, strings.size());
}

INSTANTIATE_TEST_SUITE_P(Llama2, Variants,
                         ::testing::Values("llama2_added", "llama2_metaspace_first", "llama2_metaspace_always"));

}  // namespace
}  // namespace swaa
