// Single-thread encode throughput of swaa's tokenizer, measured the way make_fixtures.py --bench
// measures Hugging Face `tokenizers`: encode each line of a text file (add_special_tokens=false).
// Usage: tokenizer_encode_bench TEXT_FILE TOKENIZER_DIR...   -> one JSON line per tokenizer.
// Built by tests/unit/tokenizer/CMakeLists.txt; run on the same machine as the HF number.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "swaa/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TEXT_FILE TOKENIZER_DIR...\n", argv[0]);
    return 2;
  }
  auto text = swaa::read_file(argv[1]);
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", text.status().message().c_str());
    return 1;
  }
  std::vector<std::string> lines;
  for (size_t pos = 0;;) {
    const size_t nl = text->find('\n', pos);
    lines.push_back(text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  for (int a = 2; a < argc; ++a) {
    auto tok = swaa::Tokenizer::from_dir(argv[a]);
    if (!tok.ok()) {
      std::fprintf(stderr, "%s\n", tok.status().message().c_str());
      return 1;
    }
    for (int rep = 0; rep < 2; ++rep) {  // rep 0: cold word cache, rep 1: warm
      size_t num_tokens = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (const std::string& line : lines) {
        auto ids = tok->encode(line);
        if (!ids.ok()) {
          std::fprintf(stderr, "%s\n", ids.status().message().c_str());
          return 1;
        }
        num_tokens += ids->size();
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("{\"tokenizer\": \"%s\", \"cache\": \"%s\", \"bytes\": %zu, \"seconds\": %.4f, \"mb_per_s\": %.3f, "
                  "\"tokens\": %zu}\n",
                  argv[a], rep == 0 ? "cold" : "warm", text->size(), s, static_cast<double>(text->size()) / s / 1e6,
                  num_tokens);
      std::fflush(stdout);
    }
  }
  return 0;
}
