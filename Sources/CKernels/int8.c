// Int8 weight-only matmul: weights stored as int8 panels (the 32-wide panel layout of gemm.c) with one fp32 scale
// per output channel, dequantized inside the kernel; activations and accumulation stay fp32. One row (decode) runs
// a bandwidth-bound GEMV that reads each weight byte once; more rows dequantize one panel at a time into fp32 and
// use the fp32 GEMM. AVX2+FMA baseline, AVX-512 chosen at run time (spotter_gemm_isa).
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "CKernels.h"

#define P SPOTTER_PANEL
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

void spotter_quantize_panel_i8(const float *panel, size_t K, int8_t *q, float *scales) {
    for (size_t j = 0; j < P; j++) {
        float amax = 0.0f;
        for (size_t k = 0; k < K; k++) {
            float a = fabsf(panel[k * P + j]);
            amax = a > amax ? a : amax;
        }
        float scale = amax / 127.0f;
        float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        scales[j] = scale;
        for (size_t k = 0; k < K; k++) {
            float r = nearbyintf(panel[k * P + j] * inv);
            r = r > 127.0f ? 127.0f : (r < -127.0f ? -127.0f : r);
            q[k * P + j] = (int8_t)r;
        }
    }
}

void spotter_dequantize_panel_i8(const int8_t *q, const float *scales, size_t K, float *panel) {
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < P; j++) panel[k * P + j] = (float)q[k * P + j] * scales[j];
}

// ---------------------------------------------------------------------------------------------------------------
// One row of A against int8 panels: y[j] = scale[j] · Σ_k a[k] · q[k][j], two k-chains (even/odd k) per column.

static inline __m256 i8x8_to_ps(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

static void gemv_i8_avx2(const float *A, size_t K, const int8_t *packed, const float *scales, size_t N, size_t p0,
                         size_t p1, float *C, int accumulate) {
    for (size_t p = p0; p < p1; p++) {
        const int8_t *B = packed + p * K * P;
        __m256 c[4], d[4];
        for (int i = 0; i < 4; i++) c[i] = d[i] = _mm256_setzero_ps();
        size_t k = 0;
        for (; k + 2 <= K; k += 2) {
            __m256 x0 = _mm256_broadcast_ss(A + k), x1 = _mm256_broadcast_ss(A + k + 1);
            for (int i = 0; i < 4; i++) {
                c[i] = _mm256_fmadd_ps(x0, i8x8_to_ps(B + k * P + 8 * i), c[i]);
                d[i] = _mm256_fmadd_ps(x1, i8x8_to_ps(B + (k + 1) * P + 8 * i), d[i]);
            }
        }
        if (k < K) {
            __m256 x0 = _mm256_broadcast_ss(A + k);
            for (int i = 0; i < 4; i++) c[i] = _mm256_fmadd_ps(x0, i8x8_to_ps(B + k * P + 8 * i), c[i]);
        }
        float tile[P];
        for (int i = 0; i < 4; i++)
            _mm256_storeu_ps(tile + 8 * i, _mm256_mul_ps(_mm256_add_ps(c[i], d[i]), _mm256_loadu_ps(scales + p * P + 8 * i)));
        size_t n0 = p * P, nv = N - n0 < P ? N - n0 : P;
        for (size_t j = 0; j < nv; j++) C[n0 + j] = accumulate ? C[n0 + j] + tile[j] : tile[j];
    }
}

static inline T512 __m512 i8x16_to_ps(const int8_t *p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

static T512 void gemv_i8_avx512(const float *A, size_t K, const int8_t *packed, const float *scales, size_t N,
                                size_t p0, size_t p1, float *C, int accumulate) {
    for (size_t p = p0; p < p1; p++) {
        const int8_t *B = packed + p * K * P;
        __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();
        __m512 d0 = _mm512_setzero_ps(), d1 = _mm512_setzero_ps();
        size_t k = 0;
        for (; k + 2 <= K; k += 2) {
            __m512 x0 = _mm512_set1_ps(A[k]), x1 = _mm512_set1_ps(A[k + 1]);
            c0 = _mm512_fmadd_ps(x0, i8x16_to_ps(B + k * P), c0);
            c1 = _mm512_fmadd_ps(x0, i8x16_to_ps(B + k * P + 16), c1);
            d0 = _mm512_fmadd_ps(x1, i8x16_to_ps(B + (k + 1) * P), d0);
            d1 = _mm512_fmadd_ps(x1, i8x16_to_ps(B + (k + 1) * P + 16), d1);
        }
        if (k < K) {
            __m512 x0 = _mm512_set1_ps(A[k]);
            c0 = _mm512_fmadd_ps(x0, i8x16_to_ps(B + k * P), c0);
            c1 = _mm512_fmadd_ps(x0, i8x16_to_ps(B + k * P + 16), c1);
        }
        float tile[P];
        _mm512_storeu_ps(tile, _mm512_mul_ps(_mm512_add_ps(c0, d0), _mm512_loadu_ps(scales + p * P)));
        _mm512_storeu_ps(tile + 16, _mm512_mul_ps(_mm512_add_ps(c1, d1), _mm512_loadu_ps(scales + p * P + 16)));
        size_t n0 = p * P, nv = N - n0 < P ? N - n0 : P;
        for (size_t j = 0; j < nv; j++) C[n0 + j] = accumulate ? C[n0 + j] + tile[j] : tile[j];
    }
}

void spotter_gemv_i8_isa(int isa, const float *A, size_t K, const int8_t *packed, const float *scales, size_t N,
                         size_t p0, size_t p1, float *C, int accumulate) {
    uint32_t f = spotter_cpu_features();
    if (isa == 1 && (f & SPOTTER_CPU_AVX512F) && (f & SPOTTER_CPU_AVX512BW))
        gemv_i8_avx512(A, K, packed, scales, N, p0, p1, C, accumulate);
    else
        gemv_i8_avx2(A, K, packed, scales, N, p0, p1, C, accumulate);
}

void spotter_gemm_i8(const float *A, size_t lda, size_t M, size_t K, const int8_t *packed, const float *scales,
                     size_t N, size_t p0, size_t p1, float *C, size_t ldc, int accumulate) {
    if (M == 0 || p0 >= p1) return;
    if (M == 1) {
        if (spotter_gemm_isa() == 1)
            gemv_i8_avx512(A, K, packed, scales, N, p0, p1, C, accumulate);
        else
            gemv_i8_avx2(A, K, packed, scales, N, p0, p1, C, accumulate);
        return;
    }
    float *panel = (float *)aligned_alloc(64, K * P * sizeof(float));
    if (!panel) return;
    for (size_t p = p0; p < p1; p++) {
        spotter_dequantize_panel_i8(packed + p * K * P, scales + p * P, K, panel);
        size_t n0 = p * P, nv = N - n0 < P ? N - n0 : P;
        spotter_gemm_f32(A, lda, M, K, panel, nv, 0, 1, C + n0, ldc, accumulate);
    }
    free(panel);
}
