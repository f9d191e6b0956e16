// The fp64 training-attention reference (tests/reference/attention_train_reference.h) checked on its
// own: its mask read back through the forward against SWAA.md §2's example matrix, its forward against
// reference::attention, its log-sum-exp, and its gradients against central finite differences of its
// forward on small random varlen cases (several masks, GQA, prompt splits). Label cpu.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "reference/attention_train_reference.h"
#include "reference/reference_model.h"

namespace swaa::reference {
namespace {

struct SeqSpec {
  int len;
  int prompt_len;
};

TrainBatch make_batch(const SwaaConfig& cfg, const std::vector<SeqSpec>& seqs, int H, int KH, int D) {
  TrainBatch b;
  b.cu_seqlens = {0};
  for (const SeqSpec& s : seqs) {
    b.cu_seqlens.push_back(b.cu_seqlens.back() + s.len);
    b.prompt_lens.push_back(s.prompt_len);
  }
  b.num_heads = H;
  b.num_kv_heads = KH;
  b.head_dim = D;
  b.softmax_scale = 1.0 / std::sqrt(static_cast<double>(D));
  b.swaa = cfg;
  return b;
}

SwaaConfig sliding(int W, int S, bool fa_decode) {
  SwaaConfig c;
  c.sliding_window_size = W;
  c.keep_first = S;
  c.force_fa_decode_all = fa_decode;
  return c;
}

std::vector<double> random_vec(size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> x(n);
  for (double& v : x) v = normal(rng);
  return x;
}

// SWAA.md §2's example: W = 3, S = 2, a prompt of 8 tokens then 2 generated ones. With q = 0 every
// visible key gets the same weight, and v_j = e_j makes out[i][j] > 0 exactly when row i sees key j.
TEST(AttentionTrainReference, MaskMatchesSwaaMdExample) {
  const char* kFaOff[] = {"x.........", "xx........", "xxx.......", "xxxx......", "xxxxx.....",
                          "xx.xxx....", "xx..xxx...", "xx...xxx..", "xx....xxx.", "xx.....xxx"};
  const char* kFaOn[] = {"x.........", "xx........", "xxx.......", "xxxx......", "xxxxx.....",
                         "xx.xxx....", "xx..xxx...", "xx...xxx..", "xxxxxxxxx.", "xxxxxxxxxx"};
  for (bool fa : {false, true}) {
    const int T = 10;
    const TrainBatch b = make_batch(sliding(3, 2, fa), {{T, 8}}, 1, 1, T);
    std::vector<double> q(T * T, 0.0), k(T * T, 0.0), v(T * T, 0.0);
    for (int j = 0; j < T; ++j) v[j * T + j] = 1.0;
    const TrainForward f = train_attention_forward(b, q, k, v);
    for (int i = 0; i < T; ++i) {
      std::string row;
      for (int j = 0; j < T; ++j) row += f.out[i * T + j] > 0 ? 'x' : '.';
      EXPECT_EQ(row, (fa ? kFaOn : kFaOff)[i]) << "row " << i << " fa_decode=" << fa;
    }
  }
}

struct GradCase {
  std::string name;
  SwaaConfig cfg;
  std::vector<SeqSpec> seqs;
  int H = 2, KH = 2, D = 4;
};

std::vector<GradCase> grad_cases() {
  SwaaConfig full;  // W unset: full causal attention
  SwaaConfig non_sliding = sliding(2, 1, false);
  non_sliding.non_sliding_layers = {0};
  return {
      {"full", full, {{9, 4}}},
      {"W1", sliding(1, 0, false), {{8, 3}}},
      {"W1_S2_fa", sliding(1, 2, true), {{8, 3}}},
      {"W3_S2", sliding(3, 2, false), {{10, 8}}},
      {"W3_S2_fa", sliding(3, 2, true), {{10, 8}}},
      {"W2_S0_fa", sliding(2, 0, true), {{9, 5}}},
      {"non_sliding_layer", non_sliding, {{7, 3}}},
      {"gqa2", sliding(3, 1, true), {{9, 4}}, 4, 2, 4},
      {"gqa2_full", full, {{6, 2}}, 4, 2, 4},
      {"two_seqs", sliding(2, 1, false), {{7, 3}, {9, 6}}},
      {"two_seqs_fa", sliding(3, 2, true), {{8, 2}, {9, 6}}, 4, 2, 4},
      {"prompt_all_and_one", sliding(2, 1, true), {{7, 7}, {8, 1}}, 2, 1, 4},
      {"prompt_zero_and_len1", sliding(3, 1, true), {{6, 0}, {1, 0}, {1, 1}}, 2, 1, 4},
  };
}

// L = sum(out * G) for a fixed random G; the reference backward must match central differences.
TEST(AttentionTrainReference, GradientsMatchFiniteDifferences) {
  std::mt19937_64 rng(17);
  for (const GradCase& c : grad_cases()) {
    const TrainBatch b = make_batch(c.cfg, c.seqs, c.H, c.KH, c.D);
    const size_t nq = static_cast<size_t>(b.num_tokens()) * c.H * c.D;
    const size_t nk = static_cast<size_t>(b.num_tokens()) * c.KH * c.D;
    std::vector<double> q = random_vec(nq, rng), k = random_vec(nk, rng), v = random_vec(nk, rng);
    const std::vector<double> G = random_vec(nq, rng);
    auto loss = [&]() {
      const TrainForward f = train_attention_forward(b, q, k, v);
      double l = 0;
      for (size_t i = 0; i < nq; ++i) l += f.out[i] * G[i];
      return l;
    };
    const TrainGrads g = train_attention_backward(b, q, k, v, G);
    const double h = 1e-5;
    struct Wrt {
      const char* name;
      std::vector<double>* x;
      const std::vector<double>* grad;
    };
    for (const Wrt& w : {Wrt{"dq", &q, &g.dq}, Wrt{"dk", &k, &g.dk}, Wrt{"dv", &v, &g.dv}}) {
      double worst = 0;
      int failures = 0;
      for (size_t i = 0; i < w.x->size(); ++i) {
        const double x0 = (*w.x)[i];
        (*w.x)[i] = x0 + h;
        const double lp = loss();
        (*w.x)[i] = x0 - h;
        const double lm = loss();
        (*w.x)[i] = x0;
        const double fd = (lp - lm) / (2 * h);
        const double err = std::abs(fd - (*w.grad)[i]);
        worst = std::max(worst, err);
        if (err > 1e-6 * (1 + std::abs(fd)) && failures++ < 3) {  // the first few of a (case, tensor)
          ADD_FAILURE() << c.name << " " << w.name << "[" << i << "]: finite difference " << fd << " vs backward "
                        << (*w.grad)[i];
        }
      }
      EXPECT_EQ(failures, 0) << c.name << " " << w.name << ": elements off by more than 1e-6 (1 + |fd|)";
      std::printf("[grad] %-22s %s worst |fd - backward| = %.2e\n", c.name.c_str(), w.name, worst);
    }
  }
}

// The forward equals reference::attention (the inference reference) head by head, and lse is the
// log of the softmax denominator: sum over visible keys of exp(score - lse) = 1.
TEST(AttentionTrainReference, ForwardMatchesInferenceReference) {
  std::mt19937_64 rng(3);
  for (const GradCase& c : grad_cases()) {
    const TrainBatch b = make_batch(c.cfg, c.seqs, c.H, c.KH, c.D);
    const int N = b.num_tokens(), H = c.H, KH = c.KH, D = c.D;
    const std::vector<double> q = random_vec(static_cast<size_t>(N) * H * D, rng);
    const std::vector<double> k = random_vec(static_cast<size_t>(N) * KH * D, rng);
    const std::vector<double> v = random_vec(k.size(), rng);
    const TrainForward f = train_attention_forward(b, q, k, v);
    for (int s = 0; s < b.num_seqs(); ++s) {
      const int begin = b.cu_seqlens[s], T = b.cu_seqlens[s + 1] - begin;
      for (int h = 0; h < H; ++h) {
        const int kh = h / (H / KH);
        std::vector<double> qs(static_cast<size_t>(T) * D), ks(qs.size()), vs(qs.size());
        for (int t = 0; t < T; ++t) {
          for (int d = 0; d < D; ++d) {
            qs[t * D + d] = q[(static_cast<size_t>(begin + t) * H + h) * D + d];
            ks[t * D + d] = k[(static_cast<size_t>(begin + t) * KH + kh) * D + d];
            vs[t * D + d] = v[(static_cast<size_t>(begin + t) * KH + kh) * D + d];
          }
        }
        const std::vector<double> want = attention(qs, ks, vs, T, D, b.softmax_scale, b.swaa, 0, b.prompt_lens[s]);
        for (int t = 0; t < T; ++t) {
          for (int d = 0; d < D; ++d) {
            ASSERT_NEAR(f.out[(static_cast<size_t>(begin + t) * H + h) * D + d], want[t * D + d], 1e-12)
                << c.name << " seq " << s << " head " << h << " row " << t;
          }
          double total = 0;
          for (int j = 0; j < T; ++j) {
            if (!visible(b.swaa, 0, t, j, b.prompt_lens[s])) continue;
            double sc = 0;
            for (int d = 0; d < D; ++d) sc += qs[t * D + d] * ks[j * D + d];
            total += std::exp(sc * b.softmax_scale - f.lse[static_cast<size_t>(h) * N + begin + t]);
          }
          EXPECT_NEAR(total, 1.0, 1e-12) << c.name << " seq " << s << " head " << h << " row " << t;
        }
      }
    }
  }
}

}  // namespace
}  // namespace swaa::reference
