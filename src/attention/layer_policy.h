// SwaaConfig -> one LayerPolicy per layer, and the mask rule of ../shared/SWAA.md §2.
// This header is the single CPU-side definition of "which key may a query see"; the CPU attention
// op, the KV retention rule and the tests all call `key_visible` / `visible_ranges`.
// Tests: tests/unit/attention/layer_policy_test.cc
#pragma once

#include <string>
#include <vector>

#include "swaa/status.h"
#include "swaa/swaa_config.h"

namespace swaa {

struct LayerPolicy {
  bool sliding = false;    // W is set and the layer is not in non_sliding_layers
  int window = 0;          // W (keys, counting the query); meaningful when sliding
  int keep_first = 0;      // S; meaningful when sliding
  bool fa_decode = false;  // generated tokens see every past key

  // True when this layer's KV older than the window (and not a sink) is never read again:
  // such layers form the "windowed" KV group, whose out-of-window blocks are released.
  bool windowed_kv() const { return sliding && !fa_decode; }
  bool operator==(const LayerPolicy&) const = default;
};

// Resolves per-layer policies for a model of `num_layers` layers. Layer indices >= num_layers are
// ignored with one warning (published settings list layers of the largest model of a family).
Result<std::vector<LayerPolicy>> resolve_layer_policies(const SwaaConfig& config, int num_layers);

// The mask rule: may a query at absolute position `query_pos` see key position `key_pos`?
// `generated` is the phase of the query token (true for tokens produced by generation).
inline bool key_visible(const LayerPolicy& policy, int query_pos, int key_pos, bool generated) {
  if (key_pos > query_pos) return false;
  if (!policy.sliding || (generated && policy.fa_decode)) return true;
  return key_pos > query_pos - policy.window || key_pos < policy.keep_first;
}

// The visible keys of one query as at most two disjoint ascending ranges [begin, end):
// the sinks [0, min(S, window_begin)) and the window [window_begin, query_pos + 1).
struct KeyRanges {
  int sink_end = 0;      // keys [0, sink_end) are visible
  int window_begin = 0;  // keys [window_begin, window_end) are visible; sink_end <= window_begin
  int window_end = 0;
  int num_keys() const { return sink_end + (window_end - window_begin); }
};
KeyRanges visible_ranges(const LayerPolicy& policy, int query_pos, bool generated);

}  // namespace swaa
