// Naive fp64 references (SWAA.md §5): the SWAA mask written out plainly from SWAA.md §2, attention
// over the full score matrix, and a whole decoder forward pass of the Llama/Qwen family computed in
// one unchunked pass over the sequence. No tiling, no paging, no shared code with src/ beyond
// ModelConfig (what to compute) and the stored weights (what to compute it with).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/model_config.h"
#include "swaa/swaa_config.h"

namespace swaa::reference {

// SWAA.md §2 for layer `layer`, query position p (generated iff p >= prompt_len), key position j.
bool visible(const SwaaConfig& c, int layer, int p, int j, int prompt_len);

// Attention of one head for every query row over all keys of one sequence.
// q [T, D], k [T, D], v [T, D]; returns [T, D].
std::vector<double> attention(const std::vector<double>& q, const std::vector<double>& k,
                              const std::vector<double>& v, int T, int D, double scale,
                              const SwaaConfig& c, int layer, int prompt_len);

using Weights = std::map<std::string, std::vector<double>>;

// log p(token[t+1] | tokens[0..t]) for t in [0, T-1), tokens [prompt_len, T) generated.
// Supports default RoPE only (scaled variants are covered by the Transformers fixtures).
std::vector<double> logprobs(const ModelConfig& config, const Weights& w, const SwaaConfig& swaa,
                             const std::vector<int>& tokens, int prompt_len);

}  // namespace swaa::reference
