// Raw log-probabilities of one logits row (swaa/logprobs.h): log-softmax with the normaliser
// accumulated in fp64 (as the score API computes it), the chosen token's value and the top N.
// Reads the row only; the engine calls it solely for requests that asked for logprobs.
// Tests: tests/unit/sampling/logprobs_test.cc
#pragma once

#include <cstdint>
#include <span>

#include "swaa/logprobs.h"

namespace swaa {

// `token` must index `logits`; `num_top` in [0, logits.size()].
SampleLogprobs compute_logprobs(std::span<const float> logits, int32_t token, int num_top);

}  // namespace swaa
