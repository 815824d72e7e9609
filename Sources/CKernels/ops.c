// Row operations of the decoder: RMSNorm, rotary embedding, SwiGLU, residual add, attention (AVX2+FMA baseline).
#include <immintrin.h>
#include <math.h>

#include "CKernels.h"

static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static inline float dot(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

// exp(x) for 8 floats: range reduction by ln 2 and a degree-6 polynomial (max relative error ~2e-7 over the
// float range; inputs below -87.3 flush to 0).
static inline __m256 exp256(__m256 x) {
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
    __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_LT_OQ);
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, ln2_hi, x);
    r = _mm256_fnmadd_ps(fx, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(underflow, y);
}

static inline void axpy(float a, const float *x, float *y, size_t n) {
    __m256 va = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

void spotter_rmsnorm(const float *x, size_t x_stride, const float *w, float *out, size_t out_stride, size_t rows,
                     size_t n, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * x_stride;
        float *o = out + r * out_stride;
        float ms = dot(xr, xr, n) / (float)n;
        float inv = 1.0f / sqrtf(ms + eps);
        for (size_t i = 0; i < n; i++) o[i] = w[i] * (xr[i] * inv);
    }
}

void spotter_rope(float *x, size_t heads, size_t d, const float *cos, const float *sin) {
    size_t half = d / 2;
    for (size_t h = 0; h < heads; h++) {
        float *v = x + h * d;
        for (size_t i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * cos[i] - b * sin[i];
            v[i + half] = b * cos[i + half] + a * sin[i + half];
        }
    }
}

void spotter_silu_mul(const float *gate, const float *value, float *out, size_t n) {
    size_t i0 = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i0 + 8 <= n; i0 += 8) {
        __m256 g = _mm256_loadu_ps(gate + i0);
        __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_storeu_ps(out + i0, _mm256_mul_ps(silu, _mm256_loadu_ps(value + i0)));
    }
    for (size_t i = i0; i < n; i++) {
        float g = gate[i];
        out[i] = (g / (1.0f + expf(-g))) * value[i];
    }
}

void spotter_add_inplace(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

// Softmax in place over n scores (subtract max, exponentiate, return 1/sum).
static float softmax_inplace(float *s, size_t n) {
    float mx = -INFINITY;
    for (size_t j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    __m256 vmx = _mm256_set1_ps(mx), vsum = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmx));
        _mm256_storeu_ps(s + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hsum256(vsum);
    for (; j < n; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    return 1.0f / sum;
}

void spotter_attend_group(const float *q, size_t group, const float *k, const float *v, size_t kv_stride, size_t d,
                          float scale, size_t prefix, const int32_t *extra, size_t extra_count, float *scratch,
                          float *out) {
    size_t count = prefix + extra_count;
    for (size_t idx = 0; idx < count; idx++) {
        size_t j = idx < prefix ? idx : (size_t)extra[idx - prefix];
        const float *kr = k + j * kv_stride;
        for (size_t h = 0; h < group; h++) scratch[h * count + idx] = dot(q + h * d, kr, d) * scale;
    }
    float inv[64];
    for (size_t h = 0; h < group; h++) inv[h] = softmax_inplace(scratch + h * count, count);
    for (size_t i = 0; i < group * d; i++) out[i] = 0.0f;
    for (size_t idx = 0; idx < count; idx++) {
        size_t j = idx < prefix ? idx : (size_t)extra[idx - prefix];
        const float *vr = v + j * kv_stride;
        for (size_t h = 0; h < group; h++) axpy(scratch[h * count + idx] * inv[h], vr, out + h * d, d);
    }
}

void spotter_attend(const float *q, const float *k, const float *v, size_t kv_stride, size_t d, float scale,
                    size_t prefix, const int32_t *extra, size_t extra_count, float *scratch, float *out) {
    spotter_attend_group(q, 1, k, v, kv_stride, d, scale, prefix, extra, extra_count, scratch, out);
}
