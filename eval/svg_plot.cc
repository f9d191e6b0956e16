// Accuracy-versus-time SVG (see svg_plot.h). Plain SVG 1.1 text, no scripts, no external fonts.
#include "eval/svg_plot.h"

#include <algorithm>
#include <cmath>

namespace swaa::eval {
namespace {

// Layout in pixels: plot area on the left, legend on the right.
constexpr double kWidth = 1060, kHeight = 560;
constexpr double kLeft = 78, kRight = 600, kTop = 78, kBottom = 482;
constexpr double kLegendX = 630, kLegendStep = 48;  // legend entries: 3 lines each
constexpr double kCharWidth = 7.4;  // ~12 px bold sans-serif, for label collision boxes
// Tableau 10: distinguishable, colour-blind friendly enough for 10 configurations.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v, int digits = 1) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string tick_label(double v, double step) {
  const int digits = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3;
  return num(v, digits);
}

std::string clip(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return s.substr(0, cut) + "...";
}

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const double top = std::ceil(hi / step - 1e-9) * step;  // the last tick covers hi
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= top + step * 1e-6; v += step) {
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

std::string accuracy_time_svg(const std::vector<SettingSummary>& summaries, const ReportInfo& info) {
  double max_t = 0, max_acc = 0;
  for (const auto& s : summaries) {
    max_t = std::max(max_t, s.prefill_seconds + s.decode_seconds);
    max_acc = std::max(max_acc, s.accuracy);
  }
  // Axes start at 0 so time ratios read off directly; accuracy tops out at 100, or lower when
  // every configuration scores low (so the points do not all sit on the axis).
  std::vector<double> xt = nice_ticks(0, max_t > 0 ? max_t * 1.08 : 1, 6);
  std::vector<double> yt = nice_ticks(0, std::min(100.0, std::max(10.0, max_acc * 1.15)), 5);
  const double x_max = xt.back(), y_max = yt.back();
  // 10 px inside the frame at the low ends, so points at 0 s or 0% stay off the frame line.
  auto px = [&](double t) { return kLeft + 10 + (kRight - kLeft - 10) * t / x_max; };
  auto py = [&](double a) { return kBottom - 10 - (kBottom - 10 - kTop) * a / y_max; };
  // The full-attention configuration, if any: the reference for speed-ups.
  const SettingSummary* full = nullptr;
  for (const auto& x : summaries) {
    if (!x.config.sliding_window_size) {
      full = &x;
      break;
    }
  }
  const double height = std::max(kHeight, kTop + 64 + kLegendStep * static_cast<double>(summaries.size()));

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kWidth, 0) + "\" height=\"" + num(height, 0) +
       "\" viewBox=\"0 0 " + num(kWidth, 0) + " " + num(height, 0) +
       "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + num(kLeft, 0) + "\" y=\"30\" font-size=\"18\" font-weight=\"bold\">Accuracy vs. time per SWAA configuration</text>\n";
  s += "<text x=\"" + num(kLeft, 0) + "\" y=\"50\" fill=\"#555\">" + esc(clip(info.model + " · " + info.questions, 140)) + "</text>\n";
  s += "<text x=\"" + num(kLeft, 0) + "\" y=\"66\" fill=\"#555\">" + esc(info.prompting) +
       " · up and to the left is better</text>\n";
  // Grid and ticks.
  for (double v : yt) {
    const double y = py(v);
    s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kRight) + "\" y2=\"" + num(y) +
         "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
         tick_label(v, yt.size() > 1 ? yt[1] - yt[0] : 1) + "</text>\n";
  }
  for (double v : xt) {
    const double x = px(v);
    s += "<line x1=\"" + num(x) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(x) + "\" y2=\"" + num(kBottom) +
         "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + num(x) + "\" y=\"" + num(kBottom + 18) + "\" text-anchor=\"middle\">" +
         tick_label(v, xt.size() > 1 ? xt[1] - xt[0] : 1) + "</text>\n";
  }
  s += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(kRight - kLeft) + "\" height=\"" +
       num(kBottom - kTop) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  s += "<text x=\"" + num((kLeft + kRight) / 2) + "\" y=\"" + num(kBottom + 42) +
       "\" text-anchor=\"middle\" font-size=\"13\">time in engine steps, prefill + decode (s)</text>\n";
  s += "<text transform=\"translate(24," + num((kTop + kBottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">accuracy (%)</text>\n";
  std::vector<Box> placed;  // label and marker boxes, for collision checks
  // Full attention's accuracy as the reference line.
  if (full != nullptr) {
    const SettingSummary& x = *full;
    const double y = py(x.accuracy);
    s += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kRight) + "\" y2=\"" + num(y) +
         "\" stroke=\"#888\" stroke-dasharray=\"6 4\"/>\n";
  }
  // Points first, then labels: each label takes the first candidate spot around its point that
  // stays inside the plot and overlaps no marker and no earlier label.
  std::vector<std::pair<double, double>> centers;
  for (size_t i = 0; i < summaries.size(); ++i) {
    const SettingSummary& x = summaries[i];
    const double cx = px(x.prefill_seconds + x.decode_seconds), cy = py(x.accuracy);
    centers.push_back({cx, cy});
    placed.push_back({cx - 7, cy - 7, cx + 7, cy + 7});
    s += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"7\" fill=\"" + kPalette[i % std::size(kPalette)] +
         "\" fill-opacity=\"0.85\" stroke=\"#222\" stroke-width=\"0.8\"><title>" + esc(x.name) + ": " +
         num(x.accuracy) + "% in " + num(x.prefill_seconds + x.decode_seconds, 2) + " s (" + esc(short_config(x.config)) +
         ")</title></circle>\n";
  }
  for (size_t i = 0; i < summaries.size(); ++i) {
    const SettingSummary& x = summaries[i];
    const auto [cx, cy] = centers[i];
    const double w = kCharWidth * static_cast<double>(x.name.size());
    Box best{cx + 10, cy - 19, cx + 10 + w, cy - 5};
    bool found = false;
    for (int ring = 0; ring < 12 && !found; ++ring) {
      const double dy = 14.0 * ring;
      for (const auto& [bx, by] : {std::pair{cx + 10, cy - 8 - dy}, std::pair{cx + 10, cy + 16 + dy},
                                   std::pair{cx - 10 - w, cy - 8 - dy}, std::pair{cx - 10 - w, cy + 16 + dy}}) {
        const Box b{bx, by - 11, bx + w, by + 3};
        if (b.x0 < kLeft + 2 || b.x1 > kRight - 2 || b.y0 < kTop + 2 || b.y1 > kBottom - 2) continue;
        if (std::any_of(placed.begin(), placed.end(), [&](const Box& o) { return o.overlaps(b); })) continue;
        best = b;
        found = true;
        break;
      }
    }
    placed.push_back(best);
    s += "<text x=\"" + num(best.x0) + "\" y=\"" + num(best.y1 - 3) + "\" fill=\"" + kPalette[i % std::size(kPalette)] +
         "\" font-weight=\"bold\">" + esc(x.name) + "</text>\n";
  }
  // Legend: name, configuration, accuracy, time and speed-up over full attention.
  auto speedup = [&](const SettingSummary& x) -> std::string {
    const double t = x.prefill_seconds + x.decode_seconds, tf = full ? full->prefill_seconds + full->decode_seconds : 0;
    if (full == nullptr || &x == full || !(t > 0) || !(tf > 0)) return "";
    return " (" + num(tf / t, 2) + "x vs full)";
  };
  s += "<text x=\"" + num(kLegendX) + "\" y=\"" + num(kTop + 4) + "\" font-weight=\"bold\" font-size=\"13\">configurations</text>\n";
  for (size_t i = 0; i < summaries.size(); ++i) {
    const SettingSummary& x = summaries[i];
    const double y = kTop + 28 + kLegendStep * static_cast<double>(i);
    s += "<circle cx=\"" + num(kLegendX + 7) + "\" cy=\"" + num(y - 4) + "\" r=\"6\" fill=\"" +
         kPalette[i % std::size(kPalette)] + "\" stroke=\"#222\" stroke-width=\"0.8\"/>\n";
    s += "<text x=\"" + num(kLegendX + 20) + "\" y=\"" + num(y) + "\" font-weight=\"bold\">" + esc(x.name) +
         "</text>\n";
    s += "<text x=\"" + num(kLegendX + 20) + "\" y=\"" + num(y + 15) + "\" fill=\"#555\" font-size=\"11\">" +
         esc(clip(short_config(x.config), 60)) + "</text>\n";
    s += "<text x=\"" + num(kLegendX + 20) + "\" y=\"" + num(y + 29) + "\" fill=\"#555\" font-size=\"11\">" +
         num(x.accuracy) + "% · " + num(x.prefill_seconds + x.decode_seconds, 2) + " s" + speedup(x) + "</text>\n";
  }
  if (full != nullptr) {
    const double y = kTop + 28 + kLegendStep * static_cast<double>(summaries.size());
    s += "<line x1=\"" + num(kLegendX) + "\" y1=\"" + num(y - 4) + "\" x2=\"" + num(kLegendX + 14) + "\" y2=\"" +
         num(y - 4) + "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n";
    s += "<text x=\"" + num(kLegendX + 20) + "\" y=\"" + num(y) + "\" fill=\"#555\">accuracy of " + esc(full->name) +
         " (full attention)</text>\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace swaa::eval
