// Token draws on the device (ops.h, draw_rows): TokenDraw's rule (src/sampling/token_draw.h) on
// each logits row without sorting it and without copying it to the host.
//
// Rank order is logit descending, ties by id ascending. Every step of the rule is a prefix of that
// order found by one "select": the first token at which the running count (top-k) or mass (top-p,
// the draw) of the candidates reaches a target. A select walks the 32-bit order-preserving key of
// the logit in four 8-bit digits: per digit, one pass over the row builds a 256-bin histogram (count
// and mass) of the candidates in the current bucket, and a scan of the bins in descending order
// picks the bin where the target falls. Tokens whose logit equals the boundary's are ordered by id
// in one more pass (only when several share it). Weights are exp2((logit - max) * log2(e) / T) in
// fp32, masses the integers floor(w * 2^44): sums are exact and independent of the order in which
// threads add them, so a seeded draw gives the same token on every run. A draw with top-p runs
// 1 + 4 + 4 passes (max, top-p, draw), with top-k 4 more.
//
// Each row is one thread-block cluster of 1-8 CTAs (more where there are few rows), each CTA a
// slice of the row; the CTAs combine their histograms through distributed shared memory and all
// of them make the same decisions. Within a warp, lanes whose tokens share a digit add up first
// (match + reduce), so one atomic per digit and warp reaches shared memory.
// Tests: tests/kernels/draw_kernel_test.cc (against an fp64 full-sort reference).
// Bench: bench/run_draw_bench.sh (next to PyTorch's sort-based sampling).
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <string>

#include "ops.h"

namespace swaa::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
constexpr int kBins = 256;
constexpr int kMaxCluster = 8;
constexpr float kMassScale = 0x1p44f;  // weights are <= 1: a row of 2^19 tokens sums below 2^63

struct CountMass {
  uint32_t count;
  unsigned long long mass;
};
__device__ __forceinline__ CountMass operator+(CountMass a, CountMass b) { return {a.count + b.count, a.mass + b.mass}; }
__device__ __forceinline__ CountMass operator-(CountMass a, CountMass b) { return {a.count - b.count, a.mass - b.mass}; }

struct Histogram {
  uint32_t mass[kBins][2];  // low and high words (64-bit shared atomics would be compare-and-swap loops)
  uint32_t count[kBins];
  uint32_t first_id[kBins];  // last digit only: the lowest id in the bin
};

// The candidates: tokens ranked at or before (key, id) whose weight is >= floor. NaN logits (key 0)
// are never candidates.
struct Candidates {
  uint32_t key = 0;
  int id = -1;
  float floor = 0.0f;
};

struct Shared {
  Histogram hist[2];  // alternate per level: the cluster reads one while the next is filled
  CountMass warp_sums[kWarps];
  unsigned long long warp_max[kWarps];
  // Set by one thread, read by every thread after a barrier (and by the cluster's other CTAs).
  unsigned long long cta_max;  // this CTA's best (key << 32 | ~id)
  CountMass cta_ties;          // this CTA's part of the tie pass
  int found;                   // the tie pass's boundary is in this CTA
  int found_id;
  uint32_t digit;              // the level's chosen digit
  CountMass above;             // candidates ranked before the chosen bin
  CountMass bin;               // the chosen bin
  uint32_t bin_first;
};

// Larger logit, larger key; -0 and +0 share one; NaN is 0.
__device__ __forceinline__ uint32_t rank_key(float v) {
  if (v != v) return 0;
  const uint32_t b = __float_as_uint(v == 0.0f ? 0.0f : v);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ __forceinline__ float key_value(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

struct Row {
  const float* x;
  int cols;
  int first, stride;  // this thread's first index and the cluster's stride
  float mx, scale;    // max logit, log2(e) / temperature
  __device__ float weight(float v) const { return exp2f((v - mx) * scale); }
};

constexpr uint32_t kNoDigit = 0xffffffffu;

// m += v on a 64-bit sum kept as two 32-bit words, with native 32-bit shared atomics.
__device__ __forceinline__ void add_mass(uint32_t (&m)[2], unsigned long long v) {
  const uint32_t lo = static_cast<uint32_t>(v);
  uint32_t hi = static_cast<uint32_t>(v >> 32);
  const uint32_t old = atomicAdd(&m[0], lo);
  if (old + lo < old) ++hi;  // the low word wrapped: carry
  if (hi != 0) atomicAdd(&m[1], hi);
}

__device__ __forceinline__ bool is_candidate(const Candidates& c, uint32_t k, int i) {
  return k != 0 && (k > c.key || (k == c.key && i <= c.id));
}

constexpr int kLoadBatch = 8;  // loads in flight per thread: each pass is L2-latency bound otherwise

// fn(v, i) for this thread's elements i = first + j x stride (v = NaN past the row's end), the loads
// of kLoadBatch of them issued before the first is used. Every lane of a warp makes the same calls.
template <typename Fn>
__device__ __forceinline__ void for_each_element(const Row& row, Fn&& fn) {
  for (int base = row.first; base - static_cast<int>(threadIdx.x % 32) < row.cols; base += kLoadBatch * row.stride) {
    float v[kLoadBatch];
#pragma unroll
    for (int j = 0; j < kLoadBatch; ++j) {
      const int i = base + j * row.stride;
      v[j] = i < row.cols ? __ldg(row.x + i) : __int_as_float(0x7fffffff);
    }
#pragma unroll
    for (int j = 0; j < kLoadBatch; ++j) fn(v[j], base + j * row.stride);
  }
}

__device__ __forceinline__ CountMass shfl_up(CountMass v, int o) {
  return {__shfl_up_sync(0xffffffffu, v.count, o), __shfl_up_sync(0xffffffffu, v.mass, o)};
}

// Exclusive prefix sum over the CTA's threads in thread order; *total = the sum of all.
__device__ CountMass block_exclusive_scan(CountMass v, Shared& s, CountMass* total) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  CountMass inc = v;
#pragma unroll
  for (int o = 1; o < 32; o *= 2) {
    const CountMass up = shfl_up(inc, o);
    if (lane >= o) inc = inc + up;
  }
  if (lane == 31) s.warp_sums[warp] = inc;
  __syncthreads();
  if (warp == 0) {
    CountMass w = s.warp_sums[lane];
#pragma unroll
    for (int o = 1; o < 32; o *= 2) {
      const CountMass up = shfl_up(w, o);
      if (lane >= o) w = w + up;
    }
    s.warp_sums[lane] = w;
  }
  __syncthreads();
  const CountMass before = warp > 0 ? s.warp_sums[warp - 1] : CountMass{0, 0};
  *total = s.warp_sums[kWarps - 1];
  __syncthreads();  // warp_sums is free for the next scan
  return before + inc - v;
}

// The cluster's best (key << 32 | ~id) over the row: the max logit and its lowest id.
__device__ unsigned long long row_max(const Row& row, Shared& s, cg::cluster_group& cluster) {
  unsigned long long best = 0;
  for_each_element(row, [&](float v, int i) {
    const unsigned long long c = (static_cast<unsigned long long>(rank_key(v)) << 32) | (0xffffffffu - i);
    if (i < row.cols) best = c > best ? c : best;
  });
#pragma unroll
  for (int o = 16; o > 0; o /= 2) {
    const unsigned long long other = __shfl_xor_sync(0xffffffffu, best, o);
    best = other > best ? other : best;
  }
  if (threadIdx.x % 32 == 0) s.warp_max[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    unsigned long long m = 0;
    for (int w = 0; w < kWarps; ++w) m = s.warp_max[w] > m ? s.warp_max[w] : m;
    s.cta_max = m;
  }
  cluster.sync();
  unsigned long long m = 0;
  for (unsigned r = 0; r < cluster.num_blocks(); ++r) {
    const unsigned long long c = *cluster.map_shared_rank(&s.cta_max, r);
    m = c > m ? c : m;
  }
  return m;
}

enum class Target { kCount, kMassFraction, kMassAt };

// The first candidate in rank order at which the running count (kCount: arg = k) or mass reaches
// the target (kMassFraction: ceil(arg x the candidates' mass), top-p; kMassAt: the token whose mass
// interval holds arg x the candidates' mass, the draw). Returns its key and id.
__device__ void select_boundary(const Row& row, const Candidates& cand, Target rule, double arg, Shared& s,
                       cg::cluster_group& cluster, int& parity, uint32_t* key_out, int* id_out) {
  const bool by_mass = rule != Target::kCount;
  uint32_t prefix = 0;
  CountMass above = {0, 0};
  unsigned long long need = 0;
  for (int level = 0; level < 4; ++level) {
    const int shift = 24 - 8 * level;
    Histogram& h = s.hist[parity];
    parity ^= 1;
    for (int b = threadIdx.x; b < kBins; b += kThreads) {
      h.mass[b][0] = h.mass[b][1] = 0;
      h.count[b] = 0;
      h.first_id[b] = UINT_MAX;
    }
    __syncthreads();
    // The lanes of a warp that share a digit add up their counts and masses first (most logits of a
    // row share the top digits), and one of them updates the bin.
    const int lane = threadIdx.x % 32;
    for_each_element(row, [&](float v, int i) {
      uint32_t d = kNoDigit;
      unsigned long long q = 0;  // the mass: w x 2^44, rounded down
      const uint32_t k = rank_key(v);  // 0 (no candidate) past the row's end
      if ((level == 0 || (k >> (shift + 8)) == prefix) && is_candidate(cand, k, i)) {
        const float w = row.weight(v);
        if (w >= cand.floor) d = (k >> shift) & 0xffu, q = __float2ull_rz(w * kMassScale);
      }
      const uint32_t peers = __match_any_sync(0xffffffffu, d);
      if (d == kNoDigit) return;
      // q < 2^45 in two 22/23-bit halves: 32 lanes' sums of each fit the 32-bit warp reduction.
      const uint32_t high = __reduce_add_sync(peers, static_cast<uint32_t>(q >> 22));
      const uint32_t low = __reduce_add_sync(peers, static_cast<uint32_t>(q & 0x3fffffu));
      if (lane == __ffs(peers) - 1) {
        atomicAdd(&h.count[d], static_cast<uint32_t>(__popc(peers)));
        add_mass(h.mass[d], (static_cast<unsigned long long>(high) << 22) + low);
        if (level == 3) atomicMin(&h.first_id[d], static_cast<uint32_t>(i));  // the lowest lane: the lowest id
      }
    });
    cluster.sync();
    // Thread t holds digit 255 - t summed over the cluster: the scan runs in rank order.
    CountMass bin = {0, 0};
    uint32_t first = UINT_MAX;
    if (threadIdx.x < kBins) {
      const int d = kBins - 1 - threadIdx.x;
      for (unsigned r = 0; r < cluster.num_blocks(); ++r) {
        const Histogram* rh = cluster.map_shared_rank(&h, r);
        bin.count += rh->count[d];
        bin.mass += (static_cast<unsigned long long>(rh->mass[d][1]) << 32) + rh->mass[d][0];
        first = min(first, rh->first_id[d]);
      }
    }
    CountMass total;
    const CountMass before = block_exclusive_scan(bin, s, &total);
    if (level == 0) {  // the candidates' count and mass: the target
      if (rule == Target::kCount) {
        need = min(static_cast<unsigned long long>(arg), static_cast<unsigned long long>(total.count));
      } else if (rule == Target::kMassFraction) {
        need = static_cast<unsigned long long>(ceil(arg * static_cast<double>(total.mass)));
      } else {
        need = static_cast<unsigned long long>(floor(arg * static_cast<double>(total.mass))) + 1;
      }
      const unsigned long long most = by_mass ? total.mass : total.count;
      need = max(1ull, min(need, most));
    }
    const unsigned long long want = need - (by_mass ? above.mass : above.count);
    const unsigned long long got = by_mass ? before.mass : before.count;
    const unsigned long long in_bin = by_mass ? bin.mass : bin.count;
    if (threadIdx.x < kBins && got < want && want <= got + in_bin) {
      s.digit = kBins - 1 - threadIdx.x;
      s.above = above + before;
      s.bin = bin;
      s.bin_first = first;
    }
    __syncthreads();
    prefix = (prefix << 8) | s.digit;
    above = s.above;
  }
  *key_out = prefix;
  if (s.bin.count == 1) {
    *id_out = static_cast<int>(s.bin_first);
    return;
  }
  *id_out = static_cast<int>(s.bin_first);
  // Several candidates share the boundary's logit: they rank by id. Global thread g takes ids
  // [g * chunk, (g + 1) * chunk); a scan over the cluster finds the thread whose ids reach the target.
  const int g = static_cast<int>(cluster.block_rank()) * kThreads + threadIdx.x;
  const int chunk = (row.cols + row.stride - 1) / row.stride;
  const int lo = min(row.cols, g * chunk), hi = min(row.cols, lo + chunk);
  auto tie = [&](int i, CountMass* add) {
    const float v = row.x[i];
    const uint32_t k = rank_key(v);
    if (k != prefix || !is_candidate(cand, k, i)) return false;
    const float w = row.weight(v);
    if (w < cand.floor) return false;
    *add = {1, __float2ull_rz(w * kMassScale)};
    return true;
  };
  CountMass mine = {0, 0}, add;
  for (int i = lo; i < hi; ++i) {
    if (tie(i, &add)) mine = mine + add;
  }
  CountMass cta_total;
  const CountMass in_cta = block_exclusive_scan(mine, s, &cta_total);
  if (threadIdx.x == 0) {
    s.cta_ties = cta_total;
    s.found = 0;
  }
  cluster.sync();
  CountMass before = in_cta;
  for (unsigned r = 0; r < cluster.block_rank(); ++r) before = before + *cluster.map_shared_rank(&s.cta_ties, r);
  const unsigned long long want = need - (by_mass ? above.mass : above.count);
  unsigned long long got = by_mass ? before.mass : before.count;
  if (got < want && want <= got + (by_mass ? mine.mass : mine.count)) {
    for (int i = lo; i < hi; ++i) {
      if (!tie(i, &add)) continue;
      got += by_mass ? add.mass : add.count;
      if (got >= want) {
        s.found_id = i;
        s.found = 1;
        break;
      }
    }
  }
  cluster.sync();
  for (unsigned r = 0; r < cluster.num_blocks(); ++r) {
    if (*cluster.map_shared_rank(&s.found, r)) *id_out = *cluster.map_shared_rank(&s.found_id, r);
  }
}

__global__ void __launch_bounds__(kThreads) draw_rows_kernel(const float* x, int cols, const DrawRow* draws,
                                                             int32_t* out) {
  cg::cluster_group cluster = cg::this_cluster();
  __shared__ Shared s;
  const int r = static_cast<int>(blockIdx.x / cluster.num_blocks());
  const DrawRow d = draws[r];
  Row row;
  row.x = x + static_cast<int64_t>(r) * cols;
  row.cols = cols;
  row.first = static_cast<int>(cluster.block_rank()) * kThreads + threadIdx.x;
  row.stride = static_cast<int>(cluster.num_blocks()) * kThreads;
  const unsigned long long best = row_max(row, s, cluster);
  const int argmax = static_cast<int>(0xffffffffu - static_cast<uint32_t>(best & 0xffffffffu));
  row.mx = key_value(static_cast<uint32_t>(best >> 32));
  int token = argmax;
  const bool greedy = d.temperature == 0.0f || d.top_k == 1;
  if (!greedy && isfinite(row.mx)) {
    row.scale = 1.4426950408889634f / d.temperature;
    Candidates cand;
    int parity = 0;
    uint32_t key;
    int id;
    if (d.top_k > 0 && d.top_k < cols) {
      select_boundary(row, cand, Target::kCount, d.top_k, s, cluster, parity, &key, &id);
      cand.key = key, cand.id = id;
    }
    if (d.top_p < 1.0f) {
      select_boundary(row, cand, Target::kMassFraction, static_cast<double>(d.top_p), s, cluster, parity, &key, &id);
      cand.key = key, cand.id = id;
    }
    cand.floor = d.min_p;  // the best token's weight is exp2(0) = 1
    select_boundary(row, cand, Target::kMassAt, d.uniform, s, cluster, parity, &key, &id);
    token = id;
  }
  if (cluster.block_rank() == 0 && threadIdx.x == 0) out[r] = token;
  cluster.sync();  // no CTA leaves while another may read its shared memory
}

cudaStream_t st(void* s) { return static_cast<cudaStream_t>(s); }

// One thread per edit; a row holds at most one edit per token, so no two threads share a logit.
// The _rn intrinsics keep each operation IEEE-rounded on its own under --use_fast_math (no
// approximate division, no fused multiply-add): the host's apply_logit_edits bit for bit.
__global__ void apply_logit_edits_kernel(float* x, int64_t cols, const LogitEdit* edits, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const LogitEdit e = edits[i];
  float& v = x[e.row * cols + e.token];
  const float scaled = v > 0.f ? __fdiv_rn(v, e.repetition) : __fmul_rn(v, e.repetition);
  v = __fsub_rn(scaled, e.subtract);
}

}  // namespace

std::string apply_logit_edits(float* x, int64_t cols, const LogitEdit* edits, int n, void* stream) {
  if (n <= 0) return "";
  apply_logit_edits_kernel<<<(n + 255) / 256, 256, 0, st(stream)>>>(x, cols, edits, n);
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? "" : std::string("apply_logit_edits: ") + cudaGetErrorString(e);
}

std::string draw_rows(const float* x, int rows, int cols, const DrawRow* draws, int32_t* out, int num_sms,
                      void* stream) {
  if (rows == 0) return "";
  if (cols < 1 || cols > kMaxDrawCols) {
    return "draw_rows: cols must be in [1, " + std::to_string(kMaxDrawCols) + "], got " + std::to_string(cols);
  }
  cudaLaunchConfig_t cfg = {};
  cfg.blockDim = dim3(kThreads);
  cfg.stream = st(stream);
  cudaLaunchAttribute attr = {};
  attr.id = cudaLaunchAttributeClusterDimension;
  attr.val.clusterDim.x = 1;
  attr.val.clusterDim.y = 1;
  attr.val.clusterDim.z = 1;
  cfg.attrs = &attr;
  cfg.numAttrs = 1;
  // CTAs per row (one CTA fills an SM): as many as keep every row's cluster resident at once. A
  // cluster's CTAs share a GPC, so fewer clusters of 8 may fit than num_sms / 8 (on an H200, 16 rows
  // of 8 CTAs took twice as long as 1 row, as if in two waves).
  static std::atomic<int> resident[kMaxCluster + 1] = {};  // clusters of each size that fit at once (0: not asked)
  unsigned cluster = 1;
  for (unsigned c = 2; c <= kMaxCluster && static_cast<int64_t>(rows) * c <= num_sms; c *= 2) {
    if (resident[c] == 0) {
      cfg.gridDim = dim3(c * static_cast<unsigned>(num_sms / c));
      attr.val.clusterDim.x = c;
      int n = 0;
      if (cudaOccupancyMaxActiveClusters(&n, draw_rows_kernel, &cfg) != cudaSuccess) n = -1;
      resident[c] = n;
    }
    if (rows <= resident[c]) cluster = c;
  }
  cfg.gridDim = dim3(static_cast<unsigned>(rows) * cluster);
  attr.val.clusterDim.x = cluster;
  const cudaError_t e = cudaLaunchKernelEx(&cfg, draw_rows_kernel, x, cols, draws, out);
  if (e != cudaSuccess) return std::string("draw_rows: ") + cudaGetErrorString(e);
  return "";
}

}  // namespace swaa::cuda
