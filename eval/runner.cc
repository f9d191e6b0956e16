// Runs one configuration over all prepared samples and scores the answers (see runner.h).
#include "eval/runner.h"

#include <chrono>
#include <map>

#include "core/log.h"
#include "core/progress.h"
#include "eval/scoring.h"

namespace swaa::eval {

Result<SettingOutcome> run_setting(const EvalSetting& setting, const std::vector<PreparedSample>& samples,
                                   const RunOptions& options) {
  EngineOptions eo = options.engine;
  eo.swaa = setting.config;
  auto created = Engine::create(eo);
  if (!created.ok()) return created.status().with_context("setting \"" + setting.name + "\"");
  std::unique_ptr<Engine> engine = std::move(created).value();

  SettingOutcome out;
  out.setting = setting;
  out.samples.resize(samples.size());
  std::map<uint64_t, size_t> index_of;
  std::map<uint64_t, int> computed;  // prompt tokens computed so far, per request
  int num_cut = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const PreparedSample& p = samples[i];
    // A budget that would pass max_model_len is cut to fit (the answer usually comes early); a
    // prompt that leaves no room at all is an error.
    const int room = engine->max_model_len() - static_cast<int>(p.prompt_ids.size());
    if (room < 1) {
      return invalid_argument("sample " + p.sample.id + ": " + std::to_string(p.prompt_ids.size()) +
                              " prompt tokens leave no room to generate within max_model_len " +
                              std::to_string(engine->max_model_len()) + " (use shorter --lengths or a larger --max-model-len)");
    }
    const int max_tokens = std::min(p.max_tokens, room);
    if (max_tokens < p.max_tokens) ++num_cut;
    SamplingParams sp;
    sp.temperature = 0;
    sp.max_tokens = max_tokens;
    RequestInput in;
    in.prompt_token_ids = p.prompt_ids;
    auto id = engine->add_request(in, sp);
    if (!id.ok()) return id.status().with_context("sample " + p.sample.id);
    index_of[*id] = i;
    out.samples[i].prepared = &p;
    out.prompt_tokens += static_cast<int64_t>(p.prompt_ids.size());
  }

  if (num_cut > 0) {
    log::warn("setting \"{}\": the generation budget of {} of {} questions was cut to fit max_model_len {}",
              setting.name, num_cut, samples.size(), engine->max_model_len());
  }
  using Clock = std::chrono::steady_clock;
  ProgressReporter progress("eval " + setting.name, "requests", static_cast<long>(samples.size()));
  long finished = 0;
  const auto start = Clock::now();
  while (engine->has_unfinished()) {
    const auto t0 = Clock::now();
    auto step = engine->step();
    if (!step.ok()) return step.status().with_context("setting \"" + setting.name + "\"");
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    int64_t prefill_tokens = 0, decode_tokens = 0;
    for (const RequestOutput& o : *step) {
      SampleOutcome& s = out.samples[index_of.at(o.request_id)];
      const int before = computed[o.request_id];
      prefill_tokens += std::max(0, o.metrics.computed_prompt_tokens - before);
      computed[o.request_id] = o.metrics.computed_prompt_tokens;
      // The first generated token comes out of the last prefill chunk: it is not a decode token.
      const int new_tokens = static_cast<int>(o.token_ids.size());
      const bool first = s.generated_tokens == 0 && new_tokens > 0;
      decode_tokens += new_tokens - (first ? 1 : 0);
      s.output += o.text;
      s.generated_tokens += new_tokens;
      if (first) s.time_to_first_token = o.metrics.time_to_first_token;
      if (o.finished) {
        s.finish_reason = o.finish_reason;
        ++finished;
      }
    }
    if (prefill_tokens + decode_tokens > 0) {
      const double f = static_cast<double>(prefill_tokens) / static_cast<double>(prefill_tokens + decode_tokens);
      out.prefill_seconds += dt * f;
      out.decode_seconds += dt * (1 - f);
    }
    if (options.progress) progress.update(finished);
  }
  out.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (options.progress) progress.finish();
  out.peak_kv_bytes = engine->kv_stats().peak_live_bytes;
  for (SampleOutcome& s : out.samples) {
    s.answer = extract_answer(s.output, options.thinking);
    s.score = score(s.prepared->sample.metric, s.answer, s.prepared->sample.answers);
    out.generated_tokens += s.generated_tokens;
  }
  return out;
}

}  // namespace swaa::eval
