// Plain fp64 loops over the full [T, T] score matrix of each (sequence, head); clarity over speed.
#include "reference/attention_train_reference.h"

#include <algorithm>
#include <cmath>

#include "reference/reference_model.h"

namespace swaa::reference {
namespace {

// Softmax probabilities of one (sequence, query head): p[i * T + j], 0 where row i may not see key j.
struct HeadProbs {
  int begin = 0, T = 0, kv_head = 0;
  std::vector<double> p;    // [T, T]
  std::vector<double> lse;  // [T]
};

double dot(const double* a, const double* b, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

HeadProbs head_probs(const TrainBatch& b, const std::vector<double>& q, const std::vector<double>& k, int seq,
                     int head) {
  const int H = b.num_heads, KH = b.num_kv_heads, D = b.head_dim;
  HeadProbs hp;
  hp.begin = b.cu_seqlens[seq];
  hp.T = b.cu_seqlens[seq + 1] - hp.begin;
  hp.kv_head = head / (H / KH);
  const int T = hp.T;
  hp.p.assign(static_cast<size_t>(T) * T, 0.0);
  hp.lse.assign(T, 0.0);
  for (int i = 0; i < T; ++i) {
    double mx = -INFINITY;
    for (int j = 0; j < T; ++j) {
      if (!visible(b.swaa, b.layer, i, j, b.prompt_lens[seq])) continue;
      const double* qi = &q[(static_cast<size_t>(hp.begin + i) * H + head) * D];
      const double* kj = &k[(static_cast<size_t>(hp.begin + j) * KH + hp.kv_head) * D];
      hp.p[i * T + j] = dot(qi, kj, D) * b.softmax_scale;
      mx = std::max(mx, hp.p[i * T + j]);
    }
    double den = 0;
    for (int j = 0; j < T; ++j) {
      if (visible(b.swaa, b.layer, i, j, b.prompt_lens[seq])) den += std::exp(hp.p[i * T + j] - mx);
    }
    for (int j = 0; j < T; ++j) {
      const bool vis = visible(b.swaa, b.layer, i, j, b.prompt_lens[seq]);
      hp.p[i * T + j] = vis ? std::exp(hp.p[i * T + j] - mx) / den : 0.0;
    }
    hp.lse[i] = mx + std::log(den);  // every row sees its own key: den >= 1
  }
  return hp;
}

}  // namespace

TrainForward train_attention_forward(const TrainBatch& b, const std::vector<double>& q,
                                     const std::vector<double>& k, const std::vector<double>& v) {
  const int H = b.num_heads, KH = b.num_kv_heads, D = b.head_dim, N = b.num_tokens();
  TrainForward f;
  f.out.assign(static_cast<size_t>(N) * H * D, 0.0);
  f.lse.assign(static_cast<size_t>(H) * N, 0.0);
  for (int s = 0; s < b.num_seqs(); ++s) {
    for (int h = 0; h < H; ++h) {
      const HeadProbs hp = head_probs(b, q, k, s, h);
      for (int i = 0; i < hp.T; ++i) {
        double* out = &f.out[(static_cast<size_t>(hp.begin + i) * H + h) * D];
        for (int j = 0; j < hp.T; ++j) {
          const double pij = hp.p[i * hp.T + j];
          const double* vj = &v[(static_cast<size_t>(hp.begin + j) * KH + hp.kv_head) * D];
          for (int d = 0; d < D; ++d) out[d] += pij * vj[d];
        }
        f.lse[static_cast<size_t>(h) * N + hp.begin + i] = hp.lse[i];
      }
    }
  }
  return f;
}

// With S = scale Q K^T, P = softmax(S) row-wise over the visible keys, O = P V and L = sum(O * dO):
// dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(P * dP)), dQ = scale dS K, dK = scale dS^T Q.
TrainGrads train_attention_backward(const TrainBatch& b, const std::vector<double>& q, const std::vector<double>& k,
                                    const std::vector<double>& v, const std::vector<double>& dout) {
  const int H = b.num_heads, KH = b.num_kv_heads, D = b.head_dim, N = b.num_tokens();
  TrainGrads g;
  g.dq.assign(static_cast<size_t>(N) * H * D, 0.0);
  g.dk.assign(static_cast<size_t>(N) * KH * D, 0.0);
  g.dv.assign(g.dk.size(), 0.0);
  for (int s = 0; s < b.num_seqs(); ++s) {
    for (int h = 0; h < H; ++h) {
      const HeadProbs hp = head_probs(b, q, k, s, h);
      const int T = hp.T;
      auto q_row = [&](int i) { return &q[(static_cast<size_t>(hp.begin + i) * H + h) * D]; };
      auto do_row = [&](int i) { return &dout[(static_cast<size_t>(hp.begin + i) * H + h) * D]; };
      auto kv_idx = [&](int j) { return (static_cast<size_t>(hp.begin + j) * KH + hp.kv_head) * D; };
      for (int i = 0; i < T; ++i) {
        std::vector<double> dp(T, 0.0);
        double row_dot = 0;  // rowsum(P * dP) = dO_i . O_i
        for (int j = 0; j < T; ++j) {
          if (hp.p[i * T + j] == 0.0) continue;  // invisible (or underflowed: contributes nothing)
          dp[j] = dot(do_row(i), &v[kv_idx(j)], D);
          row_dot += hp.p[i * T + j] * dp[j];
        }
        double* dq = &g.dq[(static_cast<size_t>(hp.begin + i) * H + h) * D];
        for (int j = 0; j < T; ++j) {
          const double pij = hp.p[i * T + j];
          if (pij == 0.0) continue;
          const double ds = pij * (dp[j] - row_dot);
          double* dk = &g.dk[kv_idx(j)];
          double* dv = &g.dv[kv_idx(j)];
          for (int d = 0; d < D; ++d) {
            dq[d] += b.softmax_scale * ds * k[kv_idx(j) + d];
            dk[d] += b.softmax_scale * ds * q_row(i)[d];
            dv[d] += pij * do_row(i)[d];
          }
        }
      }
    }
  }
  return g;
}

}  // namespace swaa::reference
