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
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = (g / (1.0f + expf(-g))) * value[i];
    }
}

void spotter_add_inplace(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

void spotter_attend(const float *q, const float *k, const float *v, size_t kv_stride, size_t d, float scale,
                    size_t prefix, const int32_t *extra, size_t extra_count, float *scratch, float *out) {
    size_t count = prefix + extra_count;
    float mx = -INFINITY;
    for (size_t j = 0; j < prefix; j++) {
        float s = dot(q, k + j * kv_stride, d) * scale;
        scratch[j] = s;
        if (s > mx) mx = s;
    }
    for (size_t e = 0; e < extra_count; e++) {
        float s = dot(q, k + (size_t)extra[e] * kv_stride, d) * scale;
        scratch[prefix + e] = s;
        if (s > mx) mx = s;
    }
    float sum = 0.0f;
    for (size_t j = 0; j < count; j++) {
        float ex = expf(scratch[j] - mx);
        scratch[j] = ex;
        sum += ex;
    }
    for (size_t i = 0; i < d; i++) out[i] = 0.0f;
    float inv = 1.0f / sum;
    for (size_t j = 0; j < prefix; j++) axpy(scratch[j] * inv, v + j * kv_stride, out, d);
    for (size_t e = 0; e < extra_count; e++) axpy(scratch[prefix + e] * inv, v + (size_t)extra[e] * kv_stride, out, d);
}
