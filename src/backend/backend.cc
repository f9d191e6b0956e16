// Backend's default token draws: the logit rows on the host, drawn there.
#include "backend/backend.h"

#include "sampling/sampler.h"

namespace swaa {

DrawnTokens Backend::draw_rows_f32(Tensor& t, const StepDraws& draws) {
  const int64_t rows = static_cast<int64_t>(draws.rows.size());
  if (rows == 0) return {};
  const int64_t cols = t.numel() / t.dim(0);
  std::vector<float> host(static_cast<size_t>(rows * cols));
  to_host_f32(t, 0, rows, host.data());
  return draw_tokens(host, cols, draws);
}

}  // namespace swaa
