// log p(v) = logit[v] - (max + log sum_v exp(logit[v] - max)), the sum in fp64; the top N are kept
// in a heap of N entries (O(V log N), no V-sized scratch: 20 alternatives over a 151k vocabulary
// cost one pass over the row, like the normaliser).
#include "sampling/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"

namespace swaa {

SampleLogprobs compute_logprobs(std::span<const float> logits, int32_t token, int num_top) {
  const int64_t V = static_cast<int64_t>(logits.size());
  SWAA_CHECK(token >= 0 && token < V);
  SWAA_CHECK(num_top >= 0 && num_top <= V);
  double mx = -std::numeric_limits<double>::infinity();
  for (float l : logits) mx = std::max(mx, static_cast<double>(l));
  double sum = 0;
  for (float l : logits) sum += std::exp(l - mx);
  const double log_norm = mx + std::log(sum);

  SampleLogprobs out;
  out.logprob = logits[token] - log_norm;
  if (num_top == 0) return out;
  // `better(a, b)`: a ranks before b (higher logit, then lower id). With it as the heap order the
  // front is the worst kept entry, the one a better candidate replaces.
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::vector<int32_t> heap;
  heap.reserve(num_top);
  for (int32_t v = 0; v < V; ++v) {
    if (static_cast<int>(heap.size()) < num_top) {
      heap.push_back(v);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(v, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = v;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);
  out.top.reserve(heap.size());
  for (int32_t v : heap) out.top.push_back({v, logits[v] - log_norm});
  return out;
}

}  // namespace swaa
