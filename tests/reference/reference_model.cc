// Plain fp64 loops; clarity over speed.
#include "reference/reference_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace swaa::reference {
namespace {

bool in(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

using Mat = std::vector<double>;  // row-major

// y[T, out] = x[T, in] @ W[out, in]^T (+ b)
Mat matmul_t(const Mat& x, const Mat& w, int T, int in_dim, int out_dim, const Mat* b = nullptr) {
  Mat y(static_cast<size_t>(T) * out_dim);
  for (int t = 0; t < T; ++t) {
    for (int o = 0; o < out_dim; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (int i = 0; i < in_dim; ++i) s += x[t * in_dim + i] * w[static_cast<size_t>(o) * in_dim + i];
      y[t * out_dim + o] = s;
    }
  }
  return y;
}

Mat rms_norm(const Mat& x, const Mat& w, int rows, int d, double eps) {
  Mat y(x.size());
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int i = 0; i < d; ++i) ss += x[r * d + i] * x[r * d + i];
    const double inv = 1.0 / std::sqrt(ss / d + eps);
    for (int i = 0; i < d; ++i) y[r * d + i] = w[i] * x[r * d + i] * inv;
  }
  return y;
}

void rope(Mat& x, int T, int heads, int D, double theta) {
  const int half = D / 2;
  for (int t = 0; t < T; ++t) {
    for (int h = 0; h < heads; ++h) {
      double* v = &x[(static_cast<size_t>(t) * heads + h) * D];
      for (int i = 0; i < half; ++i) {
        const double inv_freq = static_cast<float>(1.0 / std::pow(theta, 2.0 * i / D));  // fp32, as HF
        const double a = t * inv_freq, c = std::cos(a), s = std::sin(a);
        const double x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
      }
    }
  }
}

Mat swiglu(const Mat& x, const Weights& w, const std::string& p, int T, int H, int I) {
  Mat g = matmul_t(x, w.at(p + "gate_proj.weight"), T, H, I);
  Mat u = matmul_t(x, w.at(p + "up_proj.weight"), T, H, I);
  for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
  return matmul_t(g, w.at(p + "down_proj.weight"), T, I, H);
}

const Mat* opt(const Weights& w, const std::string& name) {
  auto it = w.find(name);
  return it == w.end() ? nullptr : &it->second;
}

}  // namespace

bool visible(const SwaaConfig& c, int layer, int p, int j, int prompt_len) {
  if (j > p) return false;
  const bool sliding = c.sliding_window_size.has_value() && !in(c.non_sliding_layers, layer);
  if (!sliding) return true;
  const bool generated = p >= prompt_len;
  const bool fa_decode = c.force_fa_decode_all || in(c.force_fa_decode_layers, layer);
  if (generated && fa_decode) return true;
  return j > p - *c.sliding_window_size || j < c.keep_first;
}

std::vector<double> attention(const Mat& q, const Mat& k, const Mat& v, int T, int D, double scale,
                              const SwaaConfig& c, int layer, int prompt_len) {
  Mat out(static_cast<size_t>(T) * D, 0.0);
  std::vector<double> s(T);
  for (int p = 0; p < T; ++p) {
    double mx = -INFINITY;
    for (int j = 0; j < T; ++j) {
      if (!visible(c, layer, p, j, prompt_len)) {
        s[j] = -INFINITY;
        continue;
      }
      double dot = 0;
      for (int d = 0; d < D; ++d) dot += q[p * D + d] * k[j * D + d];
      s[j] = dot * scale;
      mx = std::max(mx, s[j]);
    }
    double den = 0;
    for (int j = 0; j < T; ++j) den += (s[j] = std::isinf(s[j]) ? 0.0 : std::exp(s[j] - mx));
    for (int j = 0; j < T; ++j) {
      for (int d = 0; d < D; ++d) out[p * D + d] += s[j] / den * v[j * D + d];
    }
  }
  return out;
}

std::vector<double> logprobs(const ModelConfig& c, const Weights& w, const SwaaConfig& swaa,
                             const std::vector<int>& tokens, int prompt_len) {
  if (c.rope.type != RopeType::kDefault) throw std::invalid_argument("reference supports default RoPE only");
  const int T = static_cast<int>(tokens.size()), H = c.hidden_size, D = c.head_dim;
  const int NH = c.num_heads, KH = c.num_kv_heads, V = c.vocab_size;
  Mat x(static_cast<size_t>(T) * H);
  const Mat& emb = w.at("model.embed_tokens.weight");
  for (int t = 0; t < T; ++t) std::copy_n(&emb[static_cast<size_t>(tokens[t]) * H], H, &x[t * H]);
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    Mat h = rms_norm(x, w.at(p + "input_layernorm.weight"), T, H, c.rms_norm_eps);
    Mat q = matmul_t(h, w.at(p + "self_attn.q_proj.weight"), T, H, NH * D, opt(w, p + "self_attn.q_proj.bias"));
    Mat k = matmul_t(h, w.at(p + "self_attn.k_proj.weight"), T, H, KH * D, opt(w, p + "self_attn.k_proj.bias"));
    Mat v = matmul_t(h, w.at(p + "self_attn.v_proj.weight"), T, H, KH * D, opt(w, p + "self_attn.v_proj.bias"));
    if (c.qk_norm) {
      q = rms_norm(q, w.at(p + "self_attn.q_norm.weight"), T * NH, D, c.rms_norm_eps);
      k = rms_norm(k, w.at(p + "self_attn.k_norm.weight"), T * KH, D, c.rms_norm_eps);
    }
    rope(q, T, NH, D, c.rope.theta);
    rope(k, T, KH, D, c.rope.theta);
    Mat attn(static_cast<size_t>(T) * NH * D);
    for (int hd = 0; hd < NH; ++hd) {
      const int kh = hd / (NH / KH);
      Mat qh(static_cast<size_t>(T) * D), kk(static_cast<size_t>(T) * D), vv(static_cast<size_t>(T) * D);
      for (int t = 0; t < T; ++t) {
        for (int d = 0; d < D; ++d) {
          qh[t * D + d] = q[(static_cast<size_t>(t) * NH + hd) * D + d];
          kk[t * D + d] = k[(static_cast<size_t>(t) * KH + kh) * D + d];
          vv[t * D + d] = v[(static_cast<size_t>(t) * KH + kh) * D + d];
        }
      }
      Mat o = attention(qh, kk, vv, T, D, 1.0 / std::sqrt(static_cast<double>(D)), swaa, l, prompt_len);
      for (int t = 0; t < T; ++t) {
        for (int d = 0; d < D; ++d) attn[(static_cast<size_t>(t) * NH + hd) * D + d] = o[t * D + d];
      }
    }
    Mat o = matmul_t(attn, w.at(p + "self_attn.o_proj.weight"), T, NH * D, H, opt(w, p + "self_attn.o_proj.bias"));
    for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    h = rms_norm(x, w.at(p + "post_attention_layernorm.weight"), T, H, c.rms_norm_eps);
    Mat m;
    if (!c.is_moe_layer(l)) {
      m = swiglu(h, w, p + "mlp.", T, H, c.intermediate_size);
    } else {
      const int E = c.num_experts;
      Mat logits = matmul_t(h, w.at(p + "mlp.gate.weight"), T, H, E);
      m.assign(static_cast<size_t>(T) * H, 0.0);
      for (int t = 0; t < T; ++t) {
        std::vector<double> pr(E);
        const double mx = *std::max_element(&logits[t * E], &logits[t * E] + E);
        double den = 0;
        for (int e = 0; e < E; ++e) den += (pr[e] = std::exp(logits[t * E + e] - mx));
        for (double& x_ : pr) x_ /= den;
        std::vector<int> order(E);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return pr[a] > pr[b]; });
        double top = 0;
        for (int kk = 0; kk < c.num_experts_per_tok; ++kk) top += pr[order[kk]];
        Mat row(h.begin() + static_cast<size_t>(t) * H, h.begin() + static_cast<size_t>(t + 1) * H);
        for (int kk = 0; kk < c.num_experts_per_tok; ++kk) {
          const int e = order[kk];
          const double wt = c.norm_topk_prob ? pr[e] / top : pr[e];
          Mat y = swiglu(row, w, p + "mlp.experts." + std::to_string(e) + ".", 1, H, c.moe_intermediate_size);
          for (int i = 0; i < H; ++i) m[t * H + i] += wt * y[i];
        }
      }
    }
    for (size_t i = 0; i < x.size(); ++i) x[i] += m[i];
  }
  x = rms_norm(x, w.at("model.norm.weight"), T, H, c.rms_norm_eps);
  const Mat& head = c.tie_word_embeddings ? w.at("model.embed_tokens.weight") : w.at("lm_head.weight");
  Mat logits = matmul_t(x, head, T, H, V);
  std::vector<double> out(T - 1);
  for (int t = 0; t + 1 < T; ++t) {
    const double* row = &logits[static_cast<size_t>(t) * V];
    const double mx = *std::max_element(row, row + V);
    double den = 0;
    for (int i = 0; i < V; ++i) den += std::exp(row[i] - mx);
    out[t] = row[tokens[t + 1]] - mx - std::log(den);
  }
  return out;
}

}  // namespace swaa::reference
