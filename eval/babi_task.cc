// bAbI-like story task: people move between rooms and pick up, carry and drop objects; the story's
// sentences are spread through the haystack in order; the question asks where a person or an
// object is at the end. Person questions need the last of several moves; object questions need
// the carrier's last move after the pick-up (two hops). Tests: tests/unit/eval/generators_test.cc.
#include <map>
#include <optional>
#include <set>

#include "eval/task_util.h"
#include "eval/word_lists.h"

namespace swaa::eval::detail {
namespace {

// 4 people, 4 rooms, 2 objects and 12 events: short enough for small models, with 2-3 moves per
// person so the final location is never the only one mentioned.
constexpr int kPeople = 4, kRooms = 4, kObjects = 2, kEvents = 12;
constexpr int kBabiMaxTokens = 32;
constexpr int kAttempts = 20;

const std::vector<std::string> kFirstMoveVerbs = {"went to", "journeyed to", "travelled to", "moved to"};
const std::vector<std::string> kMoveVerbs = {"went to", "journeyed to", "travelled to", "moved to", "went back to"};
const std::vector<std::string> kTakeVerbs = {"picked up", "grabbed", "took"};
const std::vector<std::string> kDropVerbs = {"dropped", "put down", "left"};

struct Story {
  std::vector<std::string> sentences;
  std::map<std::string, std::string> person_room;
  std::map<std::string, int> moves;
  std::map<std::string, std::string> holder;       // object -> person (absent: not held)
  std::map<std::string, std::string> object_room;  // object -> room where dropped
  std::set<std::string> ever_carried;
};

// A random story of kEvents distinct sentences; every person starts by walking into a room.
Story make_story(Rng& rng, const std::vector<std::string>& people, const std::vector<std::string>& rooms,
                 const std::vector<std::string>& objects) {
  Story st;
  std::set<std::string> seen;
  auto add = [&](const std::string& s) { return seen.insert(s).second ? (st.sentences.push_back(s), true) : false; };
  for (const auto& p : people) {
    const std::string& r = rng.pick(rooms);
    add(p + " " + rng.pick(kFirstMoveVerbs) + " the " + r + ".");
    st.person_room[p] = r;
    st.moves[p] = 1;
  }
  while (static_cast<int>(st.sentences.size()) < kEvents) {
    const std::string& p = rng.pick(people);
    const uint64_t kind = rng.uniform(4);  // move twice as often as take or drop
    if (kind <= 1) {
      std::string r;
      do r = rng.pick(rooms); while (r == st.person_room[p]);
      if (add(p + " " + rng.pick(kMoveVerbs) + " the " + r + ".")) {
        st.person_room[p] = r;
        ++st.moves[p];
      }
    } else if (kind == 2) {
      const std::string& o = rng.pick(objects);
      if (st.holder.count(o)) continue;
      if (add(p + " " + rng.pick(kTakeVerbs) + " the " + o + ".")) {
        st.holder[o] = p;
        st.object_room.erase(o);
        st.ever_carried.insert(o);
      }
    } else {
      for (const auto& o : objects) {
        auto h = st.holder.find(o);
        if (h == st.holder.end() || h->second != p) continue;
        if (add(p + " " + rng.pick(kDropVerbs) + " the " + o + ".")) {
          st.object_room[o] = st.person_room[p];
          st.holder.erase(h);
        }
        break;
      }
    }
  }
  return st;
}

}  // namespace

Result<EvalSample> generate_babi(const TaskRequest& req, const TaskContext& ctx) {
  const bool ask_object = req.sample_idx % 2 == 1;  // alternate person and object questions
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t seed = derive_seed(req.seed, req.task, static_cast<uint64_t>(req.target_tokens),
                                      static_cast<uint64_t>(req.sample_idx) * kAttempts + attempt);
    Rng rng(seed);
    auto choose = [&](std::vector<std::string> all, int n) {
      rng.shuffle(all);
      all.resize(n);
      return all;
    };
    const auto people = choose(words::people(), kPeople);
    const auto rooms = choose(words::rooms(), kRooms);
    const auto objects = choose(words::objects(), kObjects);
    Story st = make_story(rng, people, rooms, objects);
    // The question: a person who moved at least twice, or an object that was carried (and so sits
    // with its carrier, or where it was dropped).
    std::string subject, answer;
    if (ask_object) {
      for (const auto& o : objects) {
        if (!st.ever_carried.count(o)) continue;
        subject = "the " + o;
        answer = st.holder.count(o) ? st.person_room[st.holder[o]] : st.object_room[o];
        break;
      }
    } else {
      for (const auto& p : people) {
        if (st.moves[p] < 2) continue;
        subject = p;
        answer = st.person_room[p];
        break;
      }
    }
    if (subject.empty()) continue;
    // Story sentences in order, spread evenly (one per stratum, jittered) over the context.
    std::vector<Insertion> ins;
    const size_t n_sent = st.sentences.size();
    for (size_t i = 0; i < n_sent; ++i) ins.push_back({(i + rng.uniform01()) / n_sent, st.sentences[i]});
    const std::string question = "Question: Where is " + subject + "?";
    Haystack hay = make_haystack(ctx, Haystack::Kind::kEssay, seed);
    auto build = [&](size_t n) {
      EvalSample s;
      s.user_text = "Below is a story about people moving between rooms and carrying objects, hidden in unrelated "
                    "text. Read it carefully and answer the question about the end of the story with the name of "
                    "a room.\n" + assemble(hay, n, ins) + "\n" + question;
      s.answer_prefix = "Answer: " + std::string(ask_object ? "The" + subject.substr(3) : subject) + " is in the";
      s.question = question;
      s.answers = {answer};
      s.metric = Metric::kSubstringAll;
      s.max_tokens = kBabiMaxTokens;
      s.depth = -1;
      return s;
    };
    SWAA_ASSIGN_OR_RETURN(EvalSample s, fit_sample(req, ctx, 2 * static_cast<size_t>(req.target_tokens) + 64, build));
    bool ok = true;
    for (const auto& sentence : st.sentences) ok = ok && count_occurrences(s.user_text, sentence) == 1;
    if (!ok) continue;
    return s;
  }
  return invalid_argument("babi: no story with a well-posed question after " + std::to_string(kAttempts) + " draws");
}

}  // namespace swaa::eval::detail
