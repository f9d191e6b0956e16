// make_random_model: writes a random Hugging Face-style checkpoint of a given shape, for
// benchmarks and manual tests (e.g. a ~0.5B Qwen3-shaped model for CPU throughput).
// Usage: make_random_model DIR [--type qwen3] [--vocab N] [--hidden N] [--layers N] [--heads N]
//        [--kv-heads N] [--head-dim N] [--intermediate N] [--dtype bf16|f16|f32] [--seed N]
//        [--byte-tokenizer true] (a 259-token byte-level tokenizer with a ChatML template; vocab >= 259)
//        qwen3_moe: [--experts N] [--top-k N] [--moe-intermediate N] (layer 1 stays a dense MLP)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "support/checkpoint_writer.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_random_model DIR [--type T] [--vocab N] [--hidden N] [--layers N] "
                         "[--heads N] [--kv-heads N] [--head-dim N] [--intermediate N] [--dtype D] [--seed N] "
                         "[--experts N] [--top-k N] [--moe-intermediate N]\n");
    return 2;
  }
  swaa::testing::RandomModelSpec s;
  bool with_tokenizer = false;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    auto num = [&] { return std::atoi(v.c_str()); };
    if (k == "--type") s.model_type = v;
    else if (k == "--vocab") s.vocab = num();
    else if (k == "--hidden") s.hidden = num();
    else if (k == "--layers") s.layers = num();
    else if (k == "--heads") s.heads = num();
    else if (k == "--kv-heads") s.kv_heads = num();
    else if (k == "--head-dim") s.head_dim = num();
    else if (k == "--intermediate") s.intermediate = num();
    else if (k == "--experts") s.experts = num();
    else if (k == "--top-k") s.top_k = num();
    else if (k == "--moe-intermediate") s.moe_intermediate = num();
    else if (k == "--seed") s.seed = static_cast<uint64_t>(num());
    else if (k == "--fast-init") s.fast_init = v == "1" || v == "true";
    else if (k == "--byte-tokenizer") with_tokenizer = v == "1" || v == "true";
    else if (k == "--dtype") s.dtype = v == "f32" ? swaa::DType::kF32 : v == "f16" ? swaa::DType::kF16 : swaa::DType::kBF16;
    else {
      std::fprintf(stderr, "make_random_model: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  s.qk_scale = 1.0f;
  swaa::testing::write_random_model(argv[1], s);
  if (with_tokenizer) swaa::testing::write_byte_tokenizer(argv[1]);
  std::printf("wrote %s (%s, %d layers, hidden %d)\n", argv[1], s.model_type.c_str(), s.layers, s.hidden);
  return 0;
}
