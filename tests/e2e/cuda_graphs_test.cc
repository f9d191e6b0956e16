// CUDA graphs of decode steps (label cuda): recorded and replayed steps give what op-by-op steps
// give (SWAA_CUDA_GRAPHS=0), through `score` (one sequence whose keys outgrow the block-table
// stride and move the decode split count) and through the engine (continuous batching: batches
// shrink as requests finish, so several step shapes are recorded; greedy tokens taken on the device
// equal the host's argmax of the logits; sampled tokens drawn on the device are the same op by op
// and replayed, and those of the host's draw; prompt chunks without logit rows). The debug log proves that
// steps were recorded, and (for score) that most steps were replayed rather than recorded; a
// Qwen3-MoE model's decode steps (routed on the device) are recorded too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>

#include "backend/cuda/cuda_backend.h"
#include "core/log.h"
#include "e2e/cuda_test_model.h"
#include "e2e/score_test_util.h"
#include "swaa/engine.h"
#include "swaa/score.h"

namespace swaa {
namespace {

// Runs `fn` with graphs on or off (read when a backend is created); returns the debug log.
template <typename Fn>
std::string with_graphs(bool on, Fn fn) {
  ::setenv("SWAA_CUDA_GRAPHS", on ? "1" : "0", 1);
  const log::Level before = log::threshold();
  log::set_threshold(log::Level::kDebug);
  ::testing::internal::CaptureStderr();
  fn();
  std::string err = ::testing::internal::GetCapturedStderr();
  log::set_threshold(before);
  ::unsetenv("SWAA_CUDA_GRAPHS");
  return err;
}

// `count` requests of random prompt tokens, of lengths first, first + step, ...
std::vector<RequestInput> random_requests(int count, int first, int step, uint32_t seed) {
  std::vector<RequestInput> inputs;
  std::mt19937 rng(seed);
  for (int r = 0; r < count; ++r) {
    RequestInput in;
    in.prompt_token_ids.resize(first + step * r);
    for (auto& t : in.prompt_token_ids) t = static_cast<int32_t>(rng() % testing::kSmallCudaModelVocab);
    inputs.push_back(in);
  }
  return inputs;
}

// Every request's result from a fresh engine (empty after a failure, which is reported).
std::vector<GenerationResult> generate_all(const EngineOptions& eo, const std::vector<RequestInput>& inputs,
                                           const SamplingParams& sp) {
  auto engine = Engine::create(eo);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  if (!engine.ok()) return {};
  auto res = (*engine)->generate(inputs, sp);
  EXPECT_TRUE(res.ok()) << res.status().message();
  if (!res.ok()) return {};
  return std::move(res).value();
}

// A CUDA engine on a small random model (written once per name) with a window of 32 and 4 sinks on
// every layer but layer 2, a 64 MiB KV cache and up to max_num_seqs sequences at a time.
EngineOptions small_engine(const std::string& model_name, uint64_t seed, int max_num_seqs) {
  EngineOptions eo;
  eo.model_dir = testing::write_small_cuda_model(model_name, 64, seed);
  eo.swaa = testing::swaa_cfg(32, 4, true, {2});
  eo.device = "cuda";
  eo.max_num_seqs = max_num_seqs;
  eo.kv_cache_bytes = 64 << 20;
  return eo;
}

int occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Scores `tokens` with graphs off, then on: the graphs must have been recorded (fewer than
// max_records times: recorded again only when a shape or a split count changes; a replay that never
// matched would record every step) and give the same log-probabilities.
void expect_replays_equal_op_by_op(const ScoreOptions& o, const std::vector<int32_t>& tokens, const std::string& label,
                                   int max_records) {
  Result<ScoreResult> off = internal_error("not run"), on = internal_error("not run");
  with_graphs(false, [&] { off = score_tokens(o, tokens); });
  const std::string log = with_graphs(true, [&] { on = score_tokens(o, tokens); });
  ASSERT_TRUE(off.ok()) << off.status().message();
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_NE(log.find("cuda graphs: recorded"), std::string::npos) << log;
  EXPECT_EQ(log.find("cuda graphs off"), std::string::npos) << log;
  EXPECT_LT(occurrences(log, "cuda graphs: recorded"), max_records) << label;
  const double d = testing::max_abs_diff(on->logprobs, off->logprobs);
  std::printf("| graphs vs op by op | %-40s | max %.2e |\n", label.c_str(), d);
  EXPECT_LT(d, 1e-4) << label;
}

TEST(CudaGraphs, ScoreEqualsOpByOp) {
  const std::string dir = testing::write_small_cuda_model("cuda_graphs_score", 128, 17);
  std::mt19937 rng(3);
  std::vector<int32_t> tokens(1400);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % testing::kSmallCudaModelVocab);
  using testing::swaa_cfg;
  // 1200 decode steps from 200 prompt tokens: 13 -> 88 blocks of 16 (strides 16, 32, 64, 128) and
  // the full layers' split count moves with the length.
  for (const SwaaConfig& c : {swaa_cfg(std::nullopt), swaa_cfg(64, 16, true, {1}), swaa_cfg(48, 4)}) {
    ScoreOptions o;
    o.model_dir = dir;
    o.swaa = c;
    o.prompt_tokens = 200;
    o.device = "cuda";
    expect_replays_equal_op_by_op(o, tokens, describe(c), 100);
  }
}

// A Qwen3-MoE model (8 experts, top 2; layer 1 dense): its decode steps route on the device
// (moe_gemv.cu) and are recorded like a dense model's.
TEST(CudaGraphs, MoeScoreEqualsOpByOp) {
  testing::RandomModelSpec spec;
  spec.model_type = "qwen3_moe";
  spec.hidden = 256;
  spec.heads = 8;
  spec.kv_heads = 2;
  spec.head_dim = 64;
  spec.layers = 3;
  spec.intermediate = 384;
  spec.experts = 8;
  spec.top_k = 2;
  spec.moe_intermediate = 64;
  spec.vocab = testing::kSmallCudaModelVocab;
  spec.qk_scale = 1.5f;
  spec.seed = 23;
  const std::string dir = testing::make_temp_dir("cuda_graphs_moe");
  testing::write_random_model(dir, spec);
  std::mt19937 rng(5);
  std::vector<int32_t> tokens(400);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % testing::kSmallCudaModelVocab);
  ScoreOptions o;
  o.model_dir = dir;
  o.swaa = testing::swaa_cfg(48, 4);
  o.prompt_tokens = 100;
  o.device = "cuda";
  expect_replays_equal_op_by_op(o, tokens, "qwen3_moe W=48 S=4", 50);
}

TEST(CudaGraphs, EngineBatchesEqualOpByOp) {
  const std::string dir = testing::write_small_cuda_model("cuda_graphs_engine", 64, 17);
  const std::vector<RequestInput> inputs = random_requests(6, 40, 70, 9);
  SamplingParams sp;
  sp.temperature = 0;
  sp.max_tokens = 90;
  sp.ignore_eos = true;
  for (const SwaaConfig& c : {testing::swaa_cfg(std::nullopt), testing::swaa_cfg(32, 4, true, {2})}) {
    EngineOptions eo;
    eo.model_dir = dir;
    eo.swaa = c;
    eo.device = "cuda";
    eo.max_num_seqs = 4;  // 6 requests: batches of 4, then fewer as they finish
    eo.kv_cache_bytes = 64 << 20;
    auto run = [&](std::vector<GenerationResult>& out) { out = generate_all(eo, inputs, sp); };
    std::vector<GenerationResult> off, on, host_argmax;
    with_graphs(false, [&] { run(off); });
    const std::string log = with_graphs(true, [&] { run(on); });
    // The greedy tokens picked on the device (argmax_rows, default) are those the host picks from
    // the copied logits (SWAA_GREEDY_ON_BACKEND=0).
    ::setenv("SWAA_GREEDY_ON_BACKEND", "0", 1);
    with_graphs(true, [&] { run(host_argmax); });
    ::unsetenv("SWAA_GREEDY_ON_BACKEND");
    EXPECT_NE(log.find("cuda graphs: recorded"), std::string::npos) << log;
    ASSERT_EQ(on.size(), off.size());
    ASSERT_EQ(on.size(), host_argmax.size());
    for (size_t i = 0; i < on.size(); ++i) {
      EXPECT_EQ(on[i].token_ids, off[i].token_ids) << "request " << i << " " << describe(c);
      EXPECT_EQ(on[i].token_ids, host_argmax[i].token_ids) << "request " << i << " " << describe(c);
    }
  }
}

// A prompt longer than the step's token budget is read in chunks; the first ones yield no logit
// rows, and their steps (greedy or sampled, all "drawn on the device" with nothing to draw) must
// not touch the empty logits (a division by the zero rows crashed every 32k prompt once).
TEST(CudaGraphs, PromptChunksWithoutLogitRows) {
  const std::string dir = testing::write_small_cuda_model("cuda_graphs_chunks", 64, 23);
  const std::vector<RequestInput> inputs = random_requests(1, 300, 0, 4);
  EngineOptions eo;
  eo.model_dir = dir;
  eo.device = "cuda";
  eo.max_num_batched_tokens = 64;  // 300 prompt tokens: four chunks without a logit row, then one with
  eo.kv_cache_bytes = 64 << 20;
  for (float temperature : {0.0f, 0.8f}) {
    SamplingParams sp;
    sp.temperature = temperature;
    sp.seed = 3;
    sp.max_tokens = 8;
    sp.ignore_eos = true;
    const std::vector<GenerationResult> res = generate_all(eo, inputs, sp);
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].token_ids.size(), 8u) << "temperature " << temperature;
  }
}

// Runs `inputs` with `sp` four ways: drawn on the device with CUDA graphs (twice), op by op, and on
// the host from copied logits (SWAA_SAMPLE_ON_DEVICE=0). The device runs must agree exactly; the
// host run may differ in at most `host_diverging` requests. Returns the graphs run.
std::vector<GenerationResult> expect_device_draws(const std::string& model_name, const std::vector<RequestInput>& inputs,
                                                  const SamplingParams& sp, int host_diverging) {
  const EngineOptions eo = small_engine(model_name, 19, 4);
  auto run = [&](std::vector<GenerationResult>& out) { out = generate_all(eo, inputs, sp); };
  std::vector<GenerationResult> on, again, off, host;
  with_graphs(true, [&] { run(on); });
  with_graphs(true, [&] { run(again); });
  with_graphs(false, [&] { run(off); });
  ::setenv("SWAA_SAMPLE_ON_DEVICE", "0", 1);
  with_graphs(true, [&] { run(host); });
  ::unsetenv("SWAA_SAMPLE_ON_DEVICE");
  EXPECT_EQ(on.size(), inputs.size());
  for (const auto* other : {&again, &off, &host}) EXPECT_EQ(other->size(), on.size());
  if (on.size() != inputs.size() || again.size() != on.size() || off.size() != on.size() || host.size() != on.size()) {
    return on;
  }
  int same_as_host = 0;
  for (size_t i = 0; i < on.size(); ++i) {
    EXPECT_EQ(on[i].token_ids.size(), static_cast<size_t>(sp.max_tokens));
    EXPECT_EQ(on[i].token_ids, again[i].token_ids) << "request " << i;
    EXPECT_EQ(on[i].token_ids, off[i].token_ids) << "request " << i;
    same_as_host += on[i].token_ids == host[i].token_ids;
  }
  EXPECT_GE(same_as_host, static_cast<int>(on.size()) - host_diverging);
  return on;
}

SamplingParams sampled_params() {
  SamplingParams sp;
  sp.temperature = 0.8f;
  sp.top_p = 0.9f;
  sp.min_p = 0.01f;
  sp.seed = 1234;
  sp.max_tokens = 90;
  sp.ignore_eos = true;
  return sp;
}

// Sampled steps draw on the device (cuda::draw_rows) from the same logits op by op and replayed,
// so a seeded request gets the same tokens either way and on every run. The host's draws from the
// copied logits (SWAA_SAMPLE_ON_DEVICE=0) weigh in double, the device in fp32: a token can differ
// only where a draw falls within ~1e-6 of a boundary (about 1 in 1000 for this test's 540 draws),
// so at most one request may diverge from the host.
TEST(CudaGraphs, EngineSampledDrawsOnTheDevice) {
  const std::vector<GenerationResult> on =
      expect_device_draws("cuda_graphs_sampled", random_requests(6, 30, 50, 11), sampled_params(), 1);
  std::set<int32_t> distinct;
  for (const GenerationResult& r : on) distinct.insert(r.token_ids.begin(), r.token_ids.end());
  EXPECT_GT(distinct.size(), 20u) << "sampled tokens look greedy";
}

// Penalties (repetition over prompt and output, presence, frequency) are applied on the device as
// the host's logit edits (cuda::apply_logit_edits, bit for bit the host's arithmetic) before the
// draw. Greedy: the device's argmax of the edited logits is the host's, so every request matches
// the host; sampled: as above, one request may diverge. Both must differ from the same requests
// without penalties (the edits are not ignored).
TEST(CudaGraphs, EnginePenaltiesOnTheDevice) {
  const std::vector<RequestInput> inputs = random_requests(6, 30, 50, 13);
  for (float temperature : {0.0f, 0.8f}) {
    SCOPED_TRACE("temperature " + std::to_string(temperature));
    SamplingParams plain = sampled_params();
    plain.temperature = temperature;
    SamplingParams sp = plain;
    sp.repetition_penalty = 1.3f;
    sp.presence_penalty = 0.4f;
    sp.frequency_penalty = 0.2f;
    const std::vector<GenerationResult> penalised =
        expect_device_draws("cuda_graphs_penalties", inputs, sp, temperature == 0.0f ? 0 : 1);
    const std::vector<GenerationResult> without = expect_device_draws("cuda_graphs_penalties", inputs, plain, 1);
    ASSERT_EQ(penalised.size(), without.size());
    int changed = 0;
    for (size_t i = 0; i < penalised.size(); ++i) changed += penalised[i].token_ids != without[i].token_ids;
    EXPECT_GE(changed, static_cast<int>(inputs.size()) - 1) << "the penalties changed too few requests";
  }
}

// Requests asking for logprobs draw on the device too: their unedited rows are copied before the
// penalties and cuda::row_logprobs computes their values (fp32 exponentials summed in fp64). Against
// the host (logits copied, SWAA_GREEDY_ON_BACKEND=0 and SWAA_SAMPLE_ON_DEVICE=0; compute_logprobs
// in fp64): plain greedy with 5 alternatives, and sampled with penalties and 20. Requests whose
// tokens match (all but at most one) have every logprob within 1e-5 and the same alternatives in
// the same order; cuda_row_logprobs_rows() shows which path ran.
TEST(CudaGraphs, EngineLogprobsOnTheDevice) {
  const std::vector<RequestInput> inputs = random_requests(6, 30, 50, 17);
  for (float temperature : {0.0f, 0.8f}) {
    SCOPED_TRACE("temperature " + std::to_string(temperature));
    SamplingParams sp = sampled_params();
    sp.max_tokens = 24;
    sp.temperature = temperature;
    sp.logprobs = 5;
    if (temperature > 0) {
      sp.logprobs = 20;
      sp.repetition_penalty = 1.3f;
      sp.presence_penalty = 0.4f;
    }
    const EngineOptions eo = small_engine("cuda_graphs_logprobs", 29, 4);
    std::vector<GenerationResult> device, host;
    const int64_t rows_before = cuda_row_logprobs_rows();
    with_graphs(true, [&] { device = generate_all(eo, inputs, sp); });
    const int64_t device_rows = cuda_row_logprobs_rows() - rows_before;
    ::setenv("SWAA_GREEDY_ON_BACKEND", "0", 1);
    ::setenv("SWAA_SAMPLE_ON_DEVICE", "0", 1);
    with_graphs(true, [&] { host = generate_all(eo, inputs, sp); });
    ::unsetenv("SWAA_GREEDY_ON_BACKEND");
    ::unsetenv("SWAA_SAMPLE_ON_DEVICE");
    EXPECT_EQ(device_rows, static_cast<int64_t>(inputs.size()) * sp.max_tokens) << "not every token's logprobs came from the device";
    EXPECT_EQ(cuda_row_logprobs_rows() - rows_before, device_rows) << "the host run used the device's logprobs";
    ASSERT_EQ(device.size(), inputs.size());
    ASSERT_EQ(host.size(), inputs.size());
    int same = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const GenerationResult &d = device[i], &h = host[i];
      ASSERT_EQ(d.logprobs.size(), d.token_ids.size()) << "request " << i;
      if (d.token_ids != h.token_ids) continue;
      ++same;
      for (size_t t = 0; t < d.logprobs.size(); ++t) {
        const std::string where = "request " + std::to_string(i) + ", token " + std::to_string(t);
        EXPECT_NEAR(d.logprobs[t].logprob, h.logprobs[t].logprob, 1e-5) << where;
        ASSERT_EQ(d.logprobs[t].top.size(), static_cast<size_t>(sp.logprobs)) << where;
        ASSERT_EQ(h.logprobs[t].top.size(), static_cast<size_t>(sp.logprobs)) << where;
        for (int k = 0; k < sp.logprobs; ++k) {
          EXPECT_EQ(d.logprobs[t].top[k].token_id, h.logprobs[t].top[k].token_id) << where << ", rank " << k;
          EXPECT_NEAR(d.logprobs[t].top[k].logprob, h.logprobs[t].top[k].logprob, 1e-5) << where << ", rank " << k;
        }
      }
    }
    EXPECT_GE(same, static_cast<int>(inputs.size()) - (temperature > 0 ? 1 : 0));
  }
}

// By default decode batches past the skinny kernels' rows (8 sequences) run q/k/v and gate/up as
// one GEMM each over the stacked weights, then split (split_columns, silu_mul_stacked). The tokens
// are those of one GEMM per projection (SWAA_CUDA_STACKED_GEMM=0) up to cuBLAS's summation order:
// greedy, at most one request of 8 may diverge.
TEST(CudaGraphs, EngineStackedProjections) {
  const std::vector<RequestInput> inputs = random_requests(8, 30, 20, 21);
  SamplingParams sp;
  sp.temperature = 0;
  sp.max_tokens = 40;
  sp.ignore_eos = true;
  const EngineOptions eo = small_engine("cuda_graphs_stacked", 23, 8);
  std::vector<GenerationResult> stacked, separate;
  const int64_t launches = cuda_stacked_gemm_launches();
  with_graphs(true, [&] { stacked = generate_all(eo, inputs, sp); });
  const int64_t stacked_launches = cuda_stacked_gemm_launches() - launches;
  ::setenv("SWAA_CUDA_STACKED_GEMM", "0", 1);
  with_graphs(true, [&] { separate = generate_all(eo, inputs, sp); });
  ::unsetenv("SWAA_CUDA_STACKED_GEMM");
  // 3 layers x (q/k/v + gate/up) per step of 5-8 rows, and gate/up alone at 2-4 rows; recorded
  // graphs replay them without counting again, so at least one step's worth.
  EXPECT_GE(stacked_launches, 6) << "the stacked path did not run";
  EXPECT_EQ(cuda_stacked_gemm_launches() - launches, stacked_launches) << "it ran while switched off";
  ASSERT_EQ(stacked.size(), inputs.size());
  ASSERT_EQ(separate.size(), inputs.size());
  int same = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(stacked[i].token_ids.size(), 40u);
    same += stacked[i].token_ids == separate[i].token_ids;
  }
  EXPECT_GE(same, static_cast<int>(inputs.size()) - 1);
}

}  // namespace
}  // namespace swaa
