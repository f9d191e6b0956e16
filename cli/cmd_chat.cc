// `swaa chat`: interactive conversation with the model's chat template. Each reply streams as it
// is generated (thinking shown dim on a terminal); the history is kept across turns.
// Commands: /reset (forget the history), /exit (or end of input). Ctrl-C stops the current reply.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "engine_flags.h"
#include "stream_printer.h"

namespace swaa::cli {
namespace {

struct ChatArgs {
  EngineFlags engine;
  SamplingFlags sampling;
  std::string system;
  bool no_think = false;
};

void run_chat(const ChatArgs& a) {
  const SamplingParams params = a.sampling.resolve();
  std::unique_ptr<Engine> engine = make_engine(a.engine.resolve());
  if (engine->tokenizer() == nullptr) throw CliError("the model directory has no tokenizer.json; chat needs one");
  interrupt::install();
  nlohmann::json history = nlohmann::json::array();
  auto reset = [&] {
    history = nlohmann::json::array();
    if (!a.system.empty()) history.push_back({{"role", "system"}, {"content", a.system}});
  };
  reset();
  std::fprintf(stderr, "swaa chat: /reset clears the conversation, /exit quits; Ctrl-C stops a reply\n");
  std::string line;
  while (true) {
    std::fprintf(stderr, "> ");
    std::fflush(stderr);
    interrupt::clear();
    if (!std::getline(std::cin, line) || line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      reset();
      std::fprintf(stderr, "(conversation cleared)\n");
      continue;
    }
    if (line.empty()) continue;
    history.push_back({{"role", "user"}, {"content", line}});
    RequestInput in;
    in.messages_json = history.dump();
    if (a.no_think) in.enable_thinking = false;
    auto id = engine->add_request(in, params);
    if (!id.ok()) {
      history.erase(history.size() - 1);
      std::fprintf(stderr, "swaa chat: error: %s\n", id.status().message().c_str());
      continue;
    }
    StreamPrinter out;
    std::string reply;
    bool aborted = false;
    while (engine->has_unfinished()) {
      if (interrupt::requested()) engine->abort(*id);
      auto step = engine->step();
      if (!step.ok()) throw CliError(step.status().message());
      for (const RequestOutput& o : *step) {
        out.print(o.text);
        reply += o.text;
        aborted |= o.finish_reason == FinishReason::kAbort;
      }
    }
    out.finish();
    if (aborted) std::fprintf(stderr, "(reply stopped)\n");
    history.push_back({{"role", "assistant"}, {"content", reply}});
  }
}

}  // namespace

void register_chat(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  CLI::App* cmd = app.add_subcommand("chat", "interactive chat with the model's chat template");
  args->engine.add_to(*cmd);
  args->sampling.add_to(*cmd);
  cmd->add_option("--system", args->system, "system message");
  cmd->add_flag("--no-think", args->no_think, "thinking off (chat templates with a thinking switch)");
  cmd->callback([args] { run_chat(*args); });
}

}  // namespace swaa::cli
