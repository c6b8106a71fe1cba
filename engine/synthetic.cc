// Synthetic UMI-like counts (see include/slaf/synthetic.h for the model).
#include "slaf/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace slaf {
namespace {

// splitmix64 seeding + xoshiro256** generator: small, fast, fully specified.
uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t x = seed * 0xD1342543DE82EF95ull + stream;
    for (uint64_t& v : s_) v = SplitMix(&x);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double Normal() {  // Box-Muller
    const double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Marsaglia-Tsang gamma with shape k >= 1 and scale 1.
  double Gamma(double k) {
    const double d = k - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    while (true) {
      double x, v;
      do {
        x = Normal();
        v = 1.0 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = Uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
  // Poisson by inversion (means here stay small); capped for safety.
  uint32_t Poisson(double mean) {
    if (mean > 200) return static_cast<uint32_t>(std::max(0.0, std::round(mean + std::sqrt(mean) * Normal())));
    const double l = std::exp(-mean);
    double p = l, cdf = l;
    const double u = Uniform();
    uint32_t k = 0;
    while (u > cdf && k < 10000) {
      ++k;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace

SyntheticMatrix::SyntheticMatrix(const SyntheticSpec& spec) : spec_(spec) {
  const uint32_t g = spec_.n_genes;
  Rng rng(spec_.seed, UINT64_MAX);
  weight_.resize(g);
  for (double& w : weight_) w = std::exp(1.8 * std::clamp(rng.Normal(), -3.0, 3.0));
  const double mean = g ? std::accumulate(weight_.begin(), weight_.end(), 0.0) / g : 1.0;
  for (double& w : weight_) w /= mean;
  // Walker alias table: O(1) weighted gene draws.
  alias_prob_.assign(g, 0);
  alias_idx_.assign(g, 0);
  std::vector<uint32_t> small, large;
  std::vector<double> scaled(g);
  for (uint32_t i = 0; i < g; ++i) {
    scaled[i] = weight_[i];  // mean 1, so the average bucket is 1
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back(), l = large.back();
    small.pop_back();
    alias_prob_[s] = scaled[s];
    alias_idx_[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (uint32_t i : large) alias_prob_[i] = 1.0, alias_idx_[i] = i;
  for (uint32_t i : small) alias_prob_[i] = 1.0, alias_idx_[i] = i;
}

void SyntheticMatrix::GenerateRows(uint64_t begin, uint64_t end, CsrMatrix* out) const {
  out->Clear(spec_.n_genes, ValueType::kUInt32);
  const uint32_t g = spec_.n_genes;
  std::vector<uint8_t> taken(g, 0);
  std::vector<uint32_t> genes;
  for (uint64_t row = begin; row < end; ++row) {
    Rng rng(spec_.seed, row);
    const double size = std::exp(0.5 * rng.Normal() - 0.125);  // mean 1
    const double want = spec_.density * g * size;
    const uint32_t n = g == 0 ? 0 : static_cast<uint32_t>(std::clamp(std::round(want), 1.0, std::max(1.0, 0.6 * g)));
    genes.clear();
    // Weighted draws without replacement by rejection. Capping a cell at 60%
    // of the genes keeps most draws new; at high densities with a very skewed
    // weight spread the last draws can still take many tries.
    while (genes.size() < n) {
      const uint32_t i = static_cast<uint32_t>(rng.Next() % g);
      const uint32_t gene = rng.Uniform() < alias_prob_[i] ? i : alias_idx_[i];
      if (taken[gene]) continue;
      taken[gene] = 1;
      genes.push_back(gene);
    }
    std::sort(genes.begin(), genes.end());
    for (uint32_t gene : genes) {
      taken[gene] = 0;
      const double mean = 0.12 * std::pow(weight_[gene], 0.8) * size * rng.Gamma(2.0) / 2.0;
      out->indices.push_back(gene);
      out->counts.push_back(1 + rng.Poisson(mean));
    }
    out->indptr.push_back(out->indices.size());
    ++out->n_rows;
  }
}

}  // namespace slaf
