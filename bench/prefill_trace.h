// Summary of one traced launch of the TMA prefill (swaa_attention.h, PrefillTrace), for
// attention_bench --trace: where a query tile's time goes, per consumer warpgroup and item, in
// clock cycles and as a multiple of the time one more key tile takes in the main loop.
//   q_copy       item start -> its Q rows in shared memory (cp.async, then a warpgroup barrier)
//   first_scores Q ready -> S of the first key tile (waits for that tile, one Q K^T without overlap)
//   loop         first S -> the last tile's S and softmax done (tiles - 1 overlapped steps)
//   last_pv      -> the last P V done (waits for that V tile, no overlap)
//   store        -> O written (normalised, converted, stored)
//   between      O written -> the next item's start (its key ranges, the item walk)
// (With early setup, the default, an item starts at the top of the item loop, so q_copy holds the
// whole setup and between is ~0; the fixed cost compares across the two.)
// and per CTA: its SM, span (globaltimer), and how long it idled after its last item while others
// still ran (the grid's tail).
#pragma once

#include <algorithm>
#include <cstdio>
#include <vector>

#include "swaa_attention.h"

namespace swaa::bench {

struct TraceTotals {
  double q_copy = 0, first_scores = 0, loop = 0, last_pv = 0, store = 0, between = 0;
  long long items = 0, loop_tiles = 0, tiles = 0, betweens = 0;
};

inline void print_prefill_trace(const std::vector<unsigned long long>& rec, const cuda::PrefillTrace& shape,
                                const char* schedule, int len, double ms_plain, double ms_traced) {
  using namespace swaa::cuda;
  const size_t cta_words = prefill_trace_cta_words(shape.rounds);
  TraceTotals t;
  unsigned long long first_start = ~0ull, last_end = 0;
  std::vector<double> idle_tail;  // ns each CTA ended before the last one
  double cycles = 0, ns = 0;      // for the clock rate
  std::vector<unsigned long long> ends;
  for (int c = 0; c < shape.grid; ++c) {
    const unsigned long long* h = rec.data() + c * cta_words;
    const unsigned long long end = std::max(h[kTraceEndNs], h[kTraceEndNs + 1]);
    first_start = std::min(first_start, h[kTraceStartNs]);
    last_end = std::max(last_end, end);
    ends.push_back(end);
    unsigned long long last_clock = 0;
    for (int wg = 0; wg < 2; ++wg) {
      const unsigned long long* prev = nullptr;
      for (int k = 0; k < shape.rounds; ++k) {
        const unsigned long long* e = h + kTraceHeaderWords + (static_cast<size_t>(wg) * shape.rounds + k) * kTraceItemWords;
        if (e[kTraceTiles] == 0) continue;
        const long long tiles = static_cast<long long>(e[kTraceTiles]);
        t.q_copy += static_cast<double>(e[kTraceQReady] - e[kTraceItemStart]);
        t.first_scores += static_cast<double>(e[kTraceFirstScores] - e[kTraceQReady]);
        t.loop += static_cast<double>(e[kTraceLoopDone] - e[kTraceFirstScores]);
        t.last_pv += static_cast<double>(e[kTraceLastProduct] - e[kTraceLoopDone]);
        t.store += static_cast<double>(e[kTraceStored] - e[kTraceLastProduct]);
        if (prev != nullptr) {
          t.between += static_cast<double>(e[kTraceItemStart] - prev[kTraceStored]);
          ++t.betweens;
        }
        ++t.items;
        t.tiles += tiles;
        t.loop_tiles += tiles - 1;
        prev = e;
        last_clock = std::max(last_clock, e[kTraceStored]);
      }
    }
    if (last_clock > h[kTraceStartClock] && end > h[kTraceStartNs]) {
      cycles += static_cast<double>(last_clock - h[kTraceStartClock]);
      ns += static_cast<double>(end - h[kTraceStartNs]);
    }
  }
  for (unsigned long long e : ends) idle_tail.push_back(static_cast<double>(last_end - e));
  std::sort(idle_tail.begin(), idle_tail.end());
  const double per_tile = t.loop_tiles > 0 ? t.loop / t.loop_tiles : 0;  // cycles per overlapped tile step
  const double n = t.items > 0 ? static_cast<double>(t.items) : 1;
  const double mean_tiles = t.tiles / n;
  const double between = t.betweens > 0 ? t.between / t.betweens : 0;
  const double item = (t.q_copy + t.first_scores + t.loop + t.last_pv + t.store) / n + between;
  const double fixed = item - mean_tiles * per_tile;
  const double unit = per_tile > 0 ? per_tile : 1;  // items of one tile have no loop to time
  const double ghz = ns > 0 ? cycles / ns : 0;
  const double idle_mean = idle_tail.empty() ? 0 : [&] {
    double s = 0;
    for (double v : idle_tail) s += v;
    return s / idle_tail.size();
  }();
  std::printf(
      "{\"trace\":\"prefill_tma\",\"schedule\":\"%s\",\"len\":%d,\"grid\":%d,\"items\":%lld,\"ms\":%.4f,"
      "\"ms_traced\":%.4f,\"ghz\":%.3f,\"mean_tiles\":%.2f,\"tile_cycles\":%.0f,\"q_copy\":%.0f,"
      "\"first_scores\":%.0f,\"last_pv\":%.0f,\"store\":%.0f,\"between\":%.0f,\"fixed_cycles\":%.0f,"
      "\"fixed_tiles\":%.2f,\"span_us\":%.1f,\"tail_idle_mean_us\":%.2f,\"tail_idle_max_us\":%.2f}\n",
      schedule, len, shape.grid, t.items / 2, ms_plain, ms_traced, ghz, mean_tiles, per_tile, t.q_copy / n,
      t.first_scores / n, t.last_pv / n, t.store / n, between, fixed, fixed / unit,
      (last_end - first_start) / 1e3, idle_mean / 1e3, idle_tail.empty() ? 0 : idle_tail.back() / 1e3);
  std::printf(
      "# %s %d: %lld items of %.1f key tiles on %d CTAs; one more tile %.0f cycles; per item and warpgroup, cycles (tiles):\n"
      "#   q_copy %.0f (%.2f)  first_scores %.0f (%.2f)  last_pv %.0f (%.2f)  store %.0f (%.2f)  between %.0f (%.2f)\n"
      "#   fixed cost %.0f cycles = %.2f tile times; grid tail: CTAs idle %.2f us on average, %.2f at most, of %.1f us\n",
      schedule, len, t.items / 2, mean_tiles, shape.grid, per_tile, t.q_copy / n, t.q_copy / n / unit,
      t.first_scores / n, t.first_scores / n / unit, t.last_pv / n, t.last_pv / n / unit, t.store / n,
      t.store / n / unit, between, between / unit, fixed, fixed / unit, idle_mean / 1e3,
      idle_tail.empty() ? 0 : idle_tail.back() / 1e3, (last_end - first_start) / 1e3);
}

}  // namespace swaa::bench
