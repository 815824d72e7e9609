// Packed-weight matrix multiply C = A · Wᵀ (fp32 or bf16 weights, fp32 activations and accumulation).
// AVX2+FMA baseline (6×16 register tile); AVX-512 (12×32 tile) chosen at run time.
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "CKernels.h"

#define P SPOTTER_PANEL
#define KC 256
#define AI inline __attribute__((always_inline))
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))

static int force_baseline = 0;
static int detected_isa = -1;

int spotter_gemm_isa(void) {
    if (force_baseline) return 0;
    if (detected_isa < 0) {
        uint32_t f = spotter_cpu_features();
        detected_isa = ((f & SPOTTER_CPU_AVX512F) && (f & SPOTTER_CPU_AVX512BW)) ? 1 : 0;
    }
    return detected_isa;
}

void spotter_gemm_force_baseline(int force) { force_baseline = force; }

// ---------------------------------------------------------------------------------------------------------------
// Conversions and packing

static AI float bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static AI uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static AI float load_as_f32(const void *src, int dt, size_t i) {
    switch (dt) {
    case SPOTTER_BF16: return bf16_to_f32(((const uint16_t *)src)[i]);
    case SPOTTER_F16: return _cvtsh_ss(((const uint16_t *)src)[i]);
    default: return ((const float *)src)[i];
    }
}

void spotter_convert_to_f32(const void *src, int dt, size_t count, float *dst) {
    if (dt == SPOTTER_F32) {
        memcpy(dst, src, count * sizeof(float));
        return;
    }
    for (size_t i = 0; i < count; i++) dst[i] = load_as_f32(src, dt, i);
}

void spotter_convert_to_bf16(const void *src, int dt, size_t count, uint16_t *dst) {
    if (dt == SPOTTER_BF16) {
        memcpy(dst, src, count * sizeof(uint16_t));
        return;
    }
    for (size_t i = 0; i < count; i++) dst[i] = f32_to_bf16(load_as_f32(src, dt, i));
}

#define PACK_KB 64

void spotter_pack_panel_f32(const void *src, int dt, size_t K, size_t n0, size_t rows, float *panel) {
    for (size_t k0 = 0; k0 < K; k0 += PACK_KB) {
        size_t k1 = k0 + PACK_KB < K ? k0 + PACK_KB : K;
        for (size_t j = 0; j < P; j++) {
            if (j < rows) {
                size_t base = (n0 + j) * K;
                for (size_t k = k0; k < k1; k++) panel[k * P + j] = load_as_f32(src, dt, base + k);
            } else {
                for (size_t k = k0; k < k1; k++) panel[k * P + j] = 0.0f;
            }
        }
    }
}

void spotter_pack_panel_bf16(const void *src, int dt, size_t K, size_t n0, size_t rows, uint16_t *panel) {
    for (size_t k0 = 0; k0 < K; k0 += PACK_KB) {
        size_t k1 = k0 + PACK_KB < K ? k0 + PACK_KB : K;
        for (size_t j = 0; j < P; j++) {
            if (j < rows) {
                size_t base = (n0 + j) * K;
                if (dt == SPOTTER_BF16) {
                    const uint16_t *s = (const uint16_t *)src;
                    for (size_t k = k0; k < k1; k++) panel[k * P + j] = s[base + k];
                } else {
                    for (size_t k = k0; k < k1; k++) panel[k * P + j] = f32_to_bf16(load_as_f32(src, dt, base + k));
                }
            } else {
                for (size_t k = k0; k < k1; k++) panel[k * P + j] = 0;
            }
        }
    }
}

// Packs rows [0, mc) × columns [0, kc) of A into blocks of MR rows laid out [k][MR]; missing rows are zero.
static void pack_a(const float *A, size_t lda, size_t mc, size_t kc, size_t MR, float *Ap) {
    for (size_t m0 = 0; m0 < mc; m0 += MR) {
        float *dst = Ap + (m0 / MR) * kc * MR;
        size_t mr = mc - m0 < MR ? mc - m0 : MR;
        for (size_t i = 0; i < MR; i++) {
            if (i < mr) {
                const float *src = A + (m0 + i) * lda;
                for (size_t k = 0; k < kc; k++) dst[k * MR + i] = src[k];
            } else {
                for (size_t k = 0; k < kc; k++) dst[k * MR + i] = 0.0f;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AVX2 micro-kernels: MR ≤ 6 rows × 16 columns (one half of a 32-wide panel; B rows have stride 32).

static AI __m256 load8_bf16(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// MR rows of A against 16 columns of B. Element (i, k) of A is at A[i·rs + k·ks]: rs = lda, ks = 1 for rows of
// A in place; rs = 1, ks = MR for A packed as [k][MR] (MR consecutive row values per k).
#define UK256(NAME, BT, LOADB)                                                                                     \
    static AI void NAME(const int MR, const float *A, size_t rs, size_t ks, const BT *B, size_t kc, float *C,      \
                        size_t ldc, int load_c) {                                                                  \
        __m256 c0[6], c1[6];                                                                                       \
        for (int i = 0; i < MR; i++) {                                                                             \
            c0[i] = load_c ? _mm256_loadu_ps(C + i * ldc) : _mm256_setzero_ps();                                   \
            c1[i] = load_c ? _mm256_loadu_ps(C + i * ldc + 8) : _mm256_setzero_ps();                               \
        }                                                                                                          \
        for (size_t k = 0; k < kc; k++) {                                                                          \
            __m256 b0 = LOADB(B + k * P), b1 = LOADB(B + k * P + 8);                                               \
            for (int i = 0; i < MR; i++) {                                                                         \
                __m256 a = _mm256_broadcast_ss(A + i * rs + k * ks);                                               \
                c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);                                                             \
                c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);                                                             \
            }                                                                                                      \
        }                                                                                                          \
        for (int i = 0; i < MR; i++) {                                                                             \
            _mm256_storeu_ps(C + i * ldc, c0[i]);                                                                  \
            _mm256_storeu_ps(C + i * ldc + 8, c1[i]);                                                              \
        }                                                                                                          \
    }

UK256(uk256_f32, float, _mm256_loadu_ps)
UK256(uk256_bf16, uint16_t, load8_bf16)

#define UKV256(NAME, BT, LOADB)                                                                                    \
    static AI void NAME(const float *A, const BT *B, size_t kc, float *C, int load_c) {                           \
        __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();                                                 \
        __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps();                                                 \
        size_t k = 0;                                                                                              \
        for (; k + 2 <= kc; k += 2) {                                                                              \
            __m256 x0 = _mm256_broadcast_ss(A + k), x1 = _mm256_broadcast_ss(A + k + 1);                            \
            c0 = _mm256_fmadd_ps(x0, LOADB(B + k * P), c0);                                                        \
            c1 = _mm256_fmadd_ps(x0, LOADB(B + k * P + 8), c1);                                                    \
            d0 = _mm256_fmadd_ps(x1, LOADB(B + (k + 1) * P), d0);                                                  \
            d1 = _mm256_fmadd_ps(x1, LOADB(B + (k + 1) * P + 8), d1);                                              \
        }                                                                                                          \
        if (k < kc) {                                                                                              \
            __m256 x0 = _mm256_broadcast_ss(A + k);                                                                \
            c0 = _mm256_fmadd_ps(x0, LOADB(B + k * P), c0);                                                        \
            c1 = _mm256_fmadd_ps(x0, LOADB(B + k * P + 8), c1);                                                    \
        }                                                                                                          \
        c0 = _mm256_add_ps(c0, d0);                                                                                \
        c1 = _mm256_add_ps(c1, d1);                                                                                \
        if (load_c) {                                                                                              \
            c0 = _mm256_add_ps(c0, _mm256_loadu_ps(C));                                                            \
            c1 = _mm256_add_ps(c1, _mm256_loadu_ps(C + 8));                                                        \
        }                                                                                                          \
        _mm256_storeu_ps(C, c0);                                                                                   \
        _mm256_storeu_ps(C + 8, c1);                                                                               \
    }

UKV256(ukv256_f32, float, _mm256_loadu_ps)
UKV256(ukv256_bf16, uint16_t, load8_bf16)

#define DISPATCH6(FN, mr, ...)                                                                                     \
    switch (mr) {                                                                                                  \
    case 1: FN(1, __VA_ARGS__); break;                                                                             \
    case 2: FN(2, __VA_ARGS__); break;                                                                             \
    case 3: FN(3, __VA_ARGS__); break;                                                                             \
    case 4: FN(4, __VA_ARGS__); break;                                                                             \
    case 5: FN(5, __VA_ARGS__); break;                                                                             \
    default: FN(6, __VA_ARGS__); break;                                                                            \
    }

// Runs an mr-row block of A (strides rs, ks as for the micro-kernels) against one 16- or 32-wide column group,
// going through a bounce tile when the group has fewer than `width` valid columns.
#define EDGE_CALL(DISPATCH, FN, mr, width, Ab, rs, ks, B, kc, Cb, ldc, nv, load)                                  \
    do {                                                                                                           \
        if ((nv) == (width)) {                                                                                     \
            DISPATCH(FN, mr, Ab, rs, ks, B, kc, Cb, ldc, load);                                                    \
        } else {                                                                                                   \
            float tile[12 * 32];                                                                                   \
            memset(tile, 0, sizeof(tile));                                                                         \
            if (load)                                                                                              \
                for (size_t i_ = 0; i_ < (mr); i_++) memcpy(tile + i_ * (width), (Cb) + i_ * (ldc), (nv) * 4);     \
            DISPATCH(FN, mr, Ab, rs, ks, B, kc, tile, (width), load);                                              \
            for (size_t i_ = 0; i_ < (mr); i_++) memcpy((Cb) + i_ * (ldc), tile + i_ * (width), (nv) * 4);         \
        }                                                                                                          \
    } while (0)

#define GEMM_DRIVER(NAME, BT, DISPATCH, FN, VFN, MRMAX, WIDTH, MC)                                                \
    static void NAME(const float *A, size_t lda, size_t M, size_t K, const BT *packed, size_t N, size_t p0,       \
                     size_t p1, float *C, size_t ldc, int accumulate) {                                            \
        const size_t halves = P / (WIDTH);                                                                         \
        if (M == 1) {                                                                                              \
            for (size_t p = p0; p < p1; p++)                                                                       \
                for (size_t h = 0; h < halves; h++) {                                                              \
                    size_t n0 = p * P + h * (WIDTH);                                                               \
                    if (n0 >= N) break;                                                                            \
                    size_t nv = N - n0 < (WIDTH) ? N - n0 : (WIDTH);                                               \
                    const BT *B = packed + p * K * P + h * (WIDTH);                                                \
                    if (nv == (WIDTH)) {                                                                           \
                        VFN(A, B, K, C + n0, accumulate);                                                          \
                    } else {                                                                                       \
                        float tile[32] = {0};                                                                      \
                        if (accumulate) memcpy(tile, C + n0, nv * 4);                                              \
                        VFN(A, B, K, tile, accumulate);                                                            \
                        memcpy(C + n0, tile, nv * 4);                                                              \
                    }                                                                                              \
                }                                                                                                  \
            return;                                                                                                \
        }                                                                                                          \
        if (M <= (MRMAX)) {                                                                                        \
            for (size_t p = p0; p < p1; p++)                                                                       \
                for (size_t h = 0; h < halves; h++) {                                                              \
                    size_t n0 = p * P + h * (WIDTH);                                                               \
                    if (n0 >= N) break;                                                                            \
                    size_t nv = N - n0 < (WIDTH) ? N - n0 : (WIDTH);                                               \
                    const BT *B = packed + p * K * P + h * (WIDTH);                                                \
                    EDGE_CALL(DISPATCH, FN, M, WIDTH, A, lda, 1, B, K, C + n0, ldc, nv, accumulate);               \
                }                                                                                                  \
            return;                                                                                                \
        }                                                                                                          \
        float *Ap = (float *)aligned_alloc(64, (MC) * KC * sizeof(float));                                         \
        if (!Ap) return;                                                                                           \
        for (size_t k0 = 0; k0 < K; k0 += KC) {                                                                    \
            size_t kc = K - k0 < KC ? K - k0 : KC;                                                                 \
            int load = accumulate || k0 > 0;                                                                       \
            for (size_t m0 = 0; m0 < M; m0 += (MC)) {                                                              \
                size_t mc = M - m0 < (MC) ? M - m0 : (MC);                                                         \
                size_t mblocks = (mc + (MRMAX) - 1) / (MRMAX);                                                     \
                pack_a(A + m0 * lda + k0, lda, mc, kc, (MRMAX), Ap);                                               \
                for (size_t p = p0; p < p1; p++)                                                                   \
                    for (size_t h = 0; h < halves; h++) {                                                          \
                        size_t n0 = p * P + h * (WIDTH);                                                           \
                        if (n0 >= N) break;                                                                        \
                        size_t nv = N - n0 < (WIDTH) ? N - n0 : (WIDTH);                                           \
                        const BT *B = packed + p * K * P + k0 * P + h * (WIDTH);                                   \
                        for (size_t mb = 0; mb < mblocks; mb++) {                                                  \
                            size_t mr = mc - mb * (MRMAX) < (MRMAX) ? mc - mb * (MRMAX) : (MRMAX);                 \
                            float *Cb = C + (m0 + mb * (MRMAX)) * ldc + n0;                                        \
                            const float *Apb = Ap + mb * kc * (MRMAX);                                             \
                            EDGE_CALL(DISPATCH, FN, mr, WIDTH, Apb, 1, MRMAX, B, kc, Cb, ldc, nv, load);           \
                        }                                                                                          \
                    }                                                                                              \
            }                                                                                                      \
        }                                                                                                          \
        free(Ap);                                                                                                  \
    }

GEMM_DRIVER(gemm256_f32, float, DISPATCH6, uk256_f32, ukv256_f32, 6, 16, 192)
GEMM_DRIVER(gemm256_bf16, uint16_t, DISPATCH6, uk256_bf16, ukv256_bf16, 6, 16, 192)

// ---------------------------------------------------------------------------------------------------------------
// AVX-512 micro-kernels: MR ≤ 12 rows × 32 columns.

static AI T512 __m512 load16_bf16(const uint16_t *p) {
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// MR rows of A (element (i, k) at A[i·rs + k·ks], as for UK256) against 32 columns of B.
#define UK512(NAME, BT, LOADB)                                                                                     \
    static AI T512 void NAME(const int MR, const float *A, size_t rs, size_t ks, const BT *B, size_t kc, float *C, \
                             size_t ldc, int load_c) {                                                             \
        __m512 c0[12], c1[12];                                                                                     \
        for (int i = 0; i < MR; i++) {                                                                             \
            c0[i] = load_c ? _mm512_loadu_ps(C + i * ldc) : _mm512_setzero_ps();                                   \
            c1[i] = load_c ? _mm512_loadu_ps(C + i * ldc + 16) : _mm512_setzero_ps();                              \
        }                                                                                                          \
        for (size_t k = 0; k < kc; k++) {                                                                          \
            __m512 b0 = LOADB(B + k * P), b1 = LOADB(B + k * P + 16);                                              \
            for (int i = 0; i < MR; i++) {                                                                         \
                __m512 a = _mm512_set1_ps(A[i * rs + k * ks]);                                                     \
                c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);                                                             \
                c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);                                                             \
            }                                                                                                      \
        }                                                                                                          \
        for (int i = 0; i < MR; i++) {                                                                             \
            _mm512_storeu_ps(C + i * ldc, c0[i]);                                                                  \
            _mm512_storeu_ps(C + i * ldc + 16, c1[i]);                                                             \
        }                                                                                                          \
    }

UK512(uk512_f32, float, _mm512_loadu_ps)
UK512(uk512_bf16, uint16_t, load16_bf16)

// One row of A against a 32-wide panel with four independent accumulator chains (decode: bandwidth-bound).
#define UKV512(NAME, BT, LOADB)                                                                                    \
    static AI T512 void NAME(const float *A, const BT *B, size_t kc, float *C, int load_c) {                      \
        __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps();                                                 \
        __m512 d0 = _mm512_setzero_ps(), d1 = _mm512_setzero_ps();                                                 \
        size_t k = 0;                                                                                              \
        for (; k + 2 <= kc; k += 2) {                                                                              \
            __m512 x0 = _mm512_set1_ps(A[k]), x1 = _mm512_set1_ps(A[k + 1]);                                       \
            c0 = _mm512_fmadd_ps(x0, LOADB(B + k * P), c0);                                                        \
            c1 = _mm512_fmadd_ps(x0, LOADB(B + k * P + 16), c1);                                                   \
            d0 = _mm512_fmadd_ps(x1, LOADB(B + (k + 1) * P), d0);                                                  \
            d1 = _mm512_fmadd_ps(x1, LOADB(B + (k + 1) * P + 16), d1);                                             \
        }                                                                                                          \
        if (k < kc) {                                                                                              \
            __m512 x0 = _mm512_set1_ps(A[k]);                                                                      \
            c0 = _mm512_fmadd_ps(x0, LOADB(B + k * P), c0);                                                        \
            c1 = _mm512_fmadd_ps(x0, LOADB(B + k * P + 16), c1);                                                   \
        }                                                                                                          \
        c0 = _mm512_add_ps(c0, d0);                                                                                \
        c1 = _mm512_add_ps(c1, d1);                                                                                \
        if (load_c) {                                                                                              \
            c0 = _mm512_add_ps(c0, _mm512_loadu_ps(C));                                                            \
            c1 = _mm512_add_ps(c1, _mm512_loadu_ps(C + 16));                                                       \
        }                                                                                                          \
        _mm512_storeu_ps(C, c0);                                                                                   \
        _mm512_storeu_ps(C + 16, c1);                                                                              \
    }

UKV512(ukv512_f32, float, _mm512_loadu_ps)
UKV512(ukv512_bf16, uint16_t, load16_bf16)

#define DISPATCH12(FN, mr, ...)                                                                                    \
    switch (mr) {                                                                                                  \
    case 1: FN(1, __VA_ARGS__); break;                                                                             \
    case 2: FN(2, __VA_ARGS__); break;                                                                             \
    case 3: FN(3, __VA_ARGS__); break;                                                                             \
    case 4: FN(4, __VA_ARGS__); break;                                                                             \
    case 5: FN(5, __VA_ARGS__); break;                                                                             \
    case 6: FN(6, __VA_ARGS__); break;                                                                             \
    case 7: FN(7, __VA_ARGS__); break;                                                                             \
    case 8: FN(8, __VA_ARGS__); break;                                                                             \
    case 9: FN(9, __VA_ARGS__); break;                                                                             \
    case 10: FN(10, __VA_ARGS__); break;                                                                           \
    case 11: FN(11, __VA_ARGS__); break;                                                                           \
    default: FN(12, __VA_ARGS__); break;                                                                           \
    }

T512 GEMM_DRIVER(gemm512_f32, float, DISPATCH12, uk512_f32, ukv512_f32, 12, 32, 192)
T512 GEMM_DRIVER(gemm512_bf16, uint16_t, DISPATCH12, uk512_bf16, ukv512_bf16, 12, 32, 192)

// ---------------------------------------------------------------------------------------------------------------

void spotter_gemm_f32(const float *A, size_t lda, size_t M, size_t K, const float *packed, size_t N, size_t p0,
                      size_t p1, float *C, size_t ldc, int accumulate) {
    if (M == 0 || p0 >= p1) return;
    if (spotter_gemm_isa() == 1)
        gemm512_f32(A, lda, M, K, packed, N, p0, p1, C, ldc, accumulate);
    else
        gemm256_f32(A, lda, M, K, packed, N, p0, p1, C, ldc, accumulate);
}

void spotter_gemm_bf16(const float *A, size_t lda, size_t M, size_t K, const uint16_t *packed, size_t N, size_t p0,
                       size_t p1, float *C, size_t ldc, int accumulate) {
    if (M == 0 || p0 >= p1) return;
    if (spotter_gemm_isa() == 1)
        gemm512_bf16(A, lda, M, K, packed, N, p0, p1, C, ldc, accumulate);
    else
        gemm256_bf16(A, lda, M, K, packed, N, p0, p1, C, ldc, accumulate);
}

// ---------------------------------------------------------------------------------------------------------------
// bf16 dot products (AVX512_BF16 `vdpbf16ps`): activations are rounded to bf16 (nearest even) and multiplied with
// the bf16 weights in pairs of k, accumulating in fp32. Opt-in: results differ from the fp32-product kernels by
// the activation rounding (like PyTorch's bf16 matmul, but with an fp32 output).

#define T512BF __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")))
#define MRD 12
#define MCD 192

// A rows [0, mc) × k [0, kc) as bf16 pairs (k even in the low half), blocks of MRD rows laid out [k/2][MRD].
static void pack_a_pairs(const float *A, size_t lda, size_t mc, size_t kc, uint32_t *Ap) {
    size_t kp = (kc + 1) / 2;
    for (size_t m0 = 0; m0 < mc; m0 += MRD) {
        uint32_t *dst = Ap + (m0 / MRD) * kp * MRD;
        for (size_t i = 0; i < MRD; i++) {
            if (m0 + i < mc) {
                const float *src = A + (m0 + i) * lda;
                for (size_t p = 0; p < kp; p++) {
                    uint32_t lo = f32_to_bf16(src[2 * p]);
                    uint32_t hi = 2 * p + 1 < kc ? f32_to_bf16(src[2 * p + 1]) : 0;
                    dst[p * MRD + i] = lo | (hi << 16);
                }
            } else {
                for (size_t p = 0; p < kp; p++) dst[p * MRD + i] = 0;
            }
        }
    }
}

static AI T512BF void ukd512(const uint32_t *Ap, const uint16_t *B, size_t kc, float *C, size_t ldc, int load_c,
                             size_t rows) {
    __m512 lo[MRD], hi[MRD];
    for (int i = 0; i < MRD; i++) lo[i] = hi[i] = _mm512_setzero_ps();
    size_t pairs = kc / 2;
    for (size_t p = 0; p < pairs; p++) {
        __m512i r0 = _mm512_loadu_si512((const void *)(B + 2 * p * P));
        __m512i r1 = _mm512_loadu_si512((const void *)(B + (2 * p + 1) * P));
        __m512bh blo = (__m512bh)_mm512_unpacklo_epi16(r0, r1);
        __m512bh bhi = (__m512bh)_mm512_unpackhi_epi16(r0, r1);
        for (int i = 0; i < MRD; i++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[p * MRD + i]);
            lo[i] = _mm512_dpbf16_ps(lo[i], a, blo);
            hi[i] = _mm512_dpbf16_ps(hi[i], a, bhi);
        }
    }
    if (kc & 1) {
        __m512i r0 = _mm512_loadu_si512((const void *)(B + 2 * pairs * P));
        __m512i r1 = _mm512_setzero_si512();
        __m512bh blo = (__m512bh)_mm512_unpacklo_epi16(r0, r1);
        __m512bh bhi = (__m512bh)_mm512_unpackhi_epi16(r0, r1);
        for (int i = 0; i < MRD; i++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[pairs * MRD + i]);
            lo[i] = _mm512_dpbf16_ps(lo[i], a, blo);
            hi[i] = _mm512_dpbf16_ps(hi[i], a, bhi);
        }
    }
    // lo lane l holds column 8·(l/4) + l%4, hi lane l column 8·(l/4) + 4 + l%4.
    const __m512i idx0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i idx1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int i = 0; i < MRD; i++) {
        if ((size_t)i >= rows) break;
        __m512 c0 = _mm512_permutex2var_ps(lo[i], idx0, hi[i]);
        __m512 c1 = _mm512_permutex2var_ps(lo[i], idx1, hi[i]);
        if (load_c) {
            c0 = _mm512_add_ps(c0, _mm512_loadu_ps(C + i * ldc));
            c1 = _mm512_add_ps(c1, _mm512_loadu_ps(C + i * ldc + 16));
        }
        _mm512_storeu_ps(C + i * ldc, c0);
        _mm512_storeu_ps(C + i * ldc + 16, c1);
    }
}

T512BF static void gemm512_bf16dot(const float *A, size_t lda, size_t M, size_t K, const uint16_t *packed, size_t N,
                                   size_t p0, size_t p1, float *C, size_t ldc, int accumulate) {
    uint32_t *Ap = (uint32_t *)aligned_alloc(64, MCD * (KC / 2) * sizeof(uint32_t));
    if (!Ap) return;
    for (size_t k0 = 0; k0 < K; k0 += KC) {
        size_t kc = K - k0 < KC ? K - k0 : KC;
        int load = accumulate || k0 > 0;
        for (size_t m0 = 0; m0 < M; m0 += MCD) {
            size_t mc = M - m0 < MCD ? M - m0 : MCD;
            size_t mblocks = (mc + MRD - 1) / MRD;
            pack_a_pairs(A + m0 * lda + k0, lda, mc, kc, Ap);
            size_t kp = (kc + 1) / 2;
            for (size_t p = p0; p < p1; p++) {
                size_t n0 = p * P;
                size_t nv = N - n0 < P ? N - n0 : P;
                const uint16_t *B = packed + p * K * P + k0 * P;
                for (size_t mb = 0; mb < mblocks; mb++) {
                    size_t mr = mc - mb * MRD < MRD ? mc - mb * MRD : MRD;
                    float *Cb = C + (m0 + mb * MRD) * ldc + n0;
                    if (nv == P) {
                        ukd512(Ap + mb * kp * MRD, B, kc, Cb, ldc, load, mr);
                    } else {
                        float tile[MRD * P];
                        memset(tile, 0, sizeof(tile));
                        if (load)
                            for (size_t i = 0; i < mr; i++) memcpy(tile + i * P, Cb + i * ldc, nv * 4);
                        ukd512(Ap + mb * kp * MRD, B, kc, tile, P, load, mr);
                        for (size_t i = 0; i < mr; i++) memcpy(Cb + i * ldc, tile + i * P, nv * 4);
                    }
                }
            }
        }
    }
    free(Ap);
}

int spotter_bf16dot_available(void) {
    uint32_t f = spotter_cpu_features();
    return (f & SPOTTER_CPU_AVX512BF16) && (f & SPOTTER_CPU_AVX512F) && (f & SPOTTER_CPU_AVX512BW) && !force_baseline;
}

void spotter_gemm_bf16dot(const float *A, size_t lda, size_t M, size_t K, const uint16_t *packed, size_t N,
                          size_t p0, size_t p1, float *C, size_t ldc, int accumulate) {
    if (M == 0 || p0 >= p1) return;
    if (spotter_bf16dot_available())
        gemm512_bf16dot(A, lda, M, K, packed, N, p0, p1, C, ldc, accumulate);
    else
        spotter_gemm_bf16(A, lda, M, K, packed, N, p0, p1, C, ldc, accumulate);
}
