// Times the SWAA attention kernels (kernels/cuda/swaa_attention.h) with CUDA events, L2 flushed
// before every timed launch, median of the repetitions; prints one JSON object per line.
// Shapes of issue 7: 32 query heads, 8 KV heads, D = 128, bf16, paged KV of 16-key blocks (prefill:
// consecutive blocks, as the engine allocates, and permuted for the TMA kernel's other row; decode:
// permuted).
// Prefill: one sequence of L prompt tokens; decode: batch of one generated token per sequence.
// Usage: attention_bench [--quick | --decode | --once | --decode-once B L | --prefill-once L |
//                        --causal-ab [PASSES] | --sliding-ab [PASSES] | --trace L [tile]]
//                        [--prefill | --decode-only].
// --causal-ab: the TMA prefill (the engine's on Hopper) on full causal attention only (8k, 32k,
// 128k), on the schedule prefill_tma_schedule picks and on each one forced, each timed after 2 s of
// back-to-back runs (run_causal_ab.sh alternates it with the cuDNN peer); with PASSES, the rows of
// each shape that many times, each pass starting one row later.
// --prefill-once L: one TMA prefill of full causal attention over L tokens on the engine's schedule
// (SWAA_PREFILL_SCHEDULE forces one), for ncu (prefill_l2.sh).
// --sliding-ab: the same settled timing on the SWAA masks (W = 2048, S = 0 and 100): the default
// (early setup + TMA store) against the plain kernel and each switch alone, on the rule's schedule
// and on each one forced.
// --trace L [tile|persistent]: the TMA prefill on full causal attention of L tokens, timed after 2 s
// as above, the traced kernel timed the same way, then one traced run's timestamps: where a query
// tile's time goes (prefill_trace.h).
// Env: SWAA_PREFILL_EARLY_SETUP=0 and SWAA_PREFILL_TMA_STORE=0 (the kernel's switches) apply to --trace.
// Env: SWAA_BENCH_FLUSH=write (the L2 flush, see Flush).
// Peers: bench/attention_peers.py; both: run_attention_bench.sh.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench_cuda.h"
#include "prefill_trace.h"
#include "swaa_attention.h"

namespace {

template <swaa::cuda::PrefillSchedule Schedule>  // the TMA prefill on one CTA schedule (A/B rows)
std::string tma_schedule(const swaa::cuda::AttentionParams& p, void* stream) {
  return swaa::cuda::attention_prefill_sm90_tma_schedule(p, Schedule, stream);
}

constexpr int kHeads = 32, kKvHeads = 8, kD = 128, kBlock = 16;

__global__ void fill_random(uint16_t* x, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13, h *= 3266489917u, h ^= h >> 16;
    const float f = (static_cast<float>(h & 0xffff) / 65536.f - 0.5f) * 4.f;  // uniform [-2, 2)
    x[i] = static_cast<uint16_t>(__float_as_uint(f) >> 16);
  }
}

struct Policy {
  const char* name;
  bool sliding;
  int W, S;
  bool fa_decode;
};

// Visible keys of a query at p (SWAA.md §2, prompt phase unless generated && fa_decode).
long long visible_keys(const Policy& pol, long long p, bool generated) {
  if (!pol.sliding || (generated && pol.fa_decode)) return p + 1;
  const long long wb = std::max(0LL, p - pol.W + 1);
  return (p + 1 - wb) + std::min<long long>(pol.S, wb);
}

// Reads n 16-byte words (a flush that leaves the L2 holding clean lines); writes only if the XOR of
// everything read is a value random data practically never gives, so the loads are not removed.
__global__ void read_all(const uint4* x, size_t n, uint4* sink) {
  uint4 acc = {0, 0, 0, 0};
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const uint4 v = x[i];
    acc.x ^= v.x, acc.y ^= v.y, acc.z ^= v.z, acc.w ^= v.w;
  }
  if (acc.x == 0x9e3779b9u && acc.y == 0x7f4a7c15u) *sink = acc;
}

// The L2 flush before each timed launch. kRead (the default): a 512 MB buffer is read, which leaves
// the L2 holding clean lines, as in a decode step, where the attention follows kernels that mostly
// read weights. kWrite (SWAA_BENCH_FLUSH=write; this benchmark's flush until 2026-12-03): a 512 MB
// memset, which leaves ~50 MB of dirty lines that the timed kernel's first misses write back, about
// 10 us charged to it (batch-8 decode at 8k: 79 us against 70). bench/attention_peers.py flushes the
// same way under the same variable.
enum class Flush { kRead, kWrite };

struct Gpu {
  void* flush = nullptr;
  size_t flush_bytes = 512ull << 20;  // > 50 MB L2, several times
  Flush flush_kind = Flush::kRead;
  EventPair events;
  Gpu() {
    CHECK_CUDA(cudaMalloc(&flush, flush_bytes + 16));
    CHECK_CUDA(cudaMemset(flush, 0x5a, flush_bytes + 16));
    const char* env = std::getenv("SWAA_BENCH_FLUSH");
    if (env != nullptr && std::strcmp(env, "write") == 0) flush_kind = Flush::kWrite;
  }
  const char* flush_name() const { return flush_kind == Flush::kRead ? "read" : "write"; }
  void flush_l2(int r) {
    if (flush_kind == Flush::kWrite) {
      CHECK_CUDA(cudaMemsetAsync(flush, r & 0xff, flush_bytes));
    } else {
      read_all<<<1056, 512>>>(static_cast<const uint4*>(flush), flush_bytes / 16,
                              reinterpret_cast<uint4*>(static_cast<char*>(flush) + flush_bytes));
      CHECK_CUDA(cudaGetLastError());
    }
  }
  // Median milliseconds of `fn` over reps (adaptive: ~1 s of timed work, 3..50 reps) after 1 warm-up;
  // with settle_ms, after running `fn` back to back for that long first (the clocks then are those of
  // sustained load, whatever ran before: run_causal_ab.sh).
  template <typename Fn>
  double time_ms(Fn fn, double settle_ms = 0) {
    fn();
    CHECK_CUDA(cudaDeviceSynchronize());
    for (float spent = 0; spent < settle_ms;) spent += events.ms(fn);
    std::vector<float> ms;
    float total = 0;
    for (int r = 0; r < 50 && (r < 3 || total < 1000.f); ++r) {
      flush_l2(r);
      const float t = events.ms(fn);
      ms.push_back(t);
      total += t;
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  }
};

template <typename T>
T* device_array(const std::vector<T>& h) {
  T* d = nullptr;
  CHECK_CUDA(cudaMalloc(&d, std::max<size_t>(1, h.size()) * sizeof(T)));
  CHECK_CUDA(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

// Caches of `num_seqs` sequences of `len` keys each; physical blocks in random order (`permuted`) or
// consecutive, as the engine's BlockPool hands them to a fresh sequence (lowest free ids first).
struct Batch {
  swaa::cuda::AttentionParams p;
  std::vector<void*> owned;
  ~Batch() {
    for (void* x : owned) cudaFree(x);
  }
};

void make_batch(Batch& b, int num_seqs, int len, int q_per_seq, const Policy& pol, std::mt19937& rng,
                bool permuted = true) {
  const int blocks_per_seq = (len + kBlock - 1) / kBlock;
  const size_t num_blocks = static_cast<size_t>(num_seqs) * blocks_per_seq;
  std::vector<int> perm(num_blocks);
  std::iota(perm.begin(), perm.end(), 0);
  if (permuted) std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int> cu(num_seqs + 1), pos, seqlen_k(num_seqs, len);
  std::vector<uint8_t> gen;
  for (int s = 0; s < num_seqs; ++s) {
    cu[s + 1] = cu[s] + q_per_seq;
    for (int t = len - q_per_seq; t < len; ++t) {
      pos.push_back(t);
      gen.push_back(q_per_seq == 1);  // decode batches: generated tokens; prefill: the prompt
    }
  }
  const size_t num_tokens = pos.size();
  const size_t kv_elems = num_blocks * kBlock * kKvHeads * kD, q_elems = num_tokens * kHeads * kD;
  uint16_t *q, *k, *v, *out;
  CHECK_CUDA(cudaMalloc(&q, q_elems * 2));
  CHECK_CUDA(cudaMalloc(&out, q_elems * 2));
  CHECK_CUDA(cudaMalloc(&k, kv_elems * 2));
  CHECK_CUDA(cudaMalloc(&v, kv_elems * 2));
  fill_random<<<1024, 256>>>(q, q_elems, 1);
  fill_random<<<1024, 256>>>(k, kv_elems, 2);
  fill_random<<<1024, 256>>>(v, kv_elems, 3);
  CHECK_CUDA(cudaGetLastError());
  auto& p = b.p;
  p = {};
  p.q = q, p.out = out, p.k_cache = k, p.v_cache = v;
  int* d_cu = device_array(cu);
  int* d_pos = device_array(pos);
  uint8_t* d_gen = device_array(gen);
  int* d_seqlen = device_array(seqlen_k);
  int* d_bt = device_array(perm);
  b.owned = {q, out, k, v, d_cu, d_pos, d_gen, d_seqlen, d_bt};
  p.cu_seqlens_q = d_cu, p.positions = d_pos, p.generated = d_gen, p.seqlen_k = d_seqlen, p.block_table = d_bt;
  p.num_seqs = num_seqs, p.num_tokens = static_cast<int>(num_tokens);
  p.max_seqlen_q = q_per_seq, p.max_seqlen_k = len;
  p.num_heads = kHeads, p.num_kv_heads = kKvHeads, p.head_dim = kD;
  p.block_size = kBlock, p.max_blocks = blocks_per_seq;
  p.num_slots = static_cast<long long>(num_blocks) * kBlock;
  p.sliding = pol.sliding, p.window = pol.W, p.keep_first = pol.S, p.fa_decode = pol.fa_decode;
  p.softmax_scale = 1.f / std::sqrt(static_cast<float>(kD));
}

void check_result(const std::string& err) {
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    std::exit(1);
  }
}

}  // namespace

// Decode attention for each batch and length: the heuristic's split count and a sweep around it
// (the windowed policy: batch 1 only).
void run_decode(Gpu& gpu, int sms, std::mt19937& rng, const std::vector<int>& batches, const std::vector<int>& lens) {
  const Policy decode_policies[] = {{"causal", false, 0, 0, false}, {"W2048_S100", true, 2048, 100, false}};
  for (int batch : batches) {
    for (int len : lens) {
      for (const Policy& pol : decode_policies) {
        Batch b;
        make_batch(b, batch, len, 1, pol, rng);
        const long long vis = batch * visible_keys(pol, len - 1, true);
        const double bytes = static_cast<double>(vis) * kKvHeads * kD * 2 * 2;
        const int heuristic = swaa::cuda::decode_num_splits(b.p, sms);
        std::vector<int> splits = {heuristic};
        std::vector<int> sweep;
        if (!pol.sliding) {
          sweep = batch == 1 ? std::vector<int>{8, 16, 24, 32, 48, 64} : std::vector<int>{1, 4, 8, 16, 32};
        } else if (batch == 1) {
          sweep = {2, 4, 8, 16};
        }
        for (int s : sweep) {
          if (s != heuristic) splits.push_back(s);
        }
        const int most = *std::max_element(splits.begin(), splits.end());
        void* ws = nullptr;
        CHECK_CUDA(cudaMalloc(&ws, swaa::cuda::decode_workspace_bytes(b.p, most) + 16));
        for (int s : splits) {
          const double ms = gpu.time_ms([&] { check_result(swaa::cuda::attention_decode(b.p, s, ws, nullptr)); });
          std::printf("{\"impl\":\"swaa\",\"op\":\"decode\",\"mask\":\"%s\",\"len\":%d,\"batch\":%d,\"splits\":%d,"
                      "\"heuristic\":%s,\"flush\":\"%s\",\"ms\":%.4f,\"gbps\":%.0f}\n",
                      pol.name, len, batch, s, s == heuristic ? "true" : "false", gpu.flush_name(), ms,
                      bytes / (ms * 1e-3) / 1e9);
          std::fflush(stdout);
        }
        CHECK_CUDA(cudaFree(ws));
      }
    }
  }
}

// A row of --causal-ab / --sliding-ab: the TMA prefill on the engine's schedule (no schedule) or a
// forced one, with the kernel's switches as given for its launches: early setup
// (SWAA_PREFILL_EARLY_SETUP), O stored by TMA (SWAA_PREFILL_TMA_STORE) and items prepared by the
// producer warp (SWAA_PREFILL_PREPARED, with the other two on), all on by default.
struct AbRow {
  const char* name;
  std::optional<swaa::cuda::PrefillSchedule> schedule;
  bool early = true, store = true, prepared = true;
};
std::string launch_ab_row(const AbRow& r, const swaa::cuda::AttentionParams& p) {
  const std::pair<const char*, bool> switches[] = {{"SWAA_PREFILL_EARLY_SETUP", r.early},
                                                    {"SWAA_PREFILL_TMA_STORE", r.store},
                                                    {"SWAA_PREFILL_PREPARED", r.prepared}};
  for (const auto& [name, on] : switches) {
    if (!on) setenv(name, "0", 1);
  }
  std::string err = r.schedule ? swaa::cuda::attention_prefill_sm90_tma_schedule(p, *r.schedule, nullptr)
                               : swaa::cuda::attention_prefill_sm90_tma(p, nullptr);
  for (const auto& [name, on] : switches) {
    if (!on) unsetenv(name);
  }
  return err;
}
// Every row on every mask at 8k, 32k and 128k (one sequence, consecutive blocks), each timed after
// 2 s of back-to-back runs; one JSON line per row. Each shape's rows `passes` times, pass k starting
// at row k (mod rows): a call's first timing read up to ~3% low at 8k (bench/attention_notes.md,
// "Persistent on every layer"), so with passes >= 2 no row is always first.
void run_settled_ab(Gpu& gpu, std::mt19937& rng, std::initializer_list<Policy> masks,
                    std::initializer_list<AbRow> rows, int passes) {
  // Every call compares the prepared-items kernel with the kernel before it.
  std::vector<AbRow> list(rows);
  list.push_back({"swaa_persist_unprepared", swaa::cuda::PrefillSchedule::kPersistent, true, true, false});
  const int n = static_cast<int>(list.size());
  for (int len : {8192, 32768, 131072}) {
    for (const Policy& pol : masks) {
      Batch b;
      make_batch(b, 1, len, len, pol, rng, false);
      long long vis = 0;
      for (long long t = 0; t < len; ++t) vis += visible_keys(pol, t, false);
      for (int pass = 0; pass < passes; ++pass) {
        for (int i = 0; i < n; ++i) {
          const AbRow& row = list[(pass + i) % n];
          const double ms = gpu.time_ms([&] { check_result(launch_ab_row(row, b.p)); }, 2000.0);
          std::printf("{\"impl\":\"%s\",\"op\":\"prefill\",\"mask\":\"%s\",\"len\":%d,\"settled\":true,"
                      "\"pass\":%d,\"ms\":%.4f,\"tflops\":%.1f}\n",
                      row.name, pol.name, len, pass, ms,
                      4.0 * kHeads * kD * static_cast<double>(vis) / (ms * 1e-3) / 1e12);
          std::fflush(stdout);
        }
      }
    }
  }
}

// PASSES of --causal-ab / --sliding-ab: argv[2] if given (1 to 10), else 1.
int ab_passes(int argc, char** argv) {
  if (argc < 3) return 1;
  const int v = std::atoi(argv[2]);
  if (v < 1 || v > 10) {
    std::fprintf(stderr, "attention_bench: %s takes a pass count of 1 to 10, got '%s'\n", argv[1], argv[2]);
    std::exit(2);
  }
  return v;
}

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  bool prefill_only = false, decode_only = false;
  for (int i = 1; i < argc; ++i) {
    prefill_only = prefill_only || std::strcmp(argv[i], "--prefill") == 0;
    decode_only = decode_only || std::strcmp(argv[i], "--decode-only") == 0;
  }
  if (argc > 3 && std::strcmp(argv[1], "--decode-once") == 0) {  // one decode at batch B, length L, for ncu
    std::mt19937 r1(1);
    Batch dec;
    make_batch(dec, std::atoi(argv[2]), std::atoi(argv[3]), 1, {"causal", false, 0, 0, false}, r1);
    int dev = 0, sms = 0;
    CHECK_CUDA(cudaGetDevice(&dev));
    CHECK_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    const int splits = swaa::cuda::decode_num_splits(dec.p, sms);
    void* ws = nullptr;
    CHECK_CUDA(cudaMalloc(&ws, swaa::cuda::decode_workspace_bytes(dec.p, splits) + 16));
    check_result(swaa::cuda::attention_decode(dec.p, splits, ws, nullptr));
    CHECK_CUDA(cudaDeviceSynchronize());
    std::printf("decode batch %s len %s: %d splits\n", argv[2], argv[3], splits);
    return 0;
  }
  if (argc > 2 && std::strcmp(argv[1], "--prefill-once") == 0) {  // one TMA prefill, full causal, for ncu
    const int len = std::atoi(argv[2]);
    if (len < 1) {
      std::fprintf(stderr, "attention_bench: --prefill-once takes a length >= 1, got '%s'\n", argv[2]);
      return 2;
    }
    std::mt19937 r1(1);
    Batch causal;
    make_batch(causal, 1, len, len, {"causal", false, 0, 0, false}, r1, false);
    check_result(swaa::cuda::attention_prefill_sm90_tma(causal.p, nullptr));
    CHECK_CUDA(cudaDeviceSynchronize());
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--once") == 0) {  // one launch of each kernel, for ncu
    std::mt19937 r1(1);
    Batch pre;
    make_batch(pre, 1, 32768, 32768, {"W2048_S100", true, 2048, 100, false}, r1, false);
    check_result(swaa::cuda::attention_prefill(pre.p, nullptr));
    check_result(swaa::cuda::attention_prefill_sm90_cp_async(pre.p, nullptr));
    check_result(swaa::cuda::attention_prefill_sm90_tma(pre.p, nullptr));
    Batch causal;
    make_batch(causal, 1, 8192, 8192, {"causal", false, 0, 0, false}, r1, false);
    check_result(swaa::cuda::attention_prefill(causal.p, nullptr));
    check_result(swaa::cuda::attention_prefill_sm90_cp_async(causal.p, nullptr));
    check_result(swaa::cuda::attention_prefill_sm90_tma(causal.p, nullptr));
    Batch dec;
    make_batch(dec, 8, 131072, 1, {"causal", false, 0, 0, false}, r1);
    void* ws = nullptr;
    CHECK_CUDA(cudaMalloc(&ws, swaa::cuda::decode_workspace_bytes(dec.p, 4)));
    check_result(swaa::cuda::attention_decode(dec.p, 4, ws, nullptr));
    CHECK_CUDA(cudaDeviceSynchronize());
    return 0;
  }
  Gpu gpu;
  int dev = 0, sms = 0;
  CHECK_CUDA(cudaGetDevice(&dev));
  CHECK_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, dev));
  std::printf("{\"device\":\"%s\",\"sms\":%d}\n", prop.name, sms);
  std::mt19937 rng(1);
  if (argc > 1 && std::strcmp(argv[1], "--decode") == 0) {  // decode only, batch 1 and 8
    run_decode(gpu, sms, rng, {1, 8}, {8192, 32768, 131072});
    return 0;
  }
  using S = swaa::cuda::PrefillSchedule;
  const Policy policies[] = {{"causal", false, 0, 0, false}, {"W2048_S0", true, 2048, 0, false},
                             {"W2048_S100", true, 2048, 100, false}};
  if (argc > 2 && std::strcmp(argv[1], "--trace") == 0) {
    const int len = std::atoi(argv[2]);
    const bool tile = argc > 3 && std::strcmp(argv[3], "tile") == 0;
    const auto schedule = tile ? swaa::cuda::PrefillSchedule::kPerTile : swaa::cuda::PrefillSchedule::kPersistent;
    Batch b;
    make_batch(b, 1, len, len, policies[0], rng, false);
    swaa::cuda::PrefillTrace trace = swaa::cuda::prefill_trace_shape(b.p, schedule);
    const size_t words = trace.grid * swaa::cuda::prefill_trace_cta_words(trace.rounds);
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&trace.records), words * sizeof(unsigned long long)));
    auto launch = [&](const swaa::cuda::PrefillTrace* t) {
      check_result(swaa::cuda::attention_prefill_sm90_tma_schedule(b.p, schedule, nullptr, t));
    };
    const double ms = gpu.time_ms([&] { launch(nullptr); }, 2000.0);
    // Settled too, so the two compare: timed unsettled right after the plain kernel's settled run,
    // the traced kernel came out 2-8% faster (2026-12-03).
    const double ms_traced = gpu.time_ms([&] { launch(&trace); }, 2000.0);
    CHECK_CUDA(cudaMemset(trace.records, 0, words * sizeof(unsigned long long)));
    launch(&trace);
    std::vector<unsigned long long> rec(words);
    CHECK_CUDA(cudaMemcpy(rec.data(), trace.records, words * sizeof(unsigned long long), cudaMemcpyDeviceToHost));
    swaa::bench::print_prefill_trace(rec, trace, tile ? "tile" : "persistent", len, ms, ms_traced);
    CHECK_CUDA(cudaFree(trace.records));
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--causal-ab") == 0) {
    // The engine's choice (prefill_tma_schedule), each schedule forced, the plain kernel.
    run_settled_ab(gpu, rng, {policies[0]},
                   {{"swaa", std::nullopt},
                    {"swaa_tile", S::kPerTile},
                    {"swaa_persist", S::kPersistent},
                    {"swaa_tile_plain", S::kPerTile, false, false},
                    {"swaa_persist_plain", S::kPersistent, false, false}},
                   ab_passes(argc, argv));
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--sliding-ab") == 0) {
    // The same on the SWAA masks, plus each switch alone.
    run_settled_ab(gpu, rng, {policies[1], policies[2]},
                   {{"swaa", std::nullopt},
                    {"swaa_plain", std::nullopt, false, false},
                    {"swaa_tile", S::kPerTile},
                    {"swaa_persist", S::kPersistent},
                    {"swaa_persist_early", S::kPersistent, true, false},
                    {"swaa_persist_store", S::kPersistent, false, true}},
                   ab_passes(argc, argv));
    return 0;
  }

  const std::vector<int> prefill_lens =
      decode_only ? std::vector<int>{} : quick ? std::vector<int>{8192} : std::vector<int>{8192, 32768, 131072};
  for (int len : prefill_lens) {
    for (const Policy& pol : policies) {
      Batch b;
      make_batch(b, 1, len, len, pol, rng, false);
      long long vis = 0;
      for (long long t = 0; t < len; ++t) vis += visible_keys(pol, t, false);
      const double ms = gpu.time_ms([&] { check_result(swaa::cuda::attention_prefill(b.p, nullptr)); });
      const double tflops = 4.0 * kHeads * kD * static_cast<double>(vis) / (ms * 1e-3) / 1e12;
      std::printf("{\"impl\":\"swaa\",\"op\":\"prefill\",\"mask\":\"%s\",\"len\":%d,\"flush\":\"%s\",\"ms\":%.4f,"
                  "\"tflops\":%.1f}\n",
                  pol.name, len, gpu.flush_name(), ms, tflops);
      // The Hopper kernels, where they launch (an error is reported, not fatal: a machine without
      // them): cp.async, TMA on consecutive blocks (the engine's), TMA on permuted blocks, and TMA
      // forced onto each CTA schedule (the default picks one per mask: prefill_tma_schedule).
      Batch perm;
      make_batch(perm, 1, len, len, pol, rng, true);
      using Launch = std::string (*)(const swaa::cuda::AttentionParams&, void*);
      const struct {
        const char* name;
        Launch launch;
        const swaa::cuda::AttentionParams& p;
      } hopper[] = {{"swaa_sm90", swaa::cuda::attention_prefill_sm90_cp_async, b.p},
                    {"swaa_tma", swaa::cuda::attention_prefill_sm90_tma, b.p},
                    {"swaa_tma_perm", swaa::cuda::attention_prefill_sm90_tma, perm.p},
                    {"swaa_tma_tile", tma_schedule<swaa::cuda::PrefillSchedule::kPerTile>, b.p},
                    {"swaa_tma_persist", tma_schedule<swaa::cuda::PrefillSchedule::kPersistent>, b.p}};
      for (const auto& h : hopper) {
        const char* name = h.name;
        auto run = [&h] { return h.launch(h.p, nullptr); };
        const std::string err = run();
        const cudaError_t sync = cudaDeviceSynchronize();
        if (!err.empty() || sync != cudaSuccess) {
          std::printf("{\"impl\":\"%s\",\"op\":\"prefill\",\"mask\":\"%s\",\"len\":%d,\"error\":\"%s\"}\n", name,
                      pol.name, len, err.empty() ? cudaGetErrorString(sync) : err.c_str());
          if (sync != cudaSuccess) std::exit(1);  // the context is gone after a device fault
          continue;
        }
        const double mh = gpu.time_ms([&] { check_result(run()); });
        std::printf("{\"impl\":\"%s\",\"op\":\"prefill\",\"mask\":\"%s\",\"len\":%d,\"ms\":%.4f,\"tflops\":%.1f}\n",
                    name, pol.name, len, mh, 4.0 * kHeads * kD * static_cast<double>(vis) / (mh * 1e-3) / 1e12);
      }
      std::fflush(stdout);
    }
  }

  if (prefill_only) return 0;
  run_decode(gpu, sms, rng, {8}, quick ? std::vector<int>{8192} : std::vector<int>{8192, 16384, 32768, 65536, 131072});
  return 0;
}
