// Word lists and the essay-like sentence generator (see word_lists.h).
#include "eval/word_lists.h"

namespace swaa::eval::words {
namespace {

using List = std::vector<std::string>;

const List kEssaySubjects = {
    "the founder", "a good idea", "the market", "every startup", "our school", "the investor",
    "a careful writer", "the program", "the city", "a small company", "the audience", "each generation",
    "the best teacher", "a young painter", "the committee", "the old library", "a new language",
    "the research group", "the average reader", "the local paper"};
const List kEssayVerbs = {
    "changes", "questions", "ignores", "explains", "improves", "follows", "rewards", "shapes",
    "describes", "resists", "borrows", "defends", "measures", "welcomes", "imitates", "forgets"};
const List kEssayObjects = {
    "the habits of its users", "an unpopular opinion", "the cost of waiting", "the rules of the game",
    "a quiet kind of ambition", "the shape of the argument", "what people actually want",
    "the value of good work", "the limits of planning", "a simpler explanation", "the first draft",
    "the price of attention", "the history of the field", "an honest question", "the slow part",
    "the obvious answer", "the needs of strangers", "a better tool", "the long view"};
const List kEssayAdverbials = {
    "more often than expected", "in the long run", "without much fuss", "for reasons nobody recalls",
    "at the worst moment", "with surprising patience", "in most cases", "almost by accident",
    "when nobody is watching", "year after year", "on a good day", "before anyone notices", ""};
const List kEssayOpeners = {
    "In practice", "Over time", "Looking back", "Oddly enough", "As a rule", "In the end",
    "At first", "For a while", "Even so", "Seen from outside"};
const List kEssayClaims = {
    "it is easy to forget", "few people admit", "it rarely matters", "history suggests",
    "most critics agree", "nobody really knows", "it seems plausible", "experience shows"};

std::string capitalize(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string join_clause(const std::string& a, const std::string& b) { return b.empty() ? a : a + " " + b; }

}  // namespace

const List& key_adjectives() {
  static const List v = {
      "amber",   "brisk",   "crimson", "dusty",   "eager",   "fuzzy",  "gentle", "hollow",  "icy",
      "jolly",   "keen",    "lunar",   "mellow",  "nimble",  "opal",   "plucky", "quirky",  "rustic",
      "silent",  "tawny",   "umber",   "vivid",   "wary",    "zesty",  "bold",   "cosmic",  "dapper",
      "feral",   "gilded",  "humble",  "ivory",   "jagged",  "lavish", "misty",  "noble",   "ornate",
      "pastel",  "regal",   "scarlet", "tidal",   "velvet",  "windy",  "azure",  "breezy",  "coral",
      "daring",  "frosty",  "glossy",  "hazy",    "lucky"};
  return v;
}

const List& key_nouns() {
  static const List v = {
      "otter",   "lantern", "glacier", "violin",  "compass", "falcon",  "meadow",  "pebble", "quartz",
      "raven",   "saddle",  "thistle", "walrus",  "anchor",  "beacon",  "canyon",  "dolphin", "ember",
      "fjord",   "gazelle", "harbor",  "iguana",  "jasmine", "kettle",  "lagoon",  "magnet", "nectar",
      "orchid",  "parrot",  "quiver",  "riddle",  "sparrow", "tundra",  "urchin",  "vortex", "willow",
      "yak",     "zephyr",  "badger",  "cactus",  "dune",    "ferret",  "geyser",  "heron",  "inkwell",
      "juniper", "koala",   "lynx",    "mantis",  "nebula"};
  return v;
}

std::string essay_sentence(Rng& rng) {
  switch (rng.uniform(4)) {
    case 0:
      return capitalize(join_clause(rng.pick(kEssaySubjects) + " " + rng.pick(kEssayVerbs) + " " +
                                        rng.pick(kEssayObjects),
                                    rng.pick(kEssayAdverbials))) + ".";
    case 1:
      return rng.pick(kEssayOpeners) + ", " + rng.pick(kEssaySubjects) + " " + rng.pick(kEssayVerbs) + " " +
             rng.pick(kEssayObjects) + ".";
    case 2:
      return capitalize(rng.pick(kEssayClaims)) + " that " + rng.pick(kEssaySubjects) + " " +
             rng.pick(kEssayVerbs) + " " + rng.pick(kEssayObjects) + ".";
    default:
      return capitalize(rng.pick(kEssaySubjects)) + " " + rng.pick(kEssayVerbs) + " " + rng.pick(kEssayObjects) +
             ", and " + rng.pick(kEssaySubjects) + " " + rng.pick(kEssayVerbs) + " " + rng.pick(kEssayObjects) + ".";
  }
}

const List& noise_sentences() {
  static const List v = {"The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.",
                         "There and back again."};
  return v;
}

const List& people() {
  static const List v = {"Mary", "John", "Sandra", "Daniel", "Fred", "Bill", "Julie", "Emily"};
  return v;
}
const List& rooms() {
  static const List v = {"kitchen", "garden", "hallway", "bathroom", "bedroom", "office", "cellar", "attic"};
  return v;
}
const List& objects() {
  static const List v = {"apple", "football", "milk", "umbrella", "key ring", "notebook"};
  return v;
}

std::string pseudo_word(uint64_t index) {
  static constexpr char kConsonants[] = "bdfgklmnprstvz";
  static constexpr char kVowels[] = "aeiou";
  std::string w;
  for (int s = 0; s < 3; ++s) {
    const uint64_t syllable = index % 70;
    index /= 70;
    w += kConsonants[syllable / 5];
    w += kVowels[syllable % 5];
  }
  return w;
}

}  // namespace swaa::eval::words
