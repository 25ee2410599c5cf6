// Reference-speed baseline for the KL search: a plain C++ rendering of MXNet's
// CalibrateComputeCPU / TVM's MinimizeKL as pinned down in ALGORITHMS.md §1 steps 6-13
// (float32 arithmetic, per-candidate vectors, O(bins) work per candidate, O(bins^2) total).
// Written for qcal from that description; it is a benchmark and cross-check, not shipped code.
//
// Input (text on stdin):  nbins nq  then nbins counts  then nbins+1 edges
// Output: "index threshold divergence wall_ms_per_search cpu_ms_per_search"
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <vector>

static std::vector<float> smooth(const std::vector<float>& d, float eps = 1e-4f) {
  size_t zeros = 0;
  for (float v : d) zeros += (v == 0.f);
  size_t nonzeros = d.size() - zeros;
  if (nonzeros == 0) return {};
  float eps1 = eps * static_cast<float>(zeros) / static_cast<float>(nonzeros);
  if (eps1 >= 1.0f) return {};
  std::vector<float> out(d);
  for (float& v : out) v += (v == 0.f) ? eps : -eps1;
  return out;
}

static float kl(std::vector<float>& p, std::vector<float>& q) {
  float ps = 0.f, qs = 0.f;
  for (float v : p) ps += v;
  for (float v : q) qs += v;
  float r = 0.f;
  for (size_t k = 0; k < p.size(); k++) {
    float pk = p[k] / ps, qk = q[k] / qs;
    if (pk != 0.f && qk != 0.f) r += pk * std::log(pk / qk);
  }
  return r;
}

struct Result { int index; float threshold; float divergence; };

static Result minimize_kl(const std::vector<float>& hist, const std::vector<float>& edges, int nq) {
  const int nbins = static_cast<int>(hist.size());
  const int zero = nbins / 2, halfq = nq / 2;
  Result best{-1, 0.f, std::numeric_limits<float>::infinity()};
  for (int i = halfq; i <= zero; i++) {
    const int start = zero - i, stop = zero + i + 1, len = stop - start;
    std::vector<float> sliced(len, 0.f), p(len, 0.f);
    for (int j = 0; j < nbins; j++) {
      if (j <= start) p[0] += hist[j];
      else if (j >= stop) p[len - 1] += hist[j];
      else { sliced[j - start] = hist[j]; p[j - start] = hist[j]; }
    }
    const int m = len / nq;
    std::vector<float> qb(nq, 0.f);
    for (int g = 0; g < nq; g++)
      for (int k = g * m; k < (g + 1) * m; k++) qb[g] += sliced[k];
    for (int k = nq * m; k < len; k++) qb[nq - 1] += sliced[k];
    std::vector<float> q(len, 0.f);
    for (int g = 0; g < nq; g++) {
      const int a = g * m, b = (g == nq - 1) ? len : (g + 1) * m;
      int norm = 0;
      for (int k = a; k < b; k++) norm += (sliced[k] != 0.f);
      if (norm)
        for (int k = a; k < b; k++)
          if (p[k] != 0.f) q[k] = qb[g] / static_cast<float>(norm);
    }
    std::vector<float> ps = smooth(p), qs = smooth(q);
    float d = qs.empty() ? std::numeric_limits<float>::infinity() : kl(ps, qs);
    if (d < best.divergence || best.index < 0) best = {i, edges[stop], d};  // first minimum
  }
  return best;
}

int main(int argc, char** argv) {
  int reps = argc > 1 ? std::atoi(argv[1]) : 1;
  int nbins, nq;
  if (std::scanf("%d %d", &nbins, &nq) != 2) return 2;
  std::vector<float> hist(nbins), edges(nbins + 1);
  for (auto& v : hist) { double x; if (std::scanf("%lf", &x) != 1) return 2; v = static_cast<float>(x); }
  for (auto& v : edges) { double x; if (std::scanf("%lf", &x) != 1) return 2; v = static_cast<float>(x); }
  Result r{};
  auto t0 = std::chrono::steady_clock::now();
  std::clock_t c0 = std::clock();
  for (int k = 0; k < reps; k++) r = minimize_kl(hist, edges, nq);
  std::clock_t c1 = std::clock();
  auto t1 = std::chrono::steady_clock::now();
  double ms = std::chrono::duration<double, std::milli>(t1 - t0).count() / reps;
  double cpu = 1000.0 * static_cast<double>(c1 - c0) / CLOCKS_PER_SEC / reps;
  std::printf("%d %.9g %.9g %.3f %.3f\n", r.index, r.threshold, r.divergence, ms, cpu);
  return 0;
}
