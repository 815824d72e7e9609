// Kernels of the vision path: PyTorch-exact bilinear resize of RGB8 images, LayerNorm, bias, tanh-GELU, key
// transposition for the ViT attention (AVX2+FMA baseline).
#include <immintrin.h>
#include "simd_math.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "CKernels.h"

// The resize reproduces PyTorch's generic (channels-first) bilinear kernel, which it uses whenever the output's height +
// width exceeds 128 (always, for Molmo2's 378-px crops); smaller outputs go to another PyTorch kernel with other
// rounding. It must match bit for bit (including where it fuses multiply-adds), so the
// compiler may not contract anything on its own in this file.
#pragma STDC FP_CONTRACT OFF

// Source indices and weights of one axis, as PyTorch's compute_source_index_and_lambda for float tensors:
// scale = in / out (float), src = fma(scale, o + 0.5, -0.5) clamped at 0, i0 = min(floor(src), in - 1),
// λ = clamp(src - i0, 0, 1), i1 = i0 + 1 unless i0 is the last index. Equal sizes copy.
static void resize_axis(size_t n_in, size_t n_out, int32_t *i0, int32_t *i1, float *w0, float *w1) {
    if (n_in == n_out) {
        for (size_t o = 0; o < n_out; o++) {
            i0[o] = i1[o] = (int32_t)o;
            w0[o] = 1.0f;
            w1[o] = 0.0f;
        }
        return;
    }
    float scale = (float)n_in / (float)n_out;
    for (size_t o = 0; o < n_out; o++) {
        float src = fmaf(scale, (float)o + 0.5f, -0.5f);
        if (src < 0.0f) src = 0.0f;
        int64_t idx = (int64_t)floorf(src);
        if (idx > (int64_t)n_in - 1) idx = (int64_t)n_in - 1;
        float lambda = src - (float)idx;
        lambda = lambda < 0.0f ? 0.0f : (lambda > 1.0f ? 1.0f : lambda);
        i0[o] = (int32_t)idx;
        i1[o] = (int32_t)(idx + (idx < (int64_t)n_in - 1 ? 1 : 0));
        w0[o] = 1.0f - lambda;
        w1[o] = lambda;
    }
}

int spotter_resize_bilinear_rgb8(const uint8_t *src, size_t sw, size_t sh, size_t src_stride, uint8_t *dst,
                                 size_t dw, size_t dh, size_t dst_stride, size_t row0, size_t row1) {
    int32_t *xi = (int32_t *)malloc(sizeof(int32_t) * 2 * dw);
    float *xw = (float *)malloc(sizeof(float) * 2 * dw);
    int32_t *yi = (int32_t *)malloc(sizeof(int32_t) * 2 * dh);
    float *yw = (float *)malloc(sizeof(float) * 2 * dh);
    if (!xi || !xw || !yi || !yw) {
        free(xi), free(xw), free(yi), free(yw);
        return -1;
    }
    resize_axis(sw, dw, xi, xi + dw, xw, xw + dw);
    resize_axis(sh, dh, yi, yi + dh, yw, yw + dh);
    for (size_t y = row0; y < row1; y++) {
        const uint8_t *r0 = src + (size_t)yi[y] * src_stride;
        const uint8_t *r1 = src + (size_t)yi[dh + y] * src_stride;
        float h0 = yw[y], h1 = yw[dh + y];
        uint8_t *out = dst + y * dst_stride;
        for (size_t x = 0; x < dw; x++) {
            size_t x0 = (size_t)xi[x] * 3, x1 = (size_t)xi[dw + x] * 3;
            float w0 = xw[x], w1 = xw[dw + x];
            for (size_t c = 0; c < 3; c++) {
                // PyTorch: t = a·w0 + b·w1 per source row, then t0·h0 + t1·h1; its compiler fuses the first
                // product of each sum into an FMA with the second (rounded) product as addend.
                float top = fmaf((float)r0[x0 + c], w0, (float)r0[x1 + c] * w1);
                float bottom = fmaf((float)r1[x0 + c], w0, (float)r1[x1 + c] * w1);
                float v = fmaf(top, h0, bottom * h1);
                v = nearbyintf(v);  // round half to even, as torch.round
                out[x * 3 + c] = (uint8_t)(v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v));
            }
        }
    }
    free(xi), free(xw), free(yi), free(yw);
    return 0;
}

void spotter_layernorm(const float *x, size_t x_stride, const float *w, const float *b, float *out,
                       size_t out_stride, size_t rows, size_t n, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * x_stride;
        float *o = out + r * out_stride;
        __m256 s = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= n; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(xr + i));
        float sum = hsum256(s);
        for (; i < n; i++) sum += xr[i];
        float mean = sum / (float)n;
        __m256 vm = _mm256_set1_ps(mean), q = _mm256_setzero_ps();
        i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(xr + i), vm);
            q = _mm256_fmadd_ps(d, d, q);
        }
        float var = hsum256(q);
        for (; i < n; i++) var += (xr[i] - mean) * (xr[i] - mean);
        var /= (float)n;
        float inv = 1.0f / sqrtf(var + eps);
        for (i = 0; i < n; i++) o[i] = (xr[i] - mean) * inv * w[i] + b[i];
    }
}

void spotter_add_bias(float *x, size_t stride, const float *bias, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * stride;
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(xr + i, _mm256_add_ps(_mm256_loadu_ps(xr + i), _mm256_loadu_ps(bias + i)));
        for (; i < n; i++) xr[i] += bias[i];
    }
}


// gelu_tanh(x) = 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³); 0.5·(1 + tanh(u)) = 1 / (1 + exp(−2u)).
void spotter_bias_gelu_tanh(float *x, size_t stride, const float *bias, size_t rows, size_t n) {
    const float k = 0.7978845608028654f, c = 0.044715f;
    const __m256 vk2 = _mm256_set1_ps(-2.0f * k), vc = _mm256_set1_ps(c), one = _mm256_set1_ps(1.0f);
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * stride;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(xr + i), _mm256_loadu_ps(bias + i));
            __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(vc, v), _mm256_mul_ps(v, v), v);
            __m256 e = exp256(_mm256_mul_ps(vk2, inner));
            _mm256_storeu_ps(xr + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
        }
        for (; i < n; i++) {
            float v = xr[i] + bias[i];
            float inner = v + c * v * v * v;
            xr[i] = v / (1.0f + expf(-2.0f * k * inner));
        }
    }
}

void spotter_transpose_keys(const float *k, size_t k_stride, size_t tokens, size_t heads, size_t d, float *kt,
                            size_t kt_stride) {
    for (size_t h = 0; h < heads; h++) {
        float *dst = kt + h * d * kt_stride;
        for (size_t t0 = 0; t0 < tokens; t0 += 16) {
            size_t t1 = t0 + 16 < tokens ? t0 + 16 : tokens;
            for (size_t c = 0; c < d; c++)
                for (size_t t = t0; t < t1; t++) dst[c * kt_stride + t] = k[t * k_stride + h * d + c];
        }
        for (size_t c = 0; c < d; c++)
            for (size_t t = tokens; t < kt_stride; t++) dst[c * kt_stride + t] = 0.0f;
    }
}
