// Shared pieces of the SWAA training kernels (attention_train_fwd.cu, attention_train_bwd.cu): the
// element rule of the training mask and the keys every row of a query tile sees (tiles that need no
// per-element mask). Tests: tests/kernels/attention_train_test.cc.
#pragma once

namespace swaa::cuda::train {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Does row t (local position; a prompt row iff t < prompt_len) see key j? SWAA.md §2 with §4's split.
template <class P>
__device__ __forceinline__ bool train_visible(const P& p, int t, int j, int prompt_len) {
  return j <= t && (!p.sliding || (p.fa_decode && t >= prompt_len) || j > t - p.window || j < p.keep_first);
}

// Keys that every row of [m0, m0 + rows) sees: [0, end) is causal for all of them (the first row's
// end), and a key of a sliding layer is also inside every windowed row's window when >= window_begin,
// or among every windowed row's sinks when < sink_end. A key tile [k0, k0 + n) needs no per-element
// mask iff k0 + n <= end && (k0 >= window_begin || k0 + n <= sink_end).
struct AllVisible {
  int end;
  int window_begin;
  int sink_end;
};
template <class P>
__device__ __forceinline__ AllVisible train_all_visible(const P& p, int m0, int rows, int prompt_len) {
  AllVisible a{m0 + 1, 0, 0x7fffffff};
  if (!p.sliding) return a;
  const int last_windowed = (p.fa_decode ? min(m0 + rows, max(prompt_len, 0)) : m0 + rows) - 1;
  if (last_windowed >= m0) {
    a.window_begin = max(0, last_windowed - p.window + 1);
    a.sink_end = min(p.keep_first, max(0, m0 - p.window + 1));
  }
  return a;
}

}  // namespace swaa::cuda::train
