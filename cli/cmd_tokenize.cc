// `swaa tokenize` (DESIGN.md §3): text or a conversation -> token ids with the model's tokenizer,
// exactly as Hugging Face would produce them. -m may name a directory holding only the tokenizer
// files. Ids carry no special tokens unless --chat (then the template writes them as text).
// Output: the ids on one line; with --json, {"ids": [...], "text": "<rendered prompt>"}.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "core/json_util.h"
#include "swaa/chat.h"
#include "swaa/tokenizer.h"
#include "swaa_flags.h"

namespace swaa::cli {
namespace {

struct TokenizeArgs {
  std::string model, prompt, file, messages_file;
  bool chat = false, no_think = false, json = false;
};

void run_tokenize(const TokenizeArgs& a) {
  auto tok = Tokenizer::from_dir(resolve_model_dir(a.model));
  if (!tok.ok()) throw CliError(tok.status().message());
  std::string text;
  if (!a.file.empty()) {
    auto t = read_file(a.file);
    if (!t.ok()) throw CliError(t.status().message());
    text = std::move(t).value();
  } else {
    text = a.prompt;
  }
  const bool chat = a.chat || !a.messages_file.empty();
  if (chat) {
    std::string messages;
    if (!a.messages_file.empty()) {
      auto m = read_file(a.messages_file);
      if (!m.ok()) throw CliError(m.status().message());
      messages = std::move(m).value();
    } else {
      messages = nlohmann::json::array({{{"role", "user"}, {"content", text}}}).dump();
    }
    ChatOptions opt;
    opt.add_generation_prompt = true;
    if (a.no_think) opt.enable_thinking = false;
    auto r = render_chat(*tok, messages, opt);
    if (!r.ok()) {
      throw CliError((a.messages_file.empty() ? std::string() : a.messages_file + ": ") + r.status().message());
    }
    text = std::move(r).value();
  } else if (a.no_think) {
    throw CliError("--no-think needs --chat or --messages (it is a chat-template switch)");
  }
  auto ids = tok->encode(text, /*add_special_tokens=*/false);
  if (!ids.ok()) throw CliError((a.file.empty() ? std::string() : a.file + ": ") + ids.status().message());
  if (a.json) {
    nlohmann::json out;
    out["ids"] = *ids;
    out["text"] = text;
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::string line;
    for (size_t i = 0; i < ids->size(); ++i) line += (i ? " " : "") + std::to_string((*ids)[i]);
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "text or a conversation -> token ids (Hugging Face parity)");
  cmd->add_option("-m,--model", args->model, "checkpoint or tokenizer directory, or embedded model name")->required();
  auto* p = cmd->add_option("-p,--prompt", args->prompt, "text to tokenize");
  auto* f = cmd->add_option("-f,--file", args->file, "file whose contents to tokenize");
  auto* m = cmd->add_option("--messages", args->messages_file, "JSON file: [{\"role\": ..., \"content\": ...}, ...]");
  p->excludes(f)->excludes(m);
  f->excludes(m);
  cmd->add_flag("--chat", args->chat, "render the prompt with the model's chat template first");
  cmd->add_flag("--no-think", args->no_think, "chat template with thinking disabled (Qwen3 enable_thinking=false)");
  cmd->add_flag("--json", args->json, "print {\"ids\": [...], \"text\": \"<rendered prompt>\"}");
  cmd->callback([args, p, f, m] {
    if (p->count() + f->count() + m->count() == 0) throw CliError("give one of -p TEXT, -f FILE or --messages FILE.json");
    run_tokenize(*args);
  });
}

}  // namespace swaa::cli
