// Row operations of the decoder: RMSNorm, rotary embedding, SwiGLU, residual add, attention (AVX2+FMA baseline).
#include <immintrin.h>
#include "simd_math.h"
#include <math.h>
#include <string.h>

#include "CKernels.h"

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
// Softmax numerators over s[0, n) in place (n a multiple of 8; masked entries hold -inf and become exactly 0);
// returns 1 / their sum. Every entry goes through the same vector exp and lane j mod 8, so appending masked entries
// changes no bit of the result: a query's probabilities do not depend on how many keys its block spans.
static float softmax_inplace(float *s, size_t n) {
    float mx = -INFINITY;
    for (size_t j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    __m256 vmx = _mm256_set1_ps(mx), vsum = _mm256_setzero_ps();
    for (size_t j = 0; j < n; j += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmx));
        _mm256_storeu_ps(s + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    return 1.0f / hsum256(vsum);
}

// ---------------------------------------------------------------------------------------------------------------
// Blocked attention for one kv head: a block of query rows (tokens × the query heads of the group) against all
// keys at once. Keys are stored transposed ([d][stride], zero beyond the cached tokens) so that Q·Kᵀ and P·V are
// both small matrix products with the same 6×W register tile.

// C[R × W] (= or +=) A[R × kk] (row stride lda) · B[kk × W] (row stride ldb); R ≤ 6, W ∈ {8, 16}.
static inline __attribute__((always_inline)) void tile6(const int R, const int W, const float *A, size_t lda,
                                                        const float *B, size_t ldb, size_t kk, float *C, size_t ldc) {
    __m256 c0[6], c1[6];
    for (int i = 0; i < R; i++) c0[i] = c1[i] = _mm256_setzero_ps();
    for (size_t k = 0; k < kk; k++) {
        __m256 b0 = _mm256_loadu_ps(B + k * ldb);
        __m256 b1 = W == 16 ? _mm256_loadu_ps(B + k * ldb + 8) : _mm256_setzero_ps();
        for (int i = 0; i < R; i++) {
            __m256 a = _mm256_broadcast_ss(A + i * lda + k);
            c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);
            if (W == 16) c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);
        }
    }
    for (int i = 0; i < R; i++) {
        _mm256_storeu_ps(C + i * ldc, c0[i]);
        if (W == 16) _mm256_storeu_ps(C + i * ldc + 8, c1[i]);
    }
}

static void matmul_rows(size_t rows, int W, const float *A, size_t lda, const float *B, size_t ldb, size_t kk,
                        float *C, size_t ldc) {
    for (size_t r0 = 0; r0 < rows; r0 += 6) {
        size_t r = rows - r0 < 6 ? rows - r0 : 6;
        const float *a = A + r0 * lda;
        float *c = C + r0 * ldc;
#define TILE_CASE(RR)                                                                                              \
    case RR:                                                                                                       \
        if (W == 16)                                                                                               \
            tile6(RR, 16, a, lda, B, ldb, kk, c, ldc);                                                             \
        else                                                                                                       \
            tile6(RR, 8, a, lda, B, ldb, kk, c, ldc);                                                              \
        break;
        switch (r) {
            TILE_CASE(1)
            TILE_CASE(2)
            TILE_CASE(3)
            TILE_CASE(4)
            TILE_CASE(5)
            default:
            TILE_CASE(6)
        }
#undef TILE_CASE
    }
}

size_t spotter_attention_scratch_floats(size_t group, size_t tokens, size_t d, size_t keys) {
    size_t rows = group * tokens;
    size_t kpad = (keys + 15) / 16 * 16;
    return rows * d * 2 + rows * kpad + 16;
}

void spotter_attention_block(const float *q, size_t q_stride, size_t group, size_t d, const float *kt,
                             size_t kt_stride, const float *v, size_t v_stride, size_t start, size_t t0, size_t nt,
                             const uint8_t *visual, size_t chunk_end, float scale, float *scratch, float *out,
                             size_t out_stride) {
    size_t rows = group * nt;
    // keys needed: causal up to the last token's position, or the whole chunk for visual queries
    size_t kmax = start + t0 + nt;
    for (size_t u = 0; u < nt; u++)
        if (visual[start + t0 + u]) kmax = chunk_end;
    size_t kpad = (kmax + 15) / 16 * 16;
    size_t k8 = (kmax + 7) / 8 * 8;
    float *Q = scratch;
    float *O = Q + rows * d;
    float *S = O + rows * d;
    for (size_t u = 0; u < nt; u++)
        for (size_t r = 0; r < group; r++) memcpy(Q + (u * group + r) * d, q + u * q_stride + r * d, d * 4);
    // S = Q · Kᵀ over 16-key blocks (keys beyond the cache are zero in the transposed store)
    for (size_t j0 = 0; j0 < kpad; j0 += 16) matmul_rows(rows, 16, Q, d, kt + j0, kt_stride, d, S + j0, kpad);
    // mask, scale, softmax
    for (size_t u = 0; u < nt; u++) {
        size_t pos = start + t0 + u;
        int vis = visual[pos];
        for (size_t r = 0; r < group; r++) {
            float *s = S + (u * group + r) * kpad;
            for (size_t j = 0; j < kmax; j++) {
                int allowed = j <= pos || (vis && j < chunk_end && visual[j]);
                s[j] = allowed ? s[j] * scale : -INFINITY;
            }
            for (size_t j = kmax; j < k8; j++) s[j] = -INFINITY;
            float inv = softmax_inplace(s, k8);
            for (size_t j = 0; j < kmax; j++) s[j] *= inv;
        }
    }
    // O = P · V, in 16- (then 8-) wide column blocks of the head dimension
    size_t c0 = 0;
    for (; c0 + 16 <= d; c0 += 16) matmul_rows(rows, 16, S, kpad, v + c0, v_stride, kmax, O + c0, d);
    for (; c0 + 8 <= d; c0 += 8) matmul_rows(rows, 8, S, kpad, v + c0, v_stride, kmax, O + c0, d);
    for (size_t u = 0; u < nt; u++)
        for (size_t r = 0; r < group; r++) memcpy(out + u * out_stride + r * d, O + (u * group + r) * d, d * 4);
}

// ---------------------------------------------------------------------------------------------------------------
// Content digest (two 64-bit multiply–rotate lanes over 8-byte words, not cryptographic).

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

void spotter_digest128_update(uint64_t state[2], const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t a = state[0], b = state[1];
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        a = rotl64(a ^ (w * 0x9E3779B97F4A7C15ull), 31) * 0xBF58476D1CE4E5B9ull;
        b = rotl64(b + (w ^ 0xC2B2AE3D27D4EB4Full), 27) * 0x94D049BB133111EBull + a;
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, n - i);
    tail ^= (uint64_t)n << 56;
    a = rotl64(a ^ (tail * 0x9E3779B97F4A7C15ull), 31) * 0xBF58476D1CE4E5B9ull;
    b = rotl64(b + (tail ^ 0xC2B2AE3D27D4EB4Full), 27) * 0x94D049BB133111EBull + a;
    a ^= a >> 33; a *= 0xFF51AFD7ED558CCDull; a ^= a >> 33;
    b ^= b >> 29; b *= 0xC4CEB9FE1A85EC53ull; b ^= b >> 32;
    state[0] = a;
    state[1] = b;
}
